/* Alerts on the team's pages (dashboard, therapist's agenda): the alert sound, switched on
   with one click and remembered by the browser; alerts said in words through the page's
   live regions; crisis alerts pinned on top as they arrive, acknowledged over the socket
   with the focus kept where the person was working. Loaded before the page's own script,
   which uses window.telejtAlerts. */
(function () {
  "use strict";
  var STORAGE_KEY = "telejt.alertSound";
  var politeRegion = document.getElementById("live-announcer");
  var urgentRegion = document.getElementById("live-announcer-urgent");
  var soundButton = document.getElementById("alert-sound");
  var audio = null;

  function soundOn() {
    try { return window.localStorage.getItem(STORAGE_KEY) === "on"; } catch (ignored) { return false; }
  }

  function audioContext() {
    // browsers start sound only after a gesture on the page: made (or resumed) on one
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return null; }
    if (!audio) { audio = new Context(); }
    if (audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function beep() {
    if (!soundOn()) { return; }
    try {
      var context = audioContext();
      if (!context) { return; }
      var tone = context.createOscillator();
      tone.frequency.value = 880;
      tone.connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.15);
    } catch (ignored) { /* no sound available: the words still reach the live region */ }
  }

  function showSoundState() {
    if (!soundButton) { return; }
    var on = soundOn();
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    soundButton.textContent = on ? soundButton.dataset.on : soundButton.dataset.off;
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      var on = !soundOn();
      try { window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off"); } catch (ignored) { /* private mode */ }
      showSoundState();
      if (on) { beep(); }  // the click itself unlocks the sound, and lets him hear it
    });
    showSoundState();
  }
  // remembered as on: the page's first key or click unlocks the sound for later alerts
  ["pointerdown", "keydown"].forEach(function (name) {
    document.addEventListener(name, function unlock() {
      if (soundOn()) { audioContext(); }
      document.removeEventListener(name, unlock, true);
    }, true);
  });

  // The words of an alert, said once by screen readers (an emptied region, then the text,
  // so the same words twice are said twice).
  function announce(text, urgent) {
    var region = urgent ? urgentRegion : politeRegion;
    if (!region || !text) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // One /live connection per page, shared by this script and the page's own: a second
  // io("/live") would open a second WebSocket (and hold a second server thread).
  var shared = null;
  function liveSocket() {
    if (!shared && typeof io !== "undefined") {
      // WebSocket first, polling kept for networks that block WebSockets
      shared = io("/live", { withCredentials: true, transports: ["websocket", "polling"] });
    }
    return shared;
  }

  window.telejtAlerts = { beep: beep, announce: announce, socket: liveSocket };

  // ---- crisis alerts pinned on top -------------------------------------------------------
  var panel = document.getElementById("crisis-alerts");
  if (!panel || typeof io === "undefined") { return; }
  var list = document.getElementById("crisis-list");
  var cardUrl = panel.dataset.cardUrl;
  var socket = liveSocket();

  function fetchCard(alertId, then, attempt) {
    attempt = attempt || 1;
    fetch(cardUrl.replace("/0", "/" + Number(alertId)), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status >= 500 && attempt < 5) {
          window.setTimeout(function () { fetchCard(alertId, then, attempt + 1); }, 1000 * attempt);
          return null;
        }
        return response.ok ? response.text() : null;
      }, function () {
        if (attempt < 5) { window.setTimeout(function () { fetchCard(alertId, then, attempt + 1); }, 1000 * attempt); }
        return null;
      })
      .then(function (html) {
        if (!html) { return; }
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var card = template.content.firstElementChild;
        var existing = document.getElementById("crisis-" + alertId);
        if (existing) { existing.replaceWith(card); } else { list.insertBefore(card, list.firstChild); }
        panel.hidden = false;
        bindCard(card);
        if (then) { then(card); }
      });
  }

  function bindCard(card) {
    var form = card.querySelector(".crisis-ack");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      if (!socket.connected) { return; }  // the plain form POST, which works without the socket
      event.preventDefault();
      var note = form.elements.note.value.trim();
      if (!note) { form.elements.note.focus(); return; }
      var alertId = parseInt(card.dataset.alertId, 10);
      socket.emit("acknowledge", { alert_id: alertId, note: note }, function (reply) {
        if (!reply || !reply.alert) { form.submit(); return; }
        fetchCard(alertId, function (fresh) {
          // the form is gone: the focus goes to what replaced it, not to the page's top
          var status = fresh.querySelector(".crisis-status") || fresh;
          status.focus();
          announce(fresh.dataset.acknowledgedText || status.textContent.trim(), false);
        });
      });
    });
  }

  list.querySelectorAll(".crisis-card").forEach(bindCard);

  socket.on("alert.created", function (alert) {
    if (alert.kind !== "crisis") { return; }
    fetchCard(alert.id, function (card) {
      announce(card.dataset.announce, true);
      beep();
    });
  });
  socket.on("alert.acknowledged", function (alert) {
    if (alert.kind === "crisis" && document.getElementById("crisis-" + alert.id)) {
      var holdsFocus = document.getElementById("crisis-" + alert.id).contains(document.activeElement);
      fetchCard(alert.id, function (card) {
        if (holdsFocus) { (card.querySelector(".crisis-status") || card).focus(); }
      });
    }
  });
})();
