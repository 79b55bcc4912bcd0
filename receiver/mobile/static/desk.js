// The mobile section of an alarm page (loaded on every alarm page: the section may appear with
// a live update). The console redraws the section in place; the listen-in control is marked
// data-keep, so the console carries the very same node (and this player) across each redraw:
// listening never stops for an update. What is drawn afresh (the map) is drawn again after
// each redraw ("wachter:part" events from console.js).
"use strict";
(function () {
  const JITTER = 0.12, MAX_LAG = 0.6;  // seconds of audio buffered before play, and at most
  let listening = null;

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

  function root() { return document.getElementById("mobile"); }
  function control() { return document.getElementById("listen-in"); }
  function alarmId() { const a = document.getElementById("alarm"); return a ? a.dataset.id : ""; }

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

  // -- listen-in ---------------------------------------------------------------------------
  function state(text) {
    const node = document.getElementById("listen-state");
    if (node) node.textContent = text;
  }

  function label(text) {
    const button = document.getElementById("listen");
    if (button) button.textContent = text;
  }

  function listen() {
    const alarm = alarmId();
    const ctx = new AudioContext({sampleRate: 8000});
    sessionStorage.setItem("wachter-listen", alarm);  // resumed after a page reload
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/api/mobile/alarms/" + alarm + "/listen");
    const session = {alarm, ctx, socket, playhead: 0, heard: 0, wanted: true};
    listening = session;
    socket.binaryType = "arraybuffer";
    label("Stop listening");
    state("connecting…");
    ctx.addEventListener("statechange", () => {
      if (listening === session) label(ctx.state === "suspended" ? "Resume listening" : "Stop listening");
    });
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
      const open = root() && root().dataset.open === "1" && control();
      if (session.wanted && open) setTimeout(() => { if (listening === session) { stop(); listen(); } }, 2000);
    };
  }

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
    const box = control();
    if (box) box.dataset.heard = String(session.heard);
    const level = document.getElementById("listen-level");
    if (level) level.value = Math.min(1, Math.sqrt(energy / samples.length) * 4);
    state("listening: " + Math.round(session.heard / 8000) + " s heard");
    document.dispatchEvent(new CustomEvent("wachter-audio", {detail: {samples, playAt}}));
  }

  function stop() {
    if (!listening) return;
    const session = listening;
    listening = null;
    session.wanted = false;
    session.socket.close();
    session.ctx.close().catch(() => {});
    sessionStorage.removeItem("wachter-listen");
    label("Listen in");
    state("not listening");
  }

  function redrawn() {
    // the console dropped the control (the alarm was taken over, handed over or closed): stop
    if (listening && !control()) stop();
    drawMap();
  }

  document.addEventListener("click", e => {
    if (!e.target.closest("#listen")) return;
    if (listening && listening.ctx.state === "suspended") { listening.ctx.resume(); return; }
    if (listening) stop(); else listen();
  });
  document.addEventListener("wachter:part", redrawn);
  document.addEventListener("DOMContentLoaded", () => {
    // A real reload (or coming back to the page) resumes listening; a browser that wants a
    // click before it plays sound gets one: the button says "Resume listening".
    if (control() && sessionStorage.getItem("wachter-listen") === alarmId()) listen();
    drawMap();
  });
})();
