// The mobile panic button. Hold the button for a second: the press is queued durably (outbox.js)
// and sent until the alarm centre confirms it; the position follows the person while the
// alarm is open, and the microphone streams to the centre (µ-law over a WebSocket) from the
// press until the centre ends the alarm or the time limit passes: never longer.
"use strict";
(function () {
  const HOLD_MS = 1000, FIX_GAP_MS = 2000, MAX_BUFFERED = 750;  // 750 chunks = 30 s of audio
  const box = self.WachterOutbox;
  const $ = id => document.getElementById(id);
  let device = null, active = null, lastFix = null, watchId = null, lastQueuedFix = 0, fixTimer = null;
  let mic = null, ws = null, wsReady = false, buffered = [], retry = null, backoff = 1000;
  let flushing = false, flushAgain = false, limitTimer = null, fixes = 0;

  function show(state) { document.body.dataset.state = state; }
  function say(text) { $("status").textContent = text; }
  function delivery(state) { document.body.dataset.delivery = state; }

  function fixBody(pos, key) {
    return {key, lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy,
            at: new Date(pos.timestamp).toISOString()};
  }

  async function battery() {
    try { return navigator.getBattery ? (await navigator.getBattery()).level : null; } catch (e) { return null; }
  }

  async function enrol(secret) {
    history.replaceState(null, "", "/mobile/");
    let resp = null;
    try {
      resp = await fetch("/mobile/api/enrol", {method: "POST", body: JSON.stringify({secret}),
                                               headers: {"Content-Type": "application/json"}});
    } catch (e) { /* shown below */ }
    if (!resp || resp.status !== 201) {
      $("enrol-text").textContent = resp ? await resp.text() : "Geen verbinding: open de link opnieuw.";
      return;
    }
    const d = await resp.json();
    await box.set("device", {token: d.token, device: d.device, silent: d.silent, person: d.person,
                             micLimit: d.mic_limit_s});
  }

  // -- the press ---------------------------------------------------------------------------
  function warmPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(p => { lastFix = p; }, () => {},
                                             {enableHighAccuracy: true, maximumAge: 30000, timeout: 5000});
  }

  function setupHold() {
    const button = $("panic");
    let timer = null;
    const start = e => {
      e.preventDefault();
      if (timer || active) return;
      button.classList.add("holding");
      warmPosition();
      timer = setTimeout(() => { timer = null; button.classList.remove("holding"); press(); }, HOLD_MS);
    };
    const cancel = () => {
      if (!timer) return;
      clearTimeout(timer);
      timer = null;
      button.classList.remove("holding");
    };
    button.addEventListener("pointerdown", start);
    ["pointerup", "pointerleave", "pointercancel"].forEach(t => button.addEventListener(t, cancel));
    button.addEventListener("contextmenu", e => e.preventDefault());
    button.addEventListener("keydown", e => { if ((e.key === " " || e.key === "Enter") && !e.repeat) start(e); });
    button.addEventListener("keyup", cancel);
  }

  async function press() {
    const key = crypto.randomUUID().replace(/-/g, "");
    const body = {key, silent: !!device.silent, at: new Date().toISOString(),
                  position: lastFix ? fixBody(lastFix, "press-fix") : null, battery: await battery()};
    await box.put({id: "p:" + key, kind: "press", press: key, url: "/mobile/api/press", body: JSON.stringify(body)});
    active = {key, silent: !!device.silent, confirmed: false, micUntil: Date.now() + device.micLimit * 1000};
    await box.set("press", active);
    if (!active.silent) {
      show("sent");
      $("sent-title").textContent = "Alarm wordt verstuurd…";
      if (navigator.vibrate) navigator.vibrate(200);
    }
    delivery("queued");
    registerSync();
    follow();
    startMic();
    flushSoon(0);
  }

  function registerSync() {
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.ready.then(r => r.sync && r.sync.register("wachter-outbox")).catch(() => {});
  }

  // -- sending -----------------------------------------------------------------------------
  function flushSoon(ms) {
    clearTimeout(retry);
    retry = setTimeout(flush, ms);
  }

  async function flush() {
    if (!device) return;
    if (flushing) { flushAgain = true; return; }
    flushing = true;
    try {
      const result = await box.flush(device.token, delivered);
      if (result.revoked) { revoked(); return; }
      if (result.pending) {
        if (active && !active.confirmed && !active.silent) {
          $("sent-title").textContent = "Alarm in de wachtrij";
          $("sent-text").textContent = "Geen verbinding: het alarm gaat vanzelf weg zodra er netwerk is.";
        }
        flushSoon(backoff);
        backoff = Math.min(backoff * 2, 30000);
      } else {
        backoff = 1000;
      }
    } finally {
      flushing = false;
      if (flushAgain) { flushAgain = false; flushSoon(0); }
    }
  }

  function delivered(item, data) {
    if (!active || item.press !== active.key) return;
    if (item.kind === "press") {
      active.confirmed = true;
      active.micUntil = Math.min(active.micUntil, Date.parse(data.mic_until) || active.micUntil);
      box.set("press", active);
      delivery("delivered");
      if (!active.silent) {
        $("sent-title").textContent = "Alarm verstuurd";
        $("sent-text").textContent = "De meldkamer is gewaarschuwd en belt u terug.";
        if (navigator.vibrate) navigator.vibrate([100, 100, 100]);
      }
      if (data.open === false) { stopAll(); return; }
      connectAudio();
    } else if (data.open === false) {
      stopAll();
    }
  }

  // -- position ----------------------------------------------------------------------------
  function follow() {
    if (!navigator.geolocation || watchId !== null) return;
    watchId = navigator.geolocation.watchPosition(onFix, () => {}, {enableHighAccuracy: true, maximumAge: 0});
  }

  function onFix(pos) {
    lastFix = pos;
    if (!active) return;
    if (!active.silent) $("where").textContent = "Locatie: ±" + Math.round(pos.coords.accuracy) + " m";
    const wait = lastQueuedFix + FIX_GAP_MS - Date.now();
    if (wait > 0) {
      if (!fixTimer) fixTimer = setTimeout(() => { fixTimer = null; if (lastFix) onFix(lastFix); }, wait);
      return;
    }
    lastQueuedFix = Date.now();
    fixes += 1;
    const fixKey = "fix-" + Date.now().toString(36) + "-" + fixes;
    battery().then(level => {
      if (!active) return;
      const body = {positions: [{...fixBody(pos, fixKey), battery: level}]};
      box.put({id: "f:" + active.key + ":" + fixKey, kind: "fix", press: active.key,
               url: "/mobile/api/press/" + active.key + "/positions", body: JSON.stringify(body)})
        .then(() => flushSoon(0));
    });
  }

  // -- microphone --------------------------------------------------------------------------
  async function startMic() {
    if (mic) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: true, channelCount: 1}});
      const ctx = new AudioContext({sampleRate: 8000});
      await ctx.audioWorklet.addModule("/mobile/static/capture.js");
      const node = new AudioWorkletNode(ctx, "wachter-capture");
      const mute = ctx.createGain();
      mute.gain.value = 0;
      ctx.createMediaStreamSource(stream).connect(node);
      node.connect(mute);
      mute.connect(ctx.destination);  // keeps the worklet pulled; nothing is heard on the phone
      node.port.onmessage = e => onChunk(e.data);
      mic = {stream, ctx};
      if (!active) { stopMic(); return; }  // the alarm ended while the microphone started
      stream.getAudioTracks().forEach(t => t.addEventListener("ended", () => stopMic()));
      indicator(true);
      clearTimeout(limitTimer);
      limitTimer = setTimeout(() => stopAll(), Math.max(0, active.micUntil - Date.now()));
    } catch (e) {
      if (active && !active.silent) say("Microfoon niet beschikbaar");
    }
  }

  function onChunk(buffer) {
    const chunk = new Uint8Array(buffer);
    if (ws && wsReady) { ws.send(chunk); return; }
    buffered.push(chunk);
    if (buffered.length > MAX_BUFFERED) buffered.shift();
  }

  function connectAudio() {
    if (!active || !active.confirmed || ws) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/mobile/api/audio");
    ws = socket;
    wsReady = false;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(JSON.stringify({token: device.token, press: active.key}));
    socket.onmessage = e => {
      if (typeof e.data !== "string") return;
      const msg = JSON.parse(e.data);
      if (msg.type === "ready") {
        wsReady = true;
        buffered.forEach(c => socket.send(c));
        buffered = [];
      } else if (msg.type === "end") {
        stopAll();
      }
    };
    socket.onclose = e => {
      if (ws === socket) { ws = null; wsReady = false; }
      if (e.code === 4401) { revoked(); return; }
      if (active && active.confirmed) setTimeout(connectAudio, 1000);
    };
  }

  function indicator(on) {
    document.body.dataset.mic = on ? "on" : "off";
    $("mic").hidden = !on || !active || active.silent;
  }

  function stopMic() {
    if (mic) {
      mic.stream.getTracks().forEach(t => t.stop());
      mic.ctx.close().catch(() => {});
      mic = null;
    }
    buffered = [];
    indicator(false);
  }

  function stopAll() {
    const wasSilent = active ? active.silent : true;
    active = null;
    box.set("press", null);
    clearTimeout(limitTimer);
    stopMic();
    if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
    if (ws) { const socket = ws; ws = null; socket.close(); }
    if (!wasSilent) say("Het alarm is afgehandeld.");
    show("ready");
  }

  function revoked() {
    stopAll();
    show("enrol");
    $("enrol-text").textContent = "Deze telefoon is afgemeld bij de meldkamer. Vraag een nieuwe koppeling aan.";
  }

  // -- start -------------------------------------------------------------------------------
  async function resume() {
    const saved = await box.get("press");
    if (!saved) return;
    let open = true;
    try {
      const resp = await fetch("/mobile/api/me", {headers: {"Authorization": "Bearer " + device.token}});
      if (resp.status === 401) { revoked(); return; }
      const me = await resp.json();
      open = !saved.confirmed || (me.open_press && me.open_press.key === saved.key);
    } catch (e) { /* offline: carry on as saved */ }
    if (!open || saved.micUntil <= Date.now()) { await box.set("press", null); return; }
    active = saved;
    if (!active.silent) show("sent");
    follow();
    startMic();
    connectAudio();
  }

  async function init() {
    if (navigator.serviceWorker) navigator.serviceWorker.register("/mobile/sw.js", {scope: "/mobile/"}).catch(() => {});
    if (location.hash.startsWith("#we_")) await enrol(location.hash.slice(1));
    device = await box.get("device");
    if (!device) { show("enrol"); return; }
    $("who").textContent = device.person;
    document.body.dataset.mode = device.silent ? "silent" : "normal";
    show("ready");
    setupHold();
    addEventListener("online", () => flushSoon(0));
    await resume();
    flushSoon(0);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
