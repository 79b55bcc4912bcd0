// The app's service worker: the app starts without a network (shell from the cache, fresh
// copies whenever the network is there), and queued presses go out by background sync even
// when the page is closed. The device API itself is never cached or answered from here.
"use strict";
importScripts("/mobile/static/outbox.js");

const CACHE = "wachter-mobile-v1";
const SHELL = [
  "/mobile/", "/mobile/manifest.webmanifest", "/mobile/static/app.js", "/mobile/static/outbox.js",
  "/mobile/static/capture.js", "/mobile/static/app.css", "/mobile/static/icon-192.png",
  "/mobile/static/icon-512.png",
];

self.addEventListener("install", event => {
  event.waitUntil(caches.open(CACHE).then(c => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", event => { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", event => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (!url.pathname.startsWith("/mobile/") || url.pathname.startsWith("/mobile/api/")) return;
  const key = url.pathname === "/mobile/enrol" ? "/mobile/" : url.pathname;
  event.respondWith(
    fetch(event.request).then(resp => {
      if (resp.ok) {
        const copy = resp.clone();
        caches.open(CACHE).then(c => c.put(key, copy));
      }
      return resp;
    }).catch(() => caches.match(key).then(found => found || Response.error()))
  );
});

self.addEventListener("sync", event => {
  if (event.tag === "wachter-outbox") event.waitUntil(self.WachterOutbox.flushStored());
});
