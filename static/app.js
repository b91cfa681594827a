// Small enhancements; every page works without this file.
(function () {
  "use strict";
  // Offer the browser's own time zone where a form asks for one.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  document.querySelectorAll("[data-browser-time-zone]").forEach(function (input) {
    if (!input.value && zone) { input.value = zone; }
  });
  // htmx: a request that fails (offline, server down) says so in place.
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target;
    if (target) {
      var note = document.createElement("p");
      note.className = "note note-warning";
      note.setAttribute("role", "alert");
      note.textContent = "We could not reach Communitarium. Check your connection and try again.";
      target.insertAdjacentElement("afterend", note);
    }
  });
})();
