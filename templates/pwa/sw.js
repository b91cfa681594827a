// Communitarium's service worker. Navigations go to the network first;
// private pages are stored only when the person asked to keep them offline.
"use strict";
const VERSION = "__VERSION__";
const STATIC = "static-" + VERSION;
const KEPT = "kept-pages";
// This device's choices, and whether someone is signed in on it: markers only,
// no page. Forgotten with the kept pages when the session ends.
const DEVICE = "device";
const SIGNED_IN = "/__signed-in";
const KEEP_NEXT = "/__keep-next";
const OFFLINE = {{ offline_url|tojson }};
const PAGES = {{ pages_url|tojson }};
const PRECACHE = {{ precache|tojson }};
const ICON = {{ icon_url|tojson }};
// Pages kept by the "keep my next gatherings" choice are refreshed at most this often.
const SYNC_EVERY = 10 * 60 * 1000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((name) => name !== STATIC && name !== KEPT && name !== DEVICE).map((name) => caches.delete(name))
  )).then(() => self.clients.claim()));
});

function forgetAll() {
  return Promise.all([caches.delete(KEPT), caches.delete(DEVICE)]);
}

function marker(name) {
  // caches.match with a cacheName never creates the cache, as caches.open would.
  return caches.match(name, {cacheName: DEVICE});
}

function mark(name, value) {
  return caches.open(DEVICE).then((cache) => cache.put(name, new Response(String(value))));
}

function stamp(response, by) {
  // A kept copy remembers when it was saved (to say so when it is shown), its
  // title (for the offline page's list) and who kept it: the person ("hand")
  // or the "keep my next gatherings" choice ("choice").
  const headers = new Headers(response.headers);
  headers.set("X-Saved-At", new Date().toISOString());
  headers.set("X-Kept-By", by);
  return response.clone().text().then((body) => {
    const title = /<title>([^<]*)<\/title>/.exec(body);
    headers.set("X-Title", encodeURIComponent(title ? title[1] : ""));
    return new Response(body, {status: response.status, headers: headers});
  });
}

function keep(url, by) {
  return fetch(url, {credentials: "same-origin", cache: "no-store"}).then((response) => {
    if (!response.ok || response.redirected) { throw new Error("not kept"); }
    return caches.match(url, {cacheName: KEPT}).then((old) => {
      // A page kept by hand stays kept by hand when the choice keeps it too.
      const keptBy = old && old.headers.get("X-Kept-By") === "hand" ? "hand" : by;
      return stamp(response, keptBy).then((copy) => caches.open(KEPT).then((cache) => cache.put(url, copy)));
    });
  });
}

function keptPages() {
  return caches.has(KEPT).then((has) => !has ? [] : caches.open(KEPT).then((cache) => cache.keys().then(
    (requests) => Promise.all(requests.map((request) => cache.match(request).then((copy) => ({
      url: new URL(request.url).pathname, by: copy.headers.get("X-Kept-By") || "hand",
      title: decodeURIComponent(copy.headers.get("X-Title") || "")})))))));
}

// "Keep my next gatherings on this device": the server lists the pages (the
// gatherings I am going to, my home); each is kept, and what the choice kept
// before and is no longer listed goes.
function syncNext(force) {
  return marker(KEEP_NEXT).then((on) => {
    if (!on) { return null; }
    return on.text().then((last) => {
      if (!force && Date.now() - Number(last) < SYNC_EVERY) { return null; }
      return fetch(PAGES, {credentials: "same-origin", cache: "no-store"}).then((response) => {
        if (!response.ok || response.redirected) { throw new Error("not signed in"); }
        return response.json();
      }).then((listed) => Promise.all(listed.pages.map((url) => keep(url, "choice").catch(() => null)))
        .then(() => keptPages()).then((kept) => caches.open(KEPT).then((cache) => Promise.all(kept
          .filter((page) => page.by === "choice" && listed.pages.indexOf(page.url) < 0)
          .map((page) => cache.delete(page.url))))))
        .then(() => marker(KEEP_NEXT)).then((still) => still ? mark(KEEP_NEXT, Date.now()) : null);
    });
  });
}

function stopKeepingNext() {
  return Promise.all([
    caches.open(DEVICE).then((cache) => cache.delete(KEEP_NEXT)),
    keptPages().then((kept) => caches.open(KEPT).then((cache) => Promise.all(
      kept.filter((page) => page.by === "choice").map((page) => cache.delete(page.url))))),
  ]);
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

// The offline page, told that someone is signed in on this device: their own
// links in the header, and the pages kept here.
function offlinePage() {
  return Promise.all([caches.match(OFFLINE), marker(SIGNED_IN), keptPages()]).then(([page, signedIn, kept]) => {
    if (!page || !signedIn) { return page; }
    return page.text().then((body) => {
      const list = kept.map((p) => '<li><a href="' + escapeHtml(p.url) + '">' +
        escapeHtml(p.title.replace(/ · Communitarium$/, "") || p.url) + "</a></li>").join("");
      body = body.replace("data-offline-in hidden", "data-offline-in")
        .replace("data-offline-out", "data-offline-out hidden")
        .replace("<div data-offline-kept hidden></div>", list ? "<ul data-offline-kept>" + list + "</ul>" : "");
      return new Response(body, {headers: {"Content-Type": "text/html; charset=utf-8"}});
    });
  });
}

function savedCopy(request) {
  return caches.match(new URL(request.url).pathname, {cacheName: KEPT, ignoreSearch: true}).then((copy) => {
    if (!copy) { return offlinePage(); }
    const when = copy.headers.get("X-Saved-At") || "";
    return copy.text().then((body) => new Response(body.replace('<main id="main">',
      '<main id="main"><p class="note note-warning" role="status" data-saved-at="' + when + '">' +
      "You are offline. This is the copy saved at <time datetime=\"" + when + "\">" +
      new Date(when).toLocaleString() + "</time>.</p>"), {headers: {"Content-Type": "text/html; charset=utf-8"}}));
  });
}

function navigate(event) {
  const url = new URL(event.request.url);
  return fetch(event.request).then((response) => {
    const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
    if (response.ok && html && url.pathname !== OFFLINE) {
      // Read a copy now: once returned, the page consumes the body.
      const copy = response.clone();
      event.waitUntil(copy.clone().text().then((body) => {
        // A page for someone signed out (base.html marks signed-in pages): the
        // session has ended, here or on another device (sign out everywhere, a
        // new password). Nothing private stays on this device.
        // Its pushes stop too (the server forgets the device at the next push).
        if (!/<body[^>]*\sdata-signed-in/.test(body)) {
          return Promise.all([forgetAll(), self.registration.pushManager &&
            self.registration.pushManager.getSubscription().then((s) => s && s.unsubscribe())]);
        }
        // Still signed in: say so to the offline page, refresh a page kept on
        // purpose, and the pages the choice keeps when they are due.
        return Promise.all([
          marker(SIGNED_IN).then((known) => known ? null : mark(SIGNED_IN, 1)),
          caches.match(url.pathname, {cacheName: KEPT}).then((old) => old ?
            stamp(copy, old.headers.get("X-Kept-By") || "hand")
              .then((fresh) => caches.open(KEPT).then((cache) => cache.put(url.pathname, fresh))) : null),
          syncNext(false).catch(() => null),
        ]);
      }));
    }
    return response;
  }).catch(() => savedCopy(event.request));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method !== "GET") {
    if (url.pathname.startsWith("/auth/")) { event.waitUntil(forgetAll()); }
    return;
  }
  // htmx asks for live answers: never from a cache.
  if (request.headers.get("HX-Request")) { return; }
  if (request.mode === "navigate") { event.respondWith(navigate(event)); return; }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const done = (ok) => event.source && event.source.postMessage({type: data.type, url: data.url, ok: ok});
  if (data.type === "keep") {
    event.waitUntil(keep(data.url, "hand").then(() => done(true), () => done(false)));
  } else if (data.type === "keep-next") {
    event.waitUntil((data.on ? mark(KEEP_NEXT, 0).then(() => syncNext(true)) : stopKeepingNext())
      .then(() => done(true), () => done(false)));
  } else if (data.type === "forget") {
    event.waitUntil(caches.open(KEPT).then((cache) => cache.delete(data.url)).then(() => done(true)));
  }
});

// Web Push: what cannot wait. The payload is a title, a short line and a path
// on this site; a tap opens that path, in a window of ours if one is open.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { /* not ours: a plain notice */ }
  event.waitUntil(self.registration.showNotification(data.title || "Communitarium",
    {body: data.body || "", icon: ICON, data: {path: data.path}}));
});

function openPath(path) {
  const url = new URL(/^\/(?!\/)/.test(path || "") ? path : "/", self.location.origin).href;
  return self.clients.matchAll({type: "window", includeUncontrolled: true}).then((open) => {
    const same = open.find((c) => c.url === url);
    if (same) { return same.focus(); }
    if (!open[0]) { return self.clients.openWindow(url); }
    return open[0].navigate(url).then((c) => c && c.focus().catch(() => c), () => self.clients.openWindow(url));
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openPath((event.notification.data || {}).path));
});
