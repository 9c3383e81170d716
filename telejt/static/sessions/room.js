/* telejt session room, shared by the participant's page and the therapist's console:
   the /room socket, one WebRTC peer connection, low-data caps, camera and microphone.
   Each page drives it with its own state machine (waiting.js, console.js). */
(function () {
  "use strict";

  /* Low data by default: a prepaid phone pays for every byte, both ways. A talking head
     at 320x240 and 10 frames per second in 32 kbit/s, voice at 16 kbit/s (Opus stays clear
     for speech) in 60 ms packets: under 70 kbit/s each way with every header, so a
     50-minute session stays under 60 MB both ways (measured in
     tests/test_sessions_waiting_browser.py; figures in docs/benchmarks.md). */
  var CAPS = {
    video: { maxBitrate: 32000, maxFramerate: 10, scaleResolutionDownBy: 1 },
    audio: { maxBitrate: 16000 }
  };
  var CAPTURE_VIDEO = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 10, max: 12 } };
  var CAPTURE_AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

  /* Ask the other side for voice in 60 ms packets instead of 20: a third of the packets,
     hence of the 60-odd bytes of headers each one carries (about 20 kbit/s saved each way,
     more than the voice itself at 16 kbit/s). Only the text sent to the other side changes. */
  function lowDataSdp(sdp) {
    var opus = /a=rtpmap:(\d+) opus\/48000/i.exec(sdp);
    if (!opus) { return sdp; }
    var lines = sdp.split("\r\n");
    var inAudio = false;
    var out = [];
    lines.forEach(function (line) {
      if (line.indexOf("m=") === 0) {
        if (inAudio) { out.push("a=ptime:60"); }
        inAudio = line.indexOf("m=audio") === 0;
      }
      if (inAudio && /^a=(max)?ptime:/.test(line)) { return; }
      if (line.indexOf("a=fmtp:" + opus[1] + " ") === 0 && line.indexOf("maxaveragebitrate") < 0) {
        line += ";maxaveragebitrate=" + CAPS.audio.maxBitrate;
      }
      out.push(line);
    });
    if (inAudio) { out.splice(out.length - (out[out.length - 1] === "" ? 1 : 0), 0, "a=ptime:60"); }
    return out.join("\r\n");
  }

  function create(config) {
    var room = {
      config: config,
      pc: null,
      stream: null,
      audioOnly: false,
      peerAudioOnly: false,
      onconnection: function () {},
      onremotemedia: function () {}
    };

    /* WebSocket first: in the room after one round trip (2 s on Slow 3G) where
       long-polling first takes three (docs/benchmarks.md). Where a network blocks
       WebSockets that first try fails and the room opens over long-polling, as it
       always could: at once on an error (tryAllTransports), when the socket closes
       before the handshake, or after `timeouts.websocket` seconds of silence; from then
       on this page connects long-polling first (then upgrades where it can). */
    room.socket = io("/room", {
      auth: config.role === "therapist" ? { contact_id: config.contactId } : { token: config.token },
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: ((config.timeouts && config.timeouts.handshake) || 20) * 1000
    });
    var manager = room.socket.io;
    var firstEngine = manager.engine;
    var pollingFirst = false;
    function connectPollingFirst() {
      manager.opts.transports = ["polling", "websocket"];
      if (pollingFirst || room.socket.connected) { return; }
      pollingFirst = true;
      clearTimeout(firstTry);
      room.socket.disconnect().connect(); // a new attempt, with the transports just set
    }
    function firstEngineClosed() {
      // the Manager does not hear a close before the handshake: it would wait its timeout
      if (!room.socket.connected) { setTimeout(connectPollingFirst, 0); }
    }
    var firstTry = setTimeout(function () {
      var transport = manager.engine && manager.engine.transport;
      if (!transport || transport.name === "websocket") { connectPollingFirst(); }
    }, ((config.timeouts && config.timeouts.websocket) || 8) * 1000);
    if (firstEngine) { firstEngine.on("close", firstEngineClosed); }
    manager.on("error", function () {
      // an attempt failed: the Manager tries again by itself, long-polling first now
      manager.opts.transports = ["polling", "websocket"];
      pollingFirst = true;
      clearTimeout(firstTry);
    });
    room.socket.on("connect", function () {
      clearTimeout(firstTry);
      if (firstEngine) { firstEngine.off("close", firstEngineClosed); firstEngine = null; }
    });

    /* Camera and microphone; without a camera, the microphone alone (degraded to audio).
       Resolves {stream, audioOnly} or rejects with the browser's error. */
    room.getMedia = function () {
      if (room.stream) { return Promise.resolve({ stream: room.stream, audioOnly: room.audioOnly }); }
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        return Promise.reject(new Error("no getUserMedia"));
      }
      return navigator.mediaDevices.getUserMedia({ audio: CAPTURE_AUDIO, video: CAPTURE_VIDEO })
        .then(function (stream) { return { stream: stream, audioOnly: false }; })
        .catch(function () {
          return navigator.mediaDevices.getUserMedia({ audio: CAPTURE_AUDIO })
            .then(function (stream) { return { stream: stream, audioOnly: true }; });
        })
        .then(function (got) {
          room.stream = got.stream;
          room.audioOnly = got.audioOnly;
          document.getElementById("local").srcObject = got.stream;
          return got;
        });
    };

    room.stopMedia = function () {
      if (room.stream) { room.stream.getTracks().forEach(function (t) { t.stop(); }); }
      room.stream = null;
      var local = document.getElementById("local");
      if (local) { local.srcObject = null; }
    };

    room.closePeer = function () {
      if (room.pc) {
        room.pc.onconnectionstatechange = null;
        room.pc.close();
        room.pc = null;
      }
      var remote = document.getElementById("remote");
      if (remote) { remote.srcObject = null; }
    };

    function capSenders(pc) {
      pc.getTransceivers().forEach(function (transceiver) {
        var sender = transceiver.sender;
        var kind = transceiver.receiver.track.kind;
        var params = sender.getParameters();
        if (!params.encodings || !params.encodings.length) { return; }
        params.encodings.forEach(function (encoding) {
          var caps = CAPS[kind];
          Object.keys(caps).forEach(function (key) { encoding[key] = caps[key]; });
          if (kind === "video") { encoding.active = !(room.audioOnly || room.peerAudioOnly); }
        });
        sender.setParameters(params).catch(function () { /* an old call's sender */ });
      });
    }
    room.capSenders = function () { if (room.pc) { capSenders(room.pc); } };

    room.newPeer = function (stream) {
      room.closePeer();
      var pc = new RTCPeerConnection({ iceServers: config.iceServers || [] });
      room.pc = pc;
      pc.pendingCandidates = [];
      window.telejtPeer = pc;
      if (stream) {
        stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
      }
      // always receive both, and keep a video line even when sending sound only
      ["audio", "video"].forEach(function (kind) {
        if (!stream || !stream.getTracks().some(function (t) { return t.kind === kind; })) {
          pc.addTransceiver(kind, { direction: "recvonly" });
        }
      });
      pc.onicecandidate = function (event) {
        if (event.candidate) {
          room.socket.emit("signal", { type: "candidate", candidate: event.candidate.toJSON() });
        }
      };
      pc.ontrack = function (event) {
        var remote = document.getElementById("remote");
        remote.srcObject = event.streams[0] || new MediaStream([event.track]);
      };
      pc.onconnectionstatechange = function () {
        if (room.pc !== pc) { return; }
        room.socket.emit("connection_state", { state: pc.connectionState });
        room.onconnection(pc.connectionState);
      };
      return pc;
    };

    room.makeOffer = function () {
      var pc = room.pc;
      return pc.createOffer()
        .then(function (offer) { return pc.setLocalDescription(offer); })
        .then(function () {
          capSenders(pc);
          room.socket.emit("signal", { type: "offer", sdp: lowDataSdp(pc.localDescription.sdp) });
        });
    };

    /* The server relays each message on its own thread: a candidate may overtake the
       offer or answer it belongs after. Hold candidates until the description is set. */
    function flushCandidates(pc) {
      var waiting = pc.pendingCandidates;
      pc.pendingCandidates = [];
      waiting.forEach(function (candidate) {
        pc.addIceCandidate(candidate).catch(function () { /* a late candidate of an old call */ });
      });
    }

    room.socket.on("signal", function (data) {
      if (data.type === "offer") {
        var pc = room.pc || room.newPeer(room.stream);
        pc.setRemoteDescription({ type: "offer", sdp: data.sdp })
          .then(function () { flushCandidates(pc); return pc.createAnswer(); })
          .then(function (answer) { return pc.setLocalDescription(answer); })
          .then(function () {
            capSenders(pc);
            room.socket.emit("signal", { type: "answer", sdp: lowDataSdp(pc.localDescription.sdp) });
          })
          .catch(function () { /* superseded by a newer offer */ });
      } else if (data.type === "answer" && room.pc) {
        var peer = room.pc;
        peer.setRemoteDescription({ type: "answer", sdp: data.sdp })
          .then(function () { flushCandidates(peer); capSenders(peer); })
          .catch(function () { /* an answer to an older offer */ });
      } else if (data.type === "candidate" && room.pc && data.candidate) {
        room.pc.pendingCandidates.push(data.candidate);
        if (room.pc.remoteDescription) { flushCandidates(room.pc); }
      } else if (data.type === "media") {
        // the other side chose sound only: stop sending it video it would pay for
        room.peerAudioOnly = !!data.audioOnly;
        room.capSenders();
        room.onremotemedia(data);
      }
    });

    room.setMuted = function (muted) {
      if (!room.stream) { return; }
      room.stream.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
    };

    room.setCameraOff = function (off) {
      if (!room.stream) { return; }
      room.stream.getVideoTracks().forEach(function (t) { t.enabled = !off; });
    };

    /* Sound only, both ways: no video sent, and the other side sends none either. */
    room.setAudioOnly = function (on) {
      room.audioOnly = on;
      room.setCameraOff(on);
      room.capSenders();
      room.socket.emit("signal", { type: "media", audioOnly: on });
    };

    /* Bytes on the wire so far (ICE transport, both ways) and the voice's share of them
       (payload only), for tests and measurements. */
    room.transportBytes = function () {
      if (!room.pc) { return Promise.resolve(null); }
      return room.pc.getStats().then(function (report) {
        var total = {
          bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0,
          audioPayload: 0, audioPackets: 0
        };
        report.forEach(function (stat) {
          if (stat.type === "transport") {
            ["bytesSent", "bytesReceived", "packetsSent", "packetsReceived"].forEach(function (key) {
              total[key] += stat[key] || 0;
            });
          } else if (stat.kind === "audio" && stat.type === "outbound-rtp") {
            total.audioPayload += stat.bytesSent || 0;
            total.audioPackets += stat.packetsSent || 0;
          } else if (stat.kind === "audio" && stat.type === "inbound-rtp") {
            total.audioPayload += stat.bytesReceived || 0;
            total.audioPackets += stat.packetsReceived || 0;
          }
        });
        return total;
      });
    };

    window.telejtRoom = room;
    return room;
  }

  window.TelejtRoom = { create: create, caps: CAPS };
})();
