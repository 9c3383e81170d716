/* Every staff page: the session's idle clock follows the person's use of the page (typing,
   clicking, scrolling), at most one request a minute; and a page's print button. No inline
   script: the Content Security Policy allows this site's files only. */
(function () {
  "use strict";
  var EVERY_MS = 60 * 1000;
  var form = document.getElementById("activity-form");
  var lastSent = Date.now();
  var used = false;

  function markUsed() { used = true; }
  ["keydown", "pointerdown", "scroll", "input"].forEach(function (name) {
    document.addEventListener(name, markUsed, { passive: true, capture: true });
  });

  if (form && window.fetch && window.FormData) {
    window.setInterval(function () {
      if (!used || Date.now() - lastSent < EVERY_MS) { return; }
      used = false;
      lastSent = Date.now();
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          // the session ended (elsewhere, or by an admin): show the login page
          if (response.status === 401 || response.redirected) { window.location.reload(); }
        })
        .catch(function () { /* offline: the next use tries again */ });
    }, 5000);
  }

  // Each cell carries its column's header, which a narrow screen shows beside it (the
  // table reflows into one card per row); rows added later (live alerts) get it too.
  function labelCells(table) {
    var headers = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/[▲▼]/g, "").trim();
    });
    if (!headers.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (headers[index] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", headers[index]);
        }
      });
    });
  }
  document.querySelectorAll("table").forEach(function (table) {
    if (table.classList.contains("attendance-calendar")) { return; }
    labelCells(table);
    if (window.MutationObserver) {
      new MutationObserver(function () { labelCells(table); })
        .observe(table, { childList: true, subtree: true });
    }
  });

  document.querySelectorAll("[data-action=print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
