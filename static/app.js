// Small enhancements; every page works without this file.
(function () {
  "use strict";
  var body = document.body;
  // Offer the browser's own time zone where a form asks for one.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  document.querySelectorAll("[data-browser-time-zone]").forEach(function (input) {
    if (!input.value && zone) { input.value = zone; }
  });

  // A new circle's web address follows its name until someone edits it.
  document.querySelectorAll("[data-slug-from]").forEach(function (slug) {
    var name = document.getElementById(slug.getAttribute("data-slug-from"));
    var edited = slug.value !== "";
    if (!name) { return; }
    slug.addEventListener("input", function () { edited = slug.value !== ""; });
    name.addEventListener("input", function () {
      if (edited) { return; }
      slug.value = name.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
    });
  });

  // htmx: a request that fails (offline, server down) says so in place.
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.elt;
    if (!target) { return; }
    var note = document.createElement("p");
    note.className = "note note-warning";
    note.setAttribute("role", "alert");
    note.textContent = body.getAttribute("data-offline-message") || "You are offline.";
    target.insertAdjacentElement("afterend", note);
  });

  if (!("serviceWorker" in navigator)) { return; }
  navigator.serviceWorker.register(body.getAttribute("data-sw"), {scope: "/"});

  // "Keep this page offline": the worker stores it, and shows it when offline.
  var keep = document.querySelector("[data-keep]");
  if (keep && window.caches) {
    var button = keep.querySelector("button");
    var url = keep.getAttribute("data-keep");
    var show = function (kept) {
      keep.hidden = false;
      button.setAttribute("aria-pressed", kept ? "true" : "false");
      keep.querySelector("[data-keep-status]").textContent =
        keep.getAttribute(kept ? "data-kept" : "data-not-kept");
    };
    caches.match(url, {cacheName: "kept-pages"}).then(function (hit) { show(!!hit); });
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.url === url) { show(event.data.type === "keep" && event.data.ok); }
    });
    button.addEventListener("click", function () {
      var type = button.getAttribute("aria-pressed") === "true" ? "forget" : "keep";
      navigator.serviceWorker.ready.then(function (reg) { reg.active.postMessage({type: type, url: url}); });
    });
  }

  // Offer installing once the browser says the app can be installed.
  var install = document.getElementById("install");
  window.addEventListener("beforeinstallprompt", function (event) {
    if (!install) { return; }
    event.preventDefault();
    install.hidden = false;
    install.onclick = function () { install.hidden = true; event.prompt(); };
  });
})();
