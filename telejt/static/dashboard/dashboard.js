/* Judicial dashboard: alerts arrive live over Socket.IO (/live), are acknowledged
   with a note, and a reconnecting page asks the server for what it missed. A
   participant's compliance row is fetched again when one of his contacts or
   alerts changes. */
(function () {
  "use strict";
  var section = document.getElementById("live-alerts");
  if (!section || typeof io === "undefined") { return; }
  var rows = document.getElementById("alert-rows");
  var countBadge = document.getElementById("alert-count");
  var emptyNote = document.getElementById("no-alerts");
  var liveStatus = document.getElementById("live-status");
  var rowUrl = section.dataset.rowUrl;
  var lastAlertId = parseInt(section.dataset.lastAlertId || "0", 10);
  var since = section.dataset.loadedAt;
  var baseTitle = document.title;

  // open alerts older than the ones listed still count in the badge
  var hiddenOpen = parseInt(countBadge.dataset.hiddenOpen || "0", 10);

  function updateCount() {
    var open = hiddenOpen + rows.querySelectorAll(".alert-row:not(.is-acknowledged)").length;
    countBadge.textContent = String(open);
    document.title = (open ? "(" + open + ") " : "") + baseTitle;
    emptyNote.hidden = rows.querySelectorAll(".alert-row").length > 0;
  }

  var alerts = window.telejtAlerts || { beep: function () {}, announce: function () {} };

  // isNew: announce it (a crisis is said by alerts.js, on top); then: called with the row
  function showRow(alertId, isNew, then, attempt) {
    attempt = attempt || 1;
    function retryLater() {  // a busy server or a dropped request must not lose an alert
      if (attempt < 5) { setTimeout(function () { showRow(alertId, isNew, then, attempt + 1); }, 1000 * attempt); }
    }
    return fetch(rowUrl.replace("/0/", "/" + alertId + "/"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status >= 500) { retryLater(); return null; }
        return response.ok ? response.text() : null;
      }, function () { retryLater(); return null; })
      .then(function (html) {
        if (!html) { return; }
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var row = template.content.firstElementChild;
        var existing = document.getElementById("alert-" + alertId);
        var heldFocus = existing && existing.contains(document.activeElement);
        if (existing) {
          existing.replaceWith(row);
        } else {
          rows.insertBefore(row, rows.firstChild);
        }
        if (isNew) {
          row.classList.add("is-new");
          if (row.dataset.kind !== "crisis") {
            alerts.announce(row.dataset.announce, false);
            alerts.beep();
          }
        }
        bindForm(row);
        updateCount();
        // acknowledged from another screen while he was typing in it: keep his place
        if (heldFocus) { (row.querySelector(".acknowledged") || row).focus(); }
        if (then) { then(row); }
      });
  }

  // A participant's compliance row, fetched again when his figures may have changed.
  // The row is refreshed in place: its rank in the chosen order waits for a reload.
  var complianceTable = document.querySelector("table.compliance");
  var complianceRowUrl = complianceTable ? complianceTable.dataset.rowUrl : null;
  var refreshing = {};  // participant id -> "busy" or "again" (a change came during the fetch)

  function refreshComplianceRow(participantId, attempt) {
    attempt = attempt || 1;
    if (!complianceRowUrl || !participantId) { return; }
    var selector = 'tr[data-participant-id="' + Number(participantId) + '"]';
    if (attempt === 1 && !complianceTable.querySelector(selector)) { return; }  // not on this page
    if (attempt === 1 && refreshing[participantId]) { refreshing[participantId] = "again"; return; }
    refreshing[participantId] = "busy";
    function done() {
      var again = refreshing[participantId] === "again";
      delete refreshing[participantId];
      if (again) { refreshComplianceRow(participantId); }
    }
    function retryLater() {
      if (attempt < 5) {
        setTimeout(function () { refreshComplianceRow(participantId, attempt + 1); }, 1000 * attempt);
      } else { done(); }
    }
    fetch(complianceRowUrl.replace("/0/", "/" + Number(participantId) + "/"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status >= 500) { retryLater(); return undefined; }
        return response.ok ? response.text() : null;
      }, function () { retryLater(); return undefined; })
      .then(function (html) {
        if (html === undefined) { return; }  // a retry is on its way
        var existing = complianceTable.querySelector(selector);
        if (html && existing) {
          var template = document.createElement("template");
          template.innerHTML = html.trim();
          var row = template.content.firstElementChild;
          row.classList.add("is-updated");
          existing.replaceWith(row);
        }
        done();
      });
  }

  // WebSocket first: one server thread for the page's life (long polling costs more), with
  // polling kept for networks that block WebSockets; shared with alerts.js when loaded
  var socket = alerts.socket ? alerts.socket()
    : io("/live", { withCredentials: true, transports: ["websocket", "polling"] });

  function bindForm(scope) {
    scope.querySelectorAll(".ack-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!socket.connected) { return; }  // plain form POST when offline
        event.preventDefault();
        var alertId = parseInt(form.closest(".alert-row").dataset.alertId, 10);
        var note = form.elements.note.value.trim();
        if (!note) { form.elements.note.focus(); return; }
        socket.emit("acknowledge", { alert_id: alertId, note: note }, function (reply) {
          if (!reply || !reply.alert) { form.submit(); return; }
          showRow(alertId, false, function (row) {
            // the form is gone: the focus goes to what replaced it, not to the page's top
            var status = row.querySelector(".acknowledged") || row;
            status.focus();
            alerts.announce(status.textContent.trim(), false);
          });
        });
      });
    });
  }

  // what happened while this page could not hear: after a reconnection, and when the
  // server says live events were lost (Redis was away: "resync")
  function catchUp() {
    var shown = complianceTable
      ? Array.prototype.map.call(complianceTable.querySelectorAll("tr[data-participant-id]"),
          function (tr) { return parseInt(tr.dataset.participantId, 10); })
      : [];
    socket.emit("catch_up", { since_id: lastAlertId, since: since, participant_ids: shown }, function (missed) {
      if (!missed || missed.error) { return; }
      missed.created.forEach(function (alert) {
        lastAlertId = Math.max(lastAlertId, alert.id);
        showRow(alert.id, true);
        refreshComplianceRow(alert.participant_id);
      });
      missed.acknowledged.forEach(function (alert) {
        showRow(alert.id, false);
        refreshComplianceRow(alert.participant_id);
      });
      (missed.verified || []).forEach(showVerified);
      (missed.contacts_changed || []).forEach(function (participantId) {
        refreshComplianceRow(participantId);
      });
    });
  }

  socket.on("connect", function () {
    liveStatus.textContent = liveStatus.dataset.online;
    liveStatus.classList.add("is-online");
    catchUp();
  });
  socket.on("resync", catchUp);
  // the SMS provider is unreachable (one alert per outage) / reachable again
  var systemAlert = document.getElementById("system-alert");
  socket.on("system.alert", function () {
    if (!systemAlert) { return; }
    systemAlert.textContent = systemAlert.dataset.liveText;
    systemAlert.hidden = false;
    alerts.beep();
  });
  socket.on("system.resolved", function () {
    if (systemAlert) { systemAlert.hidden = true; }
  });
  socket.on("disconnect", function () {
    liveStatus.textContent = liveStatus.dataset.offline;
    liveStatus.classList.remove("is-online");
  });
  socket.on("alert.created", function (alert) {
    lastAlertId = Math.max(lastAlertId, alert.id);
    showRow(alert.id, true);
    refreshComplianceRow(alert.participant_id);
  });
  socket.on("alert.acknowledged", function (alert) {
    if (document.getElementById("alert-" + alert.id)) { showRow(alert.id, false); }
    refreshComplianceRow(alert.participant_id);
  });
  // verified: those who saw it unverified get its row again; the positions that see only
  // verified notices (by default the prosecutor and the defender) get it now, if still open
  function showVerified(alert) {
    if (document.getElementById("alert-" + alert.id)) { showRow(alert.id, false); }
    else if (!alert.acknowledged_at) {
      lastAlertId = Math.max(lastAlertId, alert.id);
      showRow(alert.id, true);
    }
    refreshComplianceRow(alert.participant_id);
  }
  socket.on("alert.verified", showVerified);
  // someone marked it seen: its "seen by" line, on every dashboard that shows it
  socket.on("alert.seen", function (alert) {
    if (document.getElementById("alert-" + alert.id)) { showRow(alert.id, false); }
  });
  socket.on("contact.updated", function (contact) {
    refreshComplianceRow(contact.participant_id);
  });

  bindForm(document);
  updateCount();
})();
