/* Inlined at the top of his session page (allowed by its hash in the page's Content
   Security Policy, telejt/assets.py): opens the room's WebSocket as soon as the page
   starts to arrive, so that its round trip (2 s on Slow 3G) runs while the scripts
   download instead of after them. When Socket.IO's client asks for that same WebSocket
   it is given this one, with what it has received so far, in order. Any other
   WebSocket, or this one if it already failed, is a new one as usual. */
(function () {
  "use strict";
  var Native = window.WebSocket;
  if (!Native) { return; }
  var url = (window.location.protocol === "https:" ? "wss://" : "ws://") +
    window.location.host + "/socket.io/?EIO=4&transport=websocket";
  var early;
  try { early = new Native(url); } catch (e) { return; }

  var taken = null;   // what Socket.IO's client holds once it asked
  var queue = [];     // events that came before it listened: [type, event]
  var failed = false;
  function deliver(type, event) {
    if (type === "close" || type === "error") { failed = true; }
    if (queue !== null) { queue.push([type, event]); return; } // not replayed yet
    var handler = taken["on" + type];
    if (handler) { handler.call(taken, event); }
  }
  ["open", "message", "close", "error"].forEach(function (type) {
    early["on" + type] = function (event) { deliver(type, event); };
  });
  // never asked for (his scripts did not run): let the server's thread go
  var unclaimed = setTimeout(function () { if (!taken) { early.close(); } }, 30000);

  function takeOver() {
    clearTimeout(unclaimed);
    var ws = early;
    taken = {
      onopen: null, onmessage: null, onclose: null, onerror: null,
      send: function (data) { ws.send(data); },
      close: function (code, reason) { ws.close(code, reason); }
    };
    Object.defineProperty(taken, "readyState", { get: function () { return ws.readyState; } });
    Object.defineProperty(taken, "binaryType", {
      get: function () { return ws.binaryType; },
      set: function (value) { ws.binaryType = value; }
    });
    // the client sets its handlers right after it gets the socket: then replay
    setTimeout(function () {
      var waiting = queue;
      queue = null;
      waiting.forEach(function (item) {
        var handler = taken["on" + item[0]];
        if (handler) { handler.call(taken, item[1]); }
      });
    }, 0);
    return taken;
  }

  function WebSocket(address, protocols) {
    if (!taken && !failed && address === url && protocols === undefined) { return takeOver(); }
    return protocols === undefined ? new Native(address) : new Native(address, protocols);
  }
  WebSocket.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name) {
    WebSocket[name] = Native[name];
  });
  window.WebSocket = WebSocket;
})();
