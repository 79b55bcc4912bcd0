// The live console, on every signed-in page: alerting (sound per priority repeating until each
// alarm is acknowledged, louder for supervisors when nobody takes one in time; title flash;
// desktop notifications), the queue refreshed live, the alarm page updated in place (forms the
// operator is filling in survive; what is new is highlighted; its forms are sent in place, so
// nothing playing on the page, such as a listen-in, stops), and keyboard operation.
"use strict";
(function () {
  const FRESH_MS = 20000;        // how long something new stays highlighted
  const AGE_WARNING = 60, AGE_DANGER = 180;
  // per priority: [frequency Hz, seconds] beeps; hold-up urgent and high, fire a two-tone
  const PATTERNS = {
    1: [[1200, 0.12], [0, 0.06], [1200, 0.12], [0, 0.06], [1200, 0.12]],
    2: [[950, 0.2], [0, 0.1], [950, 0.2]],
    3: [[950, 0.2], [0, 0.1], [950, 0.2]],
    4: [[700, 0.18], [1000, 0.18], [700, 0.18], [1000, 0.18]],
    5: [[620, 0.3]],
    6: [[440, 0.25]],
    7: [[440, 0.25]],
  };
  const state = {ticks: 0, plays: [], alerts: null, notified: new Set(), flash: false};
  window.wachterAlerts = state;  // read by people debugging, and by the browser tests
  let audio = null;
  const baseTitle = document.title;

  // -- small helpers ---------------------------------------------------------------------------
  function csrf() {
    const field = document.querySelector("input[name=csrf]");
    return field ? field.value : "";
  }

  async function post(url, fields) {
    const body = new URLSearchParams(fields || {});
    const resp = await fetch(url, {
      method: "POST", body, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"},
    });
    if (resp.status === 401 || resp.redirected) { location.reload(); return null; }
    return resp.json();
  }

  // Runs ``fn`` at once; notices that come while it runs make one more run after it (a burst
  // costs two fetches, and the first alarm of a burst is shown without waiting).
  function coalesce(fn) {
    let running = false, again = false;
    return async () => {
      if (running) { again = true; return; }
      running = true;
      try {
        do { again = false; await fn(); } while (again);
      } finally { running = false; }
    };
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- sound -----------------------------------------------------------------------------------
  function ensureAudio() {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    const blocked = !audio || audio.state === "suspended";
    const banner = document.getElementById("sound-needed");
    if (banner) banner.hidden = !blocked;
    return !blocked;
  }

  function play(priority, loud) {
    state.plays.push({priority, loud, tick: state.ticks});
    if (!ensureAudio()) return;
    let at = audio.currentTime + 0.02;
    const gain = audio.createGain();
    gain.gain.value = loud ? 0.8 : 0.25;
    gain.connect(audio.destination);
    const pattern = PATTERNS[priority] || PATTERNS[7];
    for (const [freq, secs] of loud ? pattern.concat([[0, 0.1]], pattern) : pattern) {
      if (freq) {
        const osc = audio.createOscillator();
        osc.type = loud ? "square" : "sine";
        osc.frequency.value = freq;
        osc.connect(gain); osc.start(at); osc.stop(at + secs);
      }
      at += secs;
    }
  }

  // -- alerts ----------------------------------------------------------------------------------
  function notify(alarm) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(`P${alarm.priority} ${alarm.label} – ${alarm.name || alarm.site}`, {
      body: alarm.title, tag: `alarm-${alarm.id}`, requireInteraction: alarm.priority <= 2,
    });
    note.onclick = () => { window.focus(); location.href = `/alarms/${alarm.id}`; };
  }

  function renderBar(a) {
    const bar = document.getElementById("alert-bar");
    if (!bar) return;
    bar.replaceChildren();
    const lines = [];
    if (a.supervisor) a.supervisors.forEach(x => lines.push(["supervisors", x, `NOBODY TOOK IT: alarm ${x.id}`]));
    a.escalated.forEach(x => lines.push(["escalated", x, `ESCALATED: alarm ${x.id}`]));
    a.unacked.forEach(x => lines.push(["unacked", x, `NEW: P${x.priority}`]));
    for (const [kind, x, head] of lines) {
      const line = el("p", {class: `alert ${kind} p${x.priority}`, "data-id": x.id});
      line.append(el("strong", {}, head + " "), el("a", {href: `/alarms/${x.id}`},
        `${x.title} – ${x.name ? `${x.name} (${x.site})` : x.site}`));
      if (kind === "unacked") {
        const button = el("button", {type: "button", class: "ack-now", "data-id": x.id}, "Acknowledge");
        button.addEventListener("click", () => acknowledge(x.id));
        line.append(" ", button);
      }
      bar.append(line);
    }
    bar.hidden = lines.length === 0;
    const present = document.getElementById("present");
    if (present) present.textContent = "At consoles: " + a.present.map(p => `${p.name} (${p.role})`).join(", ");
  }

  async function refreshAlerts() {
    const resp = await fetch("/alerts", {credentials: "same-origin"});
    if (resp.status !== 200 || resp.redirected) return;
    const a = await resp.json();
    state.alerts = a;
    renderBar(a);
    a.unacked.forEach(x => { if (!state.notified.has(x.id)) { state.notified.add(x.id); notify(x); } });
  }

  function alertTick() {
    state.ticks += 1;
    document.body.dataset.alertTicks = String(state.ticks);
    const a = state.alerts;
    if (!a) return;
    const louder = a.supervisor ? a.supervisors : [];
    const waiting = a.unacked.concat(louder);
    if (waiting.length) {
      play(Math.min(...waiting.map(x => x.priority)), louder.length > 0);
      state.flash = !state.flash;
      const top = waiting.reduce((m, x) => (x.priority < m.priority ? x : m));
      document.title = `(${waiting.length}) ` + (state.flash ? `NEW ALARM – P${top.priority} ${top.label}` : baseTitle);
    } else if (document.title !== baseTitle) {
      document.title = baseTitle;
    }
  }

  async function acknowledge(id) {
    await post(`/alarms/${id}/ack`);
    await refreshAlerts();
  }

  // -- the queue -------------------------------------------------------------------------------
  function ages() {
    const now = Date.now();
    document.querySelectorAll("td.age[data-opened]").forEach(cell => {
      const age = Math.max(0, (now - Date.parse(cell.dataset.opened)) / 1000);
      const tr = cell.closest("tr");
      tr.classList.remove("age-new", "age-warning", "age-danger");
      tr.classList.add(age >= AGE_DANGER ? "age-danger" : age >= AGE_WARNING ? "age-warning" : "age-new");
      cell.textContent = age < 60 ? `${Math.floor(age)} s` : `${Math.floor(age / 60)} min ${Math.floor(age % 60)} s`;
    });
    document.querySelectorAll("[data-deadline] .left").forEach(left => {
      const due = Date.parse(left.closest("[data-deadline]").dataset.deadline);
      left.textContent = `${Math.max(0, Math.floor((due - now) / 1000))} s`;
    });
  }

  function queueRows() { return [...document.querySelectorAll("#queue-rows tr[data-id]")]; }

  function select(tr) {
    queueRows().forEach(r => r.classList.toggle("selected", r === tr));
    if (tr) { tr.focus({preventScroll: true}); tr.scrollIntoView({block: "nearest"}); }
  }

  async function refreshQueue(tbody, url) {
    const chosen = document.querySelector("#queue-rows tr.selected");
    const id = chosen ? chosen.dataset.id : null;
    const before = new Set(queueRows().map(tr => tr.dataset.id));
    const resp = await fetch(url, {credentials: "same-origin"});
    if (resp.status !== 200 || resp.redirected) { if (resp.redirected || resp.status === 401) location.reload(); return; }
    tbody.innerHTML = await resp.text();
    queueRows().forEach(tr => { if (!before.has(tr.dataset.id)) markFresh(tr); });
    if (id) select(document.querySelector(`#queue-rows tr[data-id="${id}"]`));
    wireAckForms(tbody);
    ages();
  }

  function wireAckForms(root) {
    root.querySelectorAll("form.ack").forEach(form => form.addEventListener("submit", ev => {
      ev.preventDefault();
      acknowledge(form.closest("tr").dataset.id);
    }));
  }

  // -- the alarm page, in place ----------------------------------------------------------------
  const lastParts = {};

  function markFresh(node) {
    node.classList.add("fresh");
    setTimeout(() => node.classList.remove("fresh"), FRESH_MS);
  }

  // A field is known by its form's action and hidden fields (which step, which number on a
  // call list: several forms share one action) and its name.
  function fieldKey(f) {
    const form = f.form;
    if (!form) return "|" + f.name;
    const which = [...form.querySelectorAll("input[type=hidden]:not([name=csrf])")]
      .map(h => `${h.name}=${h.value}`).join("&");
    return `${form.getAttribute("action")}?${which}|${f.name}`;
  }

  function dirtyFields(root) {
    const saved = [];
    root.querySelectorAll("input, select, textarea").forEach(f => {
      if (f.type === "hidden" || !f.name) return;
      const changed = f.tagName === "SELECT"
        ? [...f.options].some(o => o.selected !== o.defaultSelected)
        : f.value !== f.defaultValue;
      if (changed || f === document.activeElement) {
        saved.push({key: fieldKey(f), value: f.value, focus: f === document.activeElement});
      }
    });
    return saved;
  }

  function restoreFields(root, saved) {
    for (const s of saved) {
      const f = [...root.querySelectorAll("input, select, textarea")].find(x => fieldKey(x) === s.key);
      if (!f) continue;
      f.value = s.value;
      if (s.focus) f.focus({preventScroll: true});
      if (f.name === "outcome") filterReasons(f.form);
    }
  }

  // Nodes marked data-keep="<key>" are carried over as they are (with their listeners and
  // whatever they are playing) into the redrawn part, where a node with the same key stands;
  // "wachter:part" tells the scripts of other features' sections that a part was redrawn.
  function replacePart(section, html) {
    const keys = new Set([...section.querySelectorAll("[data-key]")].map(n => n.dataset.key));
    const kept = new Map([...section.querySelectorAll("[data-keep]")].map(n => [n.dataset.keep, n]));
    const saved = dirtyFields(section);
    section.innerHTML = html;
    section.querySelectorAll("[data-keep]").forEach(n => {
      const old = kept.get(n.dataset.keep);
      if (old) n.replaceWith(old);
    });
    restoreFields(section, saved);
    section.querySelectorAll("[data-key]").forEach(n => { if (!keys.has(n.dataset.key)) markFresh(n); });
    wirePart(section);
    document.dispatchEvent(new CustomEvent("wachter:part", {detail: {part: section.dataset.part}}));
  }

  function showError(alarm, text) {
    let box = document.getElementById("alarm-error");
    if (!box) {
      box = el("p", {id: "alarm-error", class: "error", role: "alert"});
      alarm.prepend(box);
    }
    box.textContent = text;
    box.hidden = !text;
  }

  // The alarm page's forms (take, steps, call outcomes, notes, close, ...) are sent in place:
  // the answer is JSON, the parts are redrawn, an error is shown above them.
  async function submitInPlace(alarm, ev) {
    const form = ev.target;
    const action = form.getAttribute("action") || "";
    if (form.method.toLowerCase() !== "post" || !action.startsWith(`/alarms/${alarm.dataset.id}/`)) return;
    ev.preventDefault();
    const resp = await fetch(action, {
      method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"},
    });
    if (resp.status === 401 || resp.redirected) { location.reload(); return; }
    let answer;
    try { answer = await resp.json(); } catch (e) { answer = {error: `not done (HTTP ${resp.status})`}; }
    const error = answer.error || (resp.ok ? "" : `not done (HTTP ${resp.status})`);
    showError(alarm, error);
    if (!error) form.reset();
    await refreshParts(alarm);
  }

  // ``only``: the parts to redraw (a notice about another feature's section redraws just
  // "more", so a form the operator is about to use elsewhere is never swapped under them)
  async function refreshParts(alarm, only) {
    const resp = await fetch(alarm.dataset.parts, {credentials: "same-origin"});
    if (resp.status !== 200 || resp.redirected) { if (resp.redirected || resp.status === 401) location.reload(); return; }
    const parts = await resp.json();
    for (const [name, html] of Object.entries(parts)) {
      if (only && !only.includes(name)) continue;
      const section = alarm.querySelector(`section[data-part="${name}"]`);
      if (!section || lastParts[name] === html) continue;
      lastParts[name] = html;
      replacePart(section, html);
    }
    alarm.dataset.updates = String(Number(alarm.dataset.updates || 0) + 1);
  }

  function filterReasons(form) {
    if (!form || !form.classList.contains("close-form")) return;
    const outcome = form.querySelector("select[name=outcome]").value;
    const reason = form.querySelector("select[name=reason]");
    reason.querySelectorAll("optgroup").forEach(g => { g.hidden = outcome !== "" && g.label !== outcome; });
    const chosen = reason.selectedOptions[0];
    if (chosen && chosen.dataset.outcome && chosen.dataset.outcome !== outcome) reason.value = "";
  }

  function wirePart(root) {
    root.querySelectorAll("form.close-form").forEach(form => {
      form.querySelector("select[name=outcome]").addEventListener("change", () => filterReasons(form));
      filterReasons(form);
    });
    root.querySelectorAll("a.thumb").forEach(a => a.addEventListener("click", ev => {
      const viewer = document.getElementById("viewer");
      if (!viewer || !viewer.showModal) return;
      ev.preventDefault();
      viewer.querySelector("img").src = a.href;
      viewer.querySelector(".caption").textContent = a.parentElement.querySelector("figcaption").textContent;
      viewer.showModal();
    }));
  }

  // -- keys ------------------------------------------------------------------------------------
  function typing(ev) {
    const t = ev.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function submitIn(root, action) {
    const form = root && root.querySelector(`form[action$="/${action}"]`);
    if (form) form.requestSubmit();
  }

  function onKey(ev) {
    if (ev.key === "Escape") {
      const help = document.getElementById("keys-help");
      if (help && !help.hidden) { help.hidden = true; return; }
      if (typing(ev)) ev.target.blur();
      return;
    }
    if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const nav = document.querySelector(`header nav a[data-key="${ev.key}"]`);
    const alarm = document.getElementById("alarm");
    const rows = queueRows();
    const chosen = document.querySelector("#queue-rows tr.selected");
    if (ev.key === "?") { const h = document.getElementById("keys-help"); h.hidden = !h.hidden; }
    else if (nav) { location.href = nav.getAttribute("href"); }
    else if (rows.length && ["j", "k", "ArrowDown", "ArrowUp"].includes(ev.key)) {
      const i = rows.indexOf(chosen), down = ev.key === "j" || ev.key === "ArrowDown";
      select(rows[Math.max(0, Math.min(rows.length - 1, i < 0 ? 0 : i + (down ? 1 : -1)))]);
    } else if (ev.key === "Enter" && chosen) { location.href = `/alarms/${chosen.dataset.id}`; }
    else if (ev.key === "a" && (chosen || alarm)) { acknowledge((chosen || alarm).dataset.id); }
    else if (ev.key === "t" && alarm) { submitIn(alarm, "take"); }
    else if (ev.key === "t" && chosen) {
      post(`/alarms/${chosen.dataset.id}/take`).then(() => { location.href = `/alarms/${chosen.dataset.id}`; });
    } else if (ev.key === "n" && alarm) {
      const note = alarm.querySelector("textarea[name=text]");
      if (note) { note.focus(); note.scrollIntoView({block: "center"}); }
    } else if (/^[1-9]$/.test(ev.key) && alarm) {
      const step = alarm.querySelector(`#plan li[data-step="${Number(ev.key) - 1}"]`);
      if (!step) return;
      step.scrollIntoView({block: "center"});
      const control = step.querySelector("select, input:not([type=hidden]), button");
      if (control) control.focus();
    } else { return; }
    ev.preventDefault();
  }

  // -- start -----------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    if (!document.body.dataset.user) return;  // the sign-in page
    ensureAudio();
    const wake = () => { if (audio && audio.state === "suspended") audio.resume().then(ensureAudio); };
    document.addEventListener("click", wake);
    document.addEventListener("keydown", wake);
    const soundOn = document.getElementById("sound-on");
    if (soundOn) soundOn.addEventListener("click", () => { ensureAudio(); wake(); });
    if ("Notification" in window && Notification.permission === "default") {
      const ask = el("button", {type: "button", id: "notify-on"}, "desktop notifications");
      ask.addEventListener("click", () => Notification.requestPermission().then(() => ask.remove()));
      document.querySelector("header").insertBefore(ask, document.querySelector("header .who"));
    }
    document.addEventListener("keydown", onKey);

    const table = document.getElementById("queue");
    const tbody = table ? table.querySelector("tbody") : null;
    const alarm = document.getElementById("alarm");
    if (tbody) wireAckForms(tbody);
    if (alarm) {
      alarm.querySelectorAll("section[data-part]").forEach(s => { lastParts[s.dataset.part] = null; });
      alarm.addEventListener("submit", ev => submitInPlace(alarm, ev));
      wirePart(alarm);
      const viewer = document.getElementById("viewer");
      if (viewer) viewer.querySelector(".close").addEventListener("click", () => viewer.close());
    }
    const alerts = coalesce(refreshAlerts);
    const queue = tbody ? coalesce(() => refreshQueue(tbody, table.dataset.live)) : null;
    const parts = alarm ? coalesce(() => refreshParts(alarm)) : null;
    const more = alarm ? coalesce(() => refreshParts(alarm, ["more"])) : null;
    const events = new EventSource("/live");
    events.addEventListener("open", () => { document.body.dataset.live = "open"; alerts(); });
    events.addEventListener("alarm", ev => {
      let notice = {};
      try { notice = JSON.parse(ev.data); } catch (e) { notice = {}; }
      if (notice.section !== undefined) {  // only an alarm page's section changed (a position)
        if (more && String(notice.section) === alarm.dataset.id) more();
        return;
      }
      alerts();
      if (queue) queue();
      if (parts) parts();
    });
    refreshAlerts();
    setInterval(alertTick, Number(document.body.dataset.alertEvery) || 2000);  // alerting.repeat_every
    ages(); setInterval(ages, 1000);
  });
})();
