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

  // Copy, share and print buttons exist in the page but stay hidden until the
  // browser can do what they say; htmx:load covers content swapped in later.
  var canCopy = !!(navigator.clipboard && window.isSecureContext);
  var enhance = function (root) {
    root.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = !canCopy; });
    root.querySelectorAll("[data-share]").forEach(function (b) { b.hidden = !navigator.share; });
    root.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = !window.print; });
  };
  enhance(document);
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
  document.addEventListener("click", function (event) {
    var b = event.target.closest && event.target.closest("[data-copy], [data-share], [data-print]");
    if (!b) { return; }
    if (b.hasAttribute("data-print")) { window.print(); return; }
    var field = document.getElementById(b.getAttribute("data-copy") || b.getAttribute("data-share"));
    if (!field) { return; }
    if (b.hasAttribute("data-copy")) {
      navigator.clipboard.writeText(field.value).then(function () {
        b.textContent = b.getAttribute("data-copied");
      });
    } else {
      navigator.share({title: b.getAttribute("data-share-title") || document.title, url: field.value})
        .catch(function () { /* the person closed the share sheet */ });
    }
  });

  // The circle's tabs scroll sideways on a phone: show the current one.
  var current = document.querySelector(".tabs [aria-current=page]");
  if (current) {
    var strip = current.parentNode;
    var right = current.offsetLeft - strip.offsetLeft + current.offsetWidth;
    if (right > strip.clientWidth) { strip.scrollLeft = right - strip.clientWidth + 16; }
  }

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

  // "Keep my next gatherings on this device": one choice per device, kept by
  // the worker beside the pages (so signing out forgets it with them).
  document.querySelectorAll("[data-keep-next]").forEach(function (choice) {
    if (!window.caches) { return; }
    var toggle = choice.querySelector("button");
    var showChoice = function (on) {
      choice.hidden = false;
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      choice.querySelector("[data-keep-status]").textContent = choice.getAttribute(on ? "data-on" : "data-off");
    };
    caches.match("/__keep-next", {cacheName: "device"}).then(function (hit) { showChoice(!!hit); });
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "keep-next") {
        caches.match("/__keep-next", {cacheName: "device"}).then(function (hit) { showChoice(!!hit); });
      }
    });
    toggle.addEventListener("click", function () {
      var on = toggle.getAttribute("aria-pressed") !== "true";
      navigator.serviceWorker.ready.then(function (reg) { reg.active.postMessage({type: "keep-next", on: on}); });
    });
  });

  // "Notify this device": the browser asks for permission only after a tap,
  // never on page load. After an action (an answer, a request), the offer is
  // only for a device that was never asked (its person has said neither yes nor no).
  var pushOffers = function (root) {
    if (!window.PushManager || !window.Notification) { return; }
    root.querySelectorAll("[data-push-missing]").forEach(function (p) { p.hidden = true; });
    root.querySelectorAll("[data-push]").forEach(function (offer) {
      var say = function (what) { offer.querySelector("[data-push-note]").textContent = offer.getAttribute(what); };
      // Known at once (no waiting on the worker), so the page reads the same after htmx as after a reload.
      if (offer.hasAttribute("data-push-offer") && Notification.permission !== "default") { return; }
      offer.hidden = false;
      if (Notification.permission === "denied") { say("data-denied"); }
      offer.querySelector("button").onclick = function () {
        Notification.requestPermission().then(function (answer) {
          if (answer !== "granted") { throw "data-denied"; }
          return navigator.serviceWorker.ready;
        }).then(function (reg) {
          return reg.pushManager.getSubscription().then(function (sub) {
            var key = atob(offer.getAttribute("data-key").replace(/-/g, "+").replace(/_/g, "/"));
            return sub || reg.pushManager.subscribe({userVisibleOnly: true,
              applicationServerKey: Uint8Array.from(key, function (c) { return c.charCodeAt(0); })});
          });
        }).then(function (sub) {
          var keys = sub.toJSON().keys, form = new FormData();
          form.append("endpoint", sub.endpoint);
          form.append("p256dh", keys.p256dh);
          form.append("auth", keys.auth);
          return fetch(offer.getAttribute("data-push"), {method: "POST", body: form, credentials: "same-origin",
            headers: JSON.parse(body.getAttribute("data-hx-headers"))});
        }).then(function (response) {
          if (!response.ok) { throw "data-failed"; }
          return response.text();
        }).then(function (html) {
          var list = document.getElementById("device-list");
          if (list) {
            list.outerHTML = html;
            if (window.htmx) { window.htmx.process(document.getElementById("device-list")); }
          }
          say("data-on");
        }).catch(function (problem) { say(problem === "data-denied" ? problem : "data-failed"); });
      };
    });
  };
  pushOffers(document);
  document.addEventListener("htmx:load", function (event) { pushOffers(event.target); });
  // htmx:load comes after the settle delay; the swap itself must already read as a reload does.
  document.addEventListener("htmx:afterSwap", function () { pushOffers(document); });

  // Offer installing once the browser says the app can be installed.
  var install = document.getElementById("install");
  window.addEventListener("beforeinstallprompt", function (event) {
    if (!install) { return; }
    event.preventDefault();
    install.hidden = false;
    install.onclick = function () { install.hidden = true; event.prompt(); };
  });
})();
