/* Too early: open the session page by itself when its link starts to work. */
(function () {
  "use strict";
  var mark = document.getElementById("reload-at");
  var seconds = mark ? parseInt(mark.getAttribute("data-reload-in"), 10) : NaN;
  // relative seconds from the server, never the phone's clock (often wrong on a cheap phone)
  if (seconds > 0 && seconds < 86400) {
    setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
