// Live console: refresh the queue on every alarm notice, beep on a new alarm, colour by age.
"use strict";
(function () {
  const AGE_WARNING = 60, AGE_DANGER = 180;
  let audio = null, known = null;

  function beep() {
    if (!audio) return;
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.2;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.35);
  }

  function ids(tbody) {
    return new Set([...tbody.querySelectorAll("tr[data-id]")].map(tr => tr.dataset.id));
  }

  function ages() {
    const now = Date.now();
    document.querySelectorAll("tr[data-opened]").forEach(tr => {
      const age = Math.max(0, (now - Date.parse(tr.dataset.opened)) / 1000);
      tr.classList.remove("age-new", "age-warning", "age-danger");
      tr.classList.add(age >= AGE_DANGER ? "age-danger" : age >= AGE_WARNING ? "age-warning" : "age-new");
      const cell = tr.querySelector("td.age");
      if (cell) cell.textContent = Math.floor(age / 60) + "m " + Math.floor(age % 60) + "s";
    });
  }

  async function refreshQueue(tbody, url) {
    const resp = await fetch(url, {credentials: "same-origin"});
    if (resp.status !== 200) { if (resp.redirected || resp.status === 401) location.reload(); return; }
    tbody.innerHTML = await resp.text();
    const now = ids(tbody);
    if (known && [...now].some(id => !known.has(id))) beep();
    known = now; ages();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const sound = document.getElementById("sound");
    if (sound) sound.addEventListener("click", () => {
      audio = audio || new AudioContext(); beep(); sound.textContent = "sound on";
    });
    document.addEventListener("click", () => { if (!audio && window.AudioContext) audio = new AudioContext(); }, {once: true});
    const table = document.getElementById("queue"), alarm = document.getElementById("alarm");
    if (!table && !alarm) return;
    const tbody = table ? table.querySelector("tbody") : null;
    if (tbody) known = ids(tbody);
    const events = new EventSource("/live");
    events.addEventListener("alarm", msg => {
      if (tbody) { refreshQueue(tbody, table.dataset.live); return; }
      const notice = JSON.parse(msg.data);
      const busy = document.activeElement && document.activeElement.tagName === "TEXTAREA";
      if (alarm && String(notice.alarm) === alarm.dataset.id && !busy) location.reload();
    });
    ages(); setInterval(ages, 1000);
  });
})();
