/* The participant's session page: one explicit state machine. Every state says, in his
   words, what is happening and what he can do next, with his team's phone always on
   the page; every wait has a limit, and when one runs out his page says what to do and
   tells the therapist (a "trouble" report, kept as evidence that the system failed). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("room-config").textContent);
  var words = JSON.parse(document.getElementById("room-words").textContent);
  var timeouts = config.timeouts;

  /* state → which buttons it offers; "call": the video and its controls are shown */
  var STATES = {
    connecting: { actions: [] },
    no_connection: { actions: ["call-me"] },
    refused: { actions: ["retry", "call-me"] },
    waiting: { actions: [] },
    long_wait: { actions: ["call-me"] },
    admitted: { actions: [], call: true },
    media_denied: { actions: ["retry", "listen-only", "call-me"], call: true },
    connecting_video: { actions: [], call: true },
    connected: { actions: [], call: true },
    audio_only: { actions: [], call: true },
    video_failed: { actions: ["retry", "call-me"], call: true },
    reconnecting: { actions: [], call: true },
    therapist_left: { actions: [] },
    phone: { actions: [] },
    call_requested: { actions: [] },
    left: { actions: ["rejoin"] },
    elsewhere: { actions: ["take-over"] },
    ended: { actions: [] }
  };
  var ACTIONS = ["retry", "listen-only", "call-me", "rejoin", "take-over"];
  /* where the session is over and nothing may pull the page back */
  var FINAL = { ended: true, elsewhere: true, left: true, phone: true };

  var statusEl = document.getElementById("status");
  var nextEl = document.getElementById("next");
  var videos = document.getElementById("videos");
  var controls = document.getElementById("controls");
  var connectionEl = document.getElementById("connection");
  var confirmBox = document.getElementById("leave-confirm");
  var state = null;
  var timers = {};
  var inCall = false;      // admitted and entered: the video is ours to run
  var admitted = false;    // let in (the therapist may step out and back)
  var endedOutcome = null; // the session was settled while the call still ran
  window.telejtStates = [];

  // relative to this page's own clock, never the phone's date (often wrong on a cheap phone)
  var admissionAt = performance.now() + config.admissionIn * 1000;
  var endsAt = performance.now() + config.endsIn * 1000;
  var room = window.TelejtRoom.create(config);
  var socket = room.socket;

  function go(next, wordsKey) {
    var shown = words[wordsKey || next];
    state = next;
    window.telejtStates.push(next);
    statusEl.textContent = shown.say;
    statusEl.setAttribute("data-state", next);
    nextEl.textContent = shown.next;
    var spec = STATES[next];
    ACTIONS.forEach(function (id) {
      document.getElementById(id).hidden = spec.actions.indexOf(id) < 0;
    });
    videos.hidden = !spec.call;
    controls.hidden = !spec.call;
    if (!spec.call) { confirmBox.hidden = true; }
  }

  function startTimer(name, seconds, onExpiry) {
    stopTimer(name);
    timers[name] = setTimeout(function () { delete timers[name]; onExpiry(); }, seconds * 1000);
  }
  function stopTimer(name) {
    if (timers[name]) { clearTimeout(timers[name]); delete timers[name]; }
  }

  /* Tell the therapist what failed: through the room when it is open, else by HTTP. */
  function report(what) {
    if (socket.connected) {
      socket.emit("trouble", { what: what });
      return;
    }
    try {
      fetch(window.location.pathname.replace(/\/$/, "") + "/trouble", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ what: what }),
        keepalive: true,
        credentials: "omit"
      }).catch(function () { /* no network at all: his page still says what to do */ });
    } catch (e) { /* very old browser */ }
  }

  function hangUp() {
    inCall = false;
    stopTimer("ice");
    room.closePeer();
    room.stopMedia();
    connectionEl.setAttribute("data-state", "closed");
  }

  function finish(outcome) {
    hangUp();
    stopTimer("admission");
    stopTimer("reconnect");
    go("ended", outcome === "attended" || outcome === "late" ? "ended_attended" : "ended");
    socket.disconnect();
  }

  /* ---- the room's connection ---- */
  go("connecting");
  startTimer("handshake", timeouts.handshake, function () {
    if (!socket.connected) { go("no_connection"); report("no_connection"); }
  });
  startTimer("end", Math.max(config.endsIn, 0.1), function () {
    if (!inCall || !room.pc || room.pc.connectionState !== "connected") { finish(null); }
  });

  socket.on("connect", function () { stopTimer("handshake"); stopTimer("reconnect"); });

  socket.on("connect_error", function (err) {
    if (socket.active) { return; } // a network error: the client keeps trying by itself
    var reason = err && err.message;
    if (reason === "ended" || reason === "closed") { finish(null); return; }
    if (reason === "cancelled" || reason === "phone" || reason === "too_early") {
      window.location.reload(); // the page for that case says what to do
      return;
    }
    stopTimer("handshake");
    go("refused");
    report("refused");
  });

  socket.on("disconnect", function (reason) {
    if (reason === "io client disconnect" || FINAL[state]) { return; }
    if (reason === "io server disconnect") { go("refused"); return; }
    // a drop: the client reconnects by itself; back in time, he goes straight back in
    if (!(inCall && room.pc && room.pc.connectionState === "connected")) { go("reconnecting"); }
    startTimer("reconnect", timeouts.reconnect, function () {
      if (!socket.connected) { hangUp(); go("no_connection"); report("no_connection"); }
    });
  });

  socket.on("state", function (data) {
    if (data.state === "ended") {
      if (inCall && room.pc && room.pc.connectionState === "connected") {
        endedOutcome = data.outcome || "";
      } else { finish(data.outcome); }
      return;
    }
    if (data.state === "elsewhere") {
      hangUp();
      go("elsewhere");
      socket.disconnect();
      return;
    }
    if (data.state === "phone") { hangUp(); go("phone"); return; }
    if (data.state === "waiting") {
      if (inCall) { hangUp(); }
      admitted = false;
      go("waiting");
      startTimer("admission", Math.max((admissionAt - performance.now()) / 1000, 0.1), function () {
        if (state === "waiting") { go("long_wait"); report("long_wait"); }
      });
      return;
    }
    if (data.state === "admitted") { enter(data.resumed); }
  });

  socket.on("therapist", function (data) {
    if (FINAL[state]) { return; }
    if (data.state === "joined") {
      // back at his console: the call starts again, no new admission
      if (admitted && state === "therapist_left") { enter(false); }
      return;
    }
    if (data.state !== "left") { return; }
    hangUp();
    if (endedOutcome !== null || performance.now() >= endsAt) { finish(endedOutcome); return; }
    go("therapist_left");
  });

  /* ---- admitted: camera, then video ---- */
  function enter(resumed) {
    stopTimer("admission");
    socket.emit("enter", {}, function (answer) {
      if (!answer || !answer.ok) { return; }
      admitted = true;
      inCall = true;
      if (resumed && room.pc && room.pc.connectionState === "connected") {
        go(room.audioOnly ? "audio_only" : "connected"); // only the signaling dropped
        return;
      }
      go("admitted");
      startMedia();
    });
  }

  function startMedia() {
    startTimer("media", timeouts.media, function () {
      go("media_denied"); report("media_denied"); // the prompt went unanswered
    });
    room.getMedia().then(function (got) {
      stopTimer("media");
      if (!inCall) { room.stopMedia(); return; }
      if (got.audioOnly) { report("audio_only"); }
      startVideo(got.stream);
    }, function () {
      stopTimer("media");
      if (!inCall) { return; }
      go("media_denied");
      report("media_denied");
    });
  }

  function startVideo(stream) {
    room.newPeer(stream);
    go("connecting_video");
    startTimer("ice", timeouts.ice, function () {
      go("video_failed");
      report("video_failed");
      socket.emit("connection_state", { state: "timeout" });
    });
    socket.emit("ready", {});
  }

  room.onconnection = function (connection) {
    connectionEl.setAttribute("data-state", connection);
    if (connection === "connected") {
      stopTimer("ice");
      go(room.audioOnly ? "audio_only" : "connected");
    } else if (connection === "disconnected" && inCall) {
      go("reconnecting"); // ICE often recovers by itself within seconds
    } else if (connection === "failed" && inCall) {
      stopTimer("ice");
      go("video_failed");
      report("video_failed");
    }
  };

  /* ---- his buttons ---- */
  document.getElementById("retry").addEventListener("click", function () {
    if (state === "refused") { go("connecting"); socket.connect(); }
    else if (state === "media_denied") { startMedia(); }
    else if (state === "video_failed") { startVideo(room.stream); }
  });
  document.getElementById("listen-only").addEventListener("click", function () {
    stopTimer("media");
    startVideo(null);
  });
  document.getElementById("call-me").addEventListener("click", function () {
    report("call_me");
    go("call_requested");
  });
  document.getElementById("rejoin").addEventListener("click", function () {
    go("connecting");
    socket.connect();
  });
  document.getElementById("take-over").addEventListener("click", function () {
    go("connecting");
    socket.connect();
  });

  function toggle(button, on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
  }
  var muteButton = document.getElementById("mute");
  var cameraButton = document.getElementById("camera");
  var audioOnlyButton = document.getElementById("audio-only");
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
  audioOnlyButton.addEventListener("click", function () {
    var on = audioOnlyButton.getAttribute("aria-pressed") !== "true";
    room.setAudioOnly(on);
    toggle(audioOnlyButton, on);
    toggle(cameraButton, on);
    if (on) { report("audio_only"); }
    if (room.pc && room.pc.connectionState === "connected") { go(on ? "audio_only" : "connected"); }
  });
  document.getElementById("leave").addEventListener("click", function () {
    confirmBox.hidden = false;
    document.getElementById("leave-no").focus();
  });
  document.getElementById("leave-no").addEventListener("click", function () {
    confirmBox.hidden = true;
    document.getElementById("leave").focus();
  });
  document.getElementById("leave-yes").addEventListener("click", function () {
    hangUp();
    go("left");
    socket.disconnect();
    document.getElementById("rejoin").focus();
  });
})();
