/* telejt session room: waiting room and one-to-one WebRTC video over Socket.IO /room.
   The therapist's console makes the offer once the admitted participant is ready. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("room-config").textContent);
  var words = JSON.parse(document.getElementById("room-words").textContent);
  var therapist = config.role === "therapist";
  var statusEl = document.getElementById("status");
  var connectionEl = document.getElementById("connection");
  var videos = document.getElementById("videos");
  var admitButton = document.getElementById("admit");
  var phoneButton = document.getElementById("phone-switch");
  var leaveButton = document.getElementById("leave");
  var pc = null;
  var localStream = null;
  var leaving = false;

  function show(key) {
    statusEl.textContent = words[key] || key;
    statusEl.setAttribute("data-state", key);
  }

  function showConnection(state) {
    connectionEl.textContent = state;
    connectionEl.setAttribute("data-state", state);
  }

  var socket = io("/room", {
    auth: therapist ? { contact_id: config.contactId } : { token: config.token },
    transports: ["websocket", "polling"],
    reconnection: true
  });

  function getMedia() {
    if (localStream) { return Promise.resolve(localStream); }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.resolve(null);
    }
    return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } })
      .then(function (stream) {
        localStream = stream;
        document.getElementById("local").srcObject = stream;
        return stream;
      })
      .catch(function () { show("no_camera"); return null; });
  }

  function closePeer() {
    if (pc) { pc.onconnectionstatechange = null; pc.close(); pc = null; }
  }

  function newPeer(stream) {
    closePeer();
    pc = new RTCPeerConnection({ iceServers: config.iceServers || [] });
    window.telejtPeer = pc;
    if (stream) {
      stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.onicecandidate = function (event) {
      if (event.candidate) {
        socket.emit("signal", { type: "candidate", candidate: event.candidate.toJSON() });
      }
    };
    pc.ontrack = function (event) {
      document.getElementById("remote").srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = function () {
      var state = pc.connectionState;
      showConnection(state);
      socket.emit("connection_state", { state: state });
      if (state === "connected") { show("connected"); }
      if (state === "failed" || state === "disconnected") { show("failed"); }
    };
    showConnection("new");
    videos.hidden = false;
    return pc;
  }

  socket.on("connect_error", function () { if (!socket.active) { show("refused"); } });
  socket.on("disconnect", function () { if (!leaving) { show("connecting"); } });

  if (therapist) {
    var presenceEl = document.getElementById("presence");
    socket.on("participant", function (data) {
      admitButton.disabled = data.state !== "waiting";
      presenceEl.textContent = words[data.state === "left" ? "participant_left" : data.state];
      presenceEl.setAttribute("data-state", data.state);
      if (data.state === "left") { closePeer(); showConnection("closed"); show("participant_left"); }
      else { show(data.state); }
    });
    socket.on("ready", function () {
      getMedia().then(function (stream) {
        var peer = newPeer(stream);
        return peer.createOffer().then(function (offer) {
          return peer.setLocalDescription(offer);
        }).then(function () {
          socket.emit("signal", { type: "offer", sdp: peer.localDescription.sdp });
        });
      });
    });
    socket.on("peer_connection", function (data) {
      if (data.state === "failed" || data.state === "disconnected") { show("peer_failed"); }
    });
    admitButton.addEventListener("click", function () {
      admitButton.disabled = true;
      socket.emit("admit", {}, function (answer) {
        if (answer && answer.ok) {
          show("admitted");
          presenceEl.textContent = words.admitted;
          presenceEl.setAttribute("data-state", "admitted");
        } else { admitButton.disabled = false; }
      });
    });
    phoneButton.addEventListener("click", function () {
      var reason = pc ? pc.connectionState : "no_video";
      socket.emit("phone_switch", { reason: reason }, function (answer) {
        if (answer && answer.ok) {
          show("phone");
          closePeer();
          document.getElementById("modality").textContent = phoneButton.textContent;
        }
      });
    });
  } else {
    socket.on("state", function (data) {
      if (data.state === "admitted") {
        socket.emit("enter", {}, function (answer) {
          if (!answer || !answer.ok) { return; }
          show("admitted");
          getMedia().then(function (stream) {
            newPeer(stream);
            socket.emit("ready", {});
          });
        });
      } else if (data.state === "phone") {
        closePeer();
        show("phone");
      } else {
        show(data.state);
      }
      leaveButton.hidden = false;
    });
    socket.on("therapist", function (data) {
      if (data.state === "left") { closePeer(); showConnection("closed"); show("therapist_left"); }
    });
  }

  socket.on("signal", function (data) {
    if (data.type === "offer") {
      if (!pc) { newPeer(localStream); }
      var peer = pc;
      peer.setRemoteDescription({ type: "offer", sdp: data.sdp })
        .then(function () { return peer.createAnswer(); })
        .then(function (answer) { return peer.setLocalDescription(answer); })
        .then(function () { socket.emit("signal", { type: "answer", sdp: peer.localDescription.sdp }); });
    } else if (data.type === "answer" && pc) {
      pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
    } else if (data.type === "candidate" && pc && data.candidate) {
      pc.addIceCandidate(data.candidate).catch(function () { /* a late candidate of an old call */ });
    }
  });

  leaveButton.addEventListener("click", function () {
    leaving = true;
    closePeer();
    if (localStream) { localStream.getTracks().forEach(function (t) { t.stop(); }); }
    socket.disconnect();
    showConnection("closed");
    show("left");
  });
})();
