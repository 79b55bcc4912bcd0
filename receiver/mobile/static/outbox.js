// The phone's durable queue (IndexedDB), shared by the page and the service worker.
// A press is written here before anything else happens, and leaves only when the receiver
// answers that it stored it (200/201). Every item carries its own key, so sending one twice
// (page and service worker at once, or a lost answer) stores it once.
"use strict";
(function (g) {
  const DB = "wachter-mobile", VERSION = 1;
  let counter = 0;

  function open() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, VERSION);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("outbox", {keyPath: "id"});
        req.result.createObjectStore("kv", {keyPath: "k"});
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function run(store, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode, {durability: "strict"});
      let out;
      const req = fn(t.objectStore(store));
      if (req) req.onsuccess = () => { out = req.result; };
      t.oncomplete = () => { db.close(); resolve(out); };
      t.onerror = t.onabort = () => { db.close(); reject(t.error); };
    });
  }

  const api = {
    put(item) {
      counter += 1;
      return run("outbox", "readwrite", s => s.put({seq: Date.now() * 1000 + (counter % 1000), ...item}));
    },
    async all() {
      const items = (await run("outbox", "readonly", s => s.getAll())) || [];
      return items.sort((a, b) => a.seq - b.seq);
    },
    del(id) { return run("outbox", "readwrite", s => s.delete(id)); },
    async get(k) { const row = await run("kv", "readonly", s => s.get(k)); return row ? row.v : null; },
    set(k, v) { return run("kv", "readwrite", s => (v == null ? s.delete(k) : s.put({k, v}))); },

    // Send what is queued, oldest first; stop at the first item the receiver could not take.
    async flush(token, delivered) {
      const items = await api.all();
      let left = items.length;
      for (const item of items) {
        let resp;
        try {
          resp = await fetch(item.url, {
            method: "POST", cache: "no-store", body: item.body,
            headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
          });
        } catch (e) {
          return {pending: left};
        }
        if (resp.status === 401) return {revoked: true, pending: left};
        if (resp.status === 200 || resp.status === 201) {
          const data = await resp.json().catch(() => ({}));
          await api.del(item.id);
          left -= 1;
          if (delivered) delivered(item, data);
          continue;
        }
        if (resp.status === 409 || resp.status === 429 || resp.status >= 500) return {pending: left};
        await api.del(item.id);  // refused for good (a bad body): retrying cannot help
        left -= 1;
      }
      return {pending: 0};
    },

    // The service worker's background sync: the page may be closed by now.
    async flushStored() {
      const device = await api.get("device");
      if (!device) return;
      const result = await api.flush(device.token);
      if (result.pending && !result.revoked) throw new Error("still queued: the browser retries the sync");
    },
  };
  g.WachterOutbox = api;
})(self);
