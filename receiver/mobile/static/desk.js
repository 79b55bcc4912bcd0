// The mobile section of an alarm page: live refresh of track, call-back and recordings without
// reloading the page, call-back outcomes sent in place, and the listen-in player.
"use strict";
(function () {
  const JITTER = 0.12, MAX_LAG = 0.6;  // seconds of audio buffered before play, and at most
  let root = null, listening = null;

  function decoder() {
    const table = new Float32Array(256);
    for (let i = 0; i < 256; i += 1) {
      const u = ~i & 0xff, exponent = (u >> 4) & 7, mantissa = u & 0x0f;
      const magnitude = ((mantissa << 3) + 0x84) << exponent;
      table[i] = ((u & 0x80) ? 0x84 - magnitude : magnitude - 0x84) / 32768;
    }
    return table;
  }
  const ULAW = decoder();

  function playing() {
    return [...root.querySelectorAll("audio")].some(a => !a.paused);
  }

  // -- the map (only where a tile server is configured; tiles come through the receiver) -----
  const ZOOM = 16, TILE = 256;

  function project(lat, lon) {
    const n = 2 ** ZOOM, r = lat * Math.PI / 180;
    return [(lon + 180) / 360 * n * TILE, (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n * TILE];
  }

  function drawMap() {
    const map = document.getElementById("mobile-map"), track = document.getElementById("track");
    if (!map || !track || map.childElementCount) return;
    const [cx, cy] = project(Number(track.dataset.lat), Number(track.dataset.lon));
    const left = cx - map.clientWidth / 2, top = cy - map.clientHeight / 2;
    for (let tx = Math.floor(left / TILE); tx * TILE < left + map.clientWidth; tx += 1) {
      for (let ty = Math.floor(top / TILE); ty * TILE < top + map.clientHeight; ty += 1) {
        const img = new Image(TILE, TILE);
        img.className = "tile";
        img.alt = "";
        img.src = "/api/mobile/tiles/" + ZOOM + "/" + tx + "/" + ty;
        img.style.left = (tx * TILE - left) + "px";
        img.style.top = (ty * TILE - top) + "px";
        map.appendChild(img);
      }
    }
    const rows = [...track.querySelectorAll("tbody tr")];
    rows.reverse().forEach((row, i) => {
      const [x, y] = project(Number(row.querySelector(".lat").textContent), Number(row.querySelector(".lon").textContent));
      const dot = document.createElement("div");
      dot.className = i === rows.length - 1 ? "marker latest" : "marker";
      dot.style.left = (x - left) + "px";
      dot.style.top = (y - top) + "px";
      map.appendChild(dot);
    });
  }

  async function refresh() {
    const live = document.getElementById("mobile-live");
    const resp = await fetch("/api/mobile/alarms/" + root.dataset.alarm + "/panel", {credentials: "same-origin"});
    if (resp.status !== 200) return;
    const fresh = document.createElement("div");
    fresh.innerHTML = await resp.text();
    [...fresh.children].forEach((node, i) => {
      const old = node.id ? document.getElementById(node.id) : live.children[i];
      if (!old) { live.appendChild(node.cloneNode(true)); return; }
      if (old.outerHTML === node.outerHTML) return;
      if (old.id === "recordings" && playing()) return;  // never cut a recording being played
      old.replaceWith(node.cloneNode(true));
    });
    countdown();
    drawMap();
  }

  function countdown() {
    const box = document.getElementById("callback");
    const cell = box && box.querySelector(".countdown");
    if (!cell || !box.dataset.deadline) return;
    const left = Math.max(0, Math.round((Date.parse(box.dataset.deadline) - Date.now()) / 1000));
    cell.textContent = left + " s left";
  }

  async function submit(e) {
    const form = e.target.closest("form.callback-form");
    if (!form) return;
    e.preventDefault();
    const resp = await fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                                           headers: {"Accept": "application/json"}});
    if (resp.status !== 200) alert(await resp.text());
    refresh();
  }

  // -- listen-in ---------------------------------------------------------------------------
  function state(text) { document.getElementById("listen-state").textContent = text; }

  function listen() {
    const ctx = new AudioContext({sampleRate: 8000});
    sessionStorage.setItem("wachter-listen", root.dataset.alarm);  // resumed after a page reload
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/api/mobile/alarms/" + root.dataset.alarm + "/listen");
    const session = {ctx, socket, playhead: 0, heard: 0, wanted: true};
    listening = session;
    socket.binaryType = "arraybuffer";
    document.getElementById("listen").textContent = "Stop listening";
    state("connecting…");
    socket.onmessage = e => {
      if (typeof e.data === "string") {
        const msg = JSON.parse(e.data);
        if (msg.type === "stopped") state("the phone's microphone is off");
        else if (msg.type === "hello" && !msg.live.length) state("listening: waiting for the phone's audio");
        return;
      }
      play(session, new Uint8Array(e.data));
    };
    socket.onclose = () => {
      if (listening !== session) return;
      state("not listening (connection closed)");
      if (session.wanted && root.dataset.open === "1") setTimeout(() => { if (listening === session) reconnect(); }, 2000);
    };
  }

  function reconnect() { stop(); listen(); }

  function play(session, bytes) {
    const ctx = session.ctx, samples = new Float32Array(bytes.length);
    let energy = 0;
    for (let i = 0; i < bytes.length; i += 1) { samples[i] = ULAW[bytes[i]]; energy += samples[i] * samples[i]; }
    const buffer = ctx.createBuffer(1, samples.length, 8000);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const now = ctx.currentTime;
    if (session.playhead < now + 0.02 || session.playhead > now + MAX_LAG) session.playhead = now + JITTER;
    source.start(session.playhead);
    const playAt = performance.timeOrigin + performance.now() + (session.playhead - now) * 1000;
    session.playhead += samples.length / 8000;
    session.heard += samples.length;
    root.dataset.heard = String(session.heard);
    document.getElementById("listen-level").value = Math.min(1, Math.sqrt(energy / samples.length) * 4);
    state("listening: " + Math.round(session.heard / 8000) + " s heard");
    root.dispatchEvent(new CustomEvent("wachter-audio", {detail: {samples, playAt}}));
  }

  function stop() {
    if (!listening) return;
    const session = listening;
    listening = null;
    session.wanted = false;
    session.socket.close();
    session.ctx.close().catch(() => {});
    sessionStorage.removeItem("wachter-listen");
    document.getElementById("listen").textContent = "Listen in";
    state("not listening");
  }

  document.addEventListener("DOMContentLoaded", () => {
    root = document.getElementById("mobile");
    if (!root) return;
    root.addEventListener("submit", submit);
    const button = document.getElementById("listen");
    if (button) button.addEventListener("click", () => {
      if (listening && listening.ctx.state === "suspended") { listening.ctx.resume(); return; }
      if (listening) stop(); else listen();
    });
    // The page reloads when the alarm changes (taken, noted, joined): keep listening. A browser
    // that wants a click before it plays sound gets one: the button says so.
    if (button && sessionStorage.getItem("wachter-listen") === root.dataset.alarm) {
      listen();
      if (listening.ctx.state === "suspended") button.textContent = "Resume listening";
      listening.ctx.addEventListener("statechange", () => {
        if (listening && listening.ctx.state === "running") button.textContent = "Stop listening";
      });
    }
    countdown();
    drawMap();
    if (root.dataset.open === "1") {
      setInterval(countdown, 1000);
      setInterval(refresh, 2000);
    }
  });
})();
