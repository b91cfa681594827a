// Communitarium's service worker. Navigations go to the network first;
// private pages are stored only when the person asked to keep them offline.
"use strict";
const VERSION = "__VERSION__";
const STATIC = "static-" + VERSION;
const KEPT = "kept-pages";
const OFFLINE = {{ offline_url|tojson }};
const PRECACHE = {{ precache|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((name) => name !== STATIC && name !== KEPT).map((name) => caches.delete(name))
  )).then(() => self.clients.claim()));
});

function stamp(response) {
  // A kept copy remembers when it was saved, to say so when it is shown.
  const headers = new Headers(response.headers);
  headers.set("X-Saved-At", new Date().toISOString());
  return response.clone().text().then((body) => new Response(body, {status: response.status, headers: headers}));
}

function keep(url) {
  return fetch(url, {credentials: "same-origin", cache: "no-store"}).then((response) => {
    if (!response.ok || response.redirected) { throw new Error("not kept"); }
    return stamp(response).then((copy) => caches.open(KEPT).then((cache) => cache.put(url, copy)));
  });
}

function savedCopy(request) {
  return caches.match(new URL(request.url).pathname, {cacheName: KEPT, ignoreSearch: true}).then((copy) => {
    if (!copy) { return caches.match(OFFLINE); }
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
        if (!/<body[^>]*\sdata-signed-in/.test(body)) { return caches.delete(KEPT); }
        // Still signed in: refresh a page kept on purpose. (match with a
        // cacheName does not create the cache, as caches.open would.)
        return caches.match(url.pathname, {cacheName: KEPT}).then((old) => old ?
          stamp(copy).then((fresh) => caches.open(KEPT).then((cache) => cache.put(url.pathname, fresh))) : null);
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
    if (url.pathname.startsWith("/auth/")) { event.waitUntil(caches.delete(KEPT)); }
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
    event.waitUntil(keep(data.url).then(() => done(true), () => done(false)));
  } else if (data.type === "forget") {
    event.waitUntil(caches.open(KEPT).then((cache) => cache.delete(data.url)).then(() => done(true)));
  }
});
