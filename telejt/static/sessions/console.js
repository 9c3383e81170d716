/* The therapist's session console: the video room (when he runs it) and saving forms
   without reloading, so that recording the identity check or the outcome never drops
   the video, and a refused save keeps what was typed. */
(function () {
  "use strict";
  var wordsEl = document.getElementById("room-words");
  var words = wordsEl ? JSON.parse(wordsEl.textContent) : {};

  /* ---- forms: saved in the background ---- */
  Array.prototype.forEach.call(document.querySelectorAll("form.js-save"), function (form) {
    var answer = form.querySelector(".form-answer");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) { return; } // the plain form still works
      event.preventDefault();
      button.disabled = true;
      answer.className = "form-answer";
      answer.textContent = words.saving || "…";
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (response) {
        return response.json();
      }).then(function (data) {
        answer.textContent = data.message;
        answer.className = "form-answer " + (data.ok ? "flash flash-info" : "flash flash-error");
        if (!data.ok) { return; } // nothing typed is lost: the form is untouched
        if (data.check) { addCheck(data.check); form.reset(); }
        if (data.marked) { showMarked(data); }
      }).catch(function () {
        answer.textContent = words.save_failed || "!";
        answer.className = "form-answer flash flash-error";
      }).then(function () { button.disabled = false; });
    });
  });

  function addCheck(check) {
    var p = document.createElement("p");
    p.className = "flash";
    p.appendChild(document.createTextNode(check.when));
    p.appendChild(document.createElement("br"));
    p.appendChild(document.createTextNode(check.text));
    document.getElementById("checks").appendChild(p);
  }

  function showMarked(data) {
    var marked = document.getElementById("marked");
    marked.querySelector("span").textContent = data.marked;
    marked.hidden = false;
    var status = document.getElementById("contact-status");
    if (status && data.status) { status.textContent = data.status; }
  }

  /* ---- the video room ---- */
  var configEl = document.getElementById("room-config");
  if (!configEl || typeof io === "undefined" || !window.TelejtRoom) { return; }
  var config = JSON.parse(configEl.textContent);
  var room = window.TelejtRoom.create(config);
  var socket = room.socket;
  var statusEl = document.getElementById("status");
  var connectionEl = document.getElementById("connection");
  var presenceEl = document.getElementById("presence");
  var admitButton = document.getElementById("admit");
  var phoneButton = document.getElementById("phone-switch");
  var leaveButton = document.getElementById("leave");
  var rejoinButton = document.getElementById("rejoin");
  var troubleList = document.getElementById("trouble");
  var leaving = false;

  function show(key) {
    statusEl.textContent = words[key] || key;
    statusEl.setAttribute("data-state", key);
  }
  function showConnection(state) {
    connectionEl.textContent = state;
    connectionEl.setAttribute("data-state", state);
  }
  function notice(text, kind) {
    var item = document.createElement("li");
    item.setAttribute("data-trouble", kind);
    item.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + " · " + text;
    troubleList.insertBefore(item, troubleList.firstChild);
  }

  socket.on("connect_error", function () { if (!socket.active) { show("refused"); } });
  socket.on("disconnect", function () { if (!leaving) { show("connecting"); } });

  socket.on("participant", function (data) {
    admitButton.disabled = data.state !== "waiting";
    presenceEl.textContent = words.presence[data.state] || data.state;
    presenceEl.setAttribute("data-state", data.state);
    // a drop is not the end: keep the call a moment, he may come straight back
    if (data.state === "admitted" && room.pc && room.pc.connectionState === "connected") {
      show("connected"); // only his room connection dropped: the video never stopped
    } else {
      show(data.state === "left" ? "participant_left" : data.state);
    }
  });

  socket.on("ready", function () {
    room.getMedia().catch(function () {
      show("no_camera");
      return { stream: null };
    }).then(function (got) {
      room.newPeer(got.stream);
      showConnection("new");
      return room.makeOffer();
    });
  });

  room.onconnection = function (state) {
    showConnection(state);
    if (state === "connected") { show("connected"); }
    if (state === "failed") { show("failed"); }
  };
  room.onremotemedia = function (data) {
    notice(words[data.audioOnly ? "peer_audio_only" : "peer_video_back"], "media");
  };

  socket.on("peer_connection", function (data) {
    if (data.state === "failed" || data.state === "disconnected" || data.state === "timeout") {
      show("peer_failed");
    }
  });

  socket.on("trouble", function (data) {
    var text = (words.trouble || {})[data.what];
    if (text) { notice(text, data.what); }
  });

  admitButton.addEventListener("click", function () {
    admitButton.disabled = true;
    socket.emit("admit", {}, function (answer) {
      if (answer && answer.ok) {
        show("admitted");
        presenceEl.textContent = words.presence.admitted;
        presenceEl.setAttribute("data-state", "admitted");
      } else { admitButton.disabled = false; }
    });
  });

  phoneButton.addEventListener("click", function () {
    var reason = room.pc ? room.pc.connectionState : "no_video";
    socket.emit("phone_switch", { reason: reason }, function (answer) {
      if (!answer || !answer.ok) { return; }
      // the call goes on by phone: both cameras go off (his page hangs up too)
      room.closePeer();
      room.stopMedia();
      showConnection("closed");
      show("phone");
      document.getElementById("modality").textContent = words.phone_label;
    });
  });

  function toggle(button, on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
  }
  var muteButton = document.getElementById("mute");
  var cameraButton = document.getElementById("camera");
  muteButton.addEventListener("click", function () {
    var on = muteButton.getAttribute("aria-pressed") !== "true";
    room.setMuted(on);
    toggle(muteButton, on);
  });
  cameraButton.addEventListener("click", function () {
    var on = cameraButton.getAttribute("aria-pressed") !== "true";
    room.setCameraOff(on);
    toggle(cameraButton, on);
  });

  leaveButton.addEventListener("click", function () {
    leaving = true;
    room.closePeer();
    room.stopMedia();
    socket.disconnect();
    showConnection("closed");
    show("left");
    leaveButton.hidden = true;
    rejoinButton.hidden = false;
    rejoinButton.focus();
  });
  rejoinButton.addEventListener("click", function () {
    leaving = false;
    rejoinButton.hidden = true;
    leaveButton.hidden = false;
    show("connecting");
    socket.connect();
  });
})();
