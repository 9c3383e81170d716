/* The therapist's day: who is waiting, live from /live "session.presence" events. */
(function () {
  "use strict";
  if (typeof io === "undefined") { return; }
  var labels = JSON.parse(document.getElementById("state-labels").textContent);
  var statusLabels = JSON.parse(document.getElementById("status-labels").textContent);
  var troubleWords = JSON.parse(document.getElementById("trouble-words").textContent);
  // the page's one /live connection, shared with alerts.js (crisis alerts) when loaded
  var socket = window.telejtAlerts && window.telejtAlerts.socket ? window.telejtAlerts.socket()
    : io("/live", { transports: ["websocket", "polling"] });
  socket.on("session.presence", function (data) {
    var row = document.querySelector('tr[data-contact-id="' + data.contact_id + '"]');
    if (!row) { return; }
    var cell = row.querySelector(".presence");
    cell.textContent = labels[data.state] || data.state;
    cell.setAttribute("data-state", data.state);
    if (data.trouble && troubleWords[data.trouble]) {
      // what failed on his side, said here too: the console may not be open yet
      var note = document.createElement("strong");
      note.className = "trouble";
      note.setAttribute("role", "alert");
      note.textContent = troubleWords[data.trouble];
      cell.appendChild(document.createElement("br"));
      cell.appendChild(note);
    }
    var status = row.querySelector(".status");
    status.textContent = statusLabels[data.status] || data.status;
    status.setAttribute("data-status", data.status);
  });
})();
