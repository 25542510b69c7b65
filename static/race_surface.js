// The race page's loss-surface panel (templates/race.html #race-surface): "compute" fetches the
// map (/api/races/{id}/surface.html: contours, every run's path and point, a legend); then the
// paths follow the runs from /api/races/{id}/surface/paths on the same plane, fetched when the
// step counter (#race-steps, written by race.js from the race's stream) changes, at most every
// 0.5 s. The contours stay until the next compute.
"use strict";
(function () {
  const PERIOD = 500;

  function start(root) {
    const id = root.dataset.raceId;
    const form = document.getElementById("race-surface-form");
    const select = document.getElementById("race-surface-directions");
    const out = document.getElementById("race-surface-out");
    const status = document.getElementById("race-surface-status");
    const steps = document.querySelector("#race-steps b");
    let ready = false, busy = false, again = false, last = 0, timer = 0;

    function compute(ev) {
      ev.preventDefault();
      status.textContent = window.bppT("computing");
      ready = false;
      fetch(`/api/races/${id}/surface.html?directions=${encodeURIComponent(select.value)}`,
        { credentials: "same-origin" })
        .then(async (r) => {
          if (!r.ok) {
            const body = await r.json().catch(() => ({}));
            status.textContent = window.bppError(body, r.status);
            return;
          }
          out.innerHTML = await r.text();
          status.textContent = "";
          ready = true;
          out.dataset.state = "ready";
        });
    }

    function xy(svg, a, b) {
      const d = svg.dataset, m = Number(d.m), size = Number(d.size);
      const clip = (v) => (isFinite(v) ? Math.min(Math.max(v, m), size - m) : size / 2);
      const x = m + (size - 2 * m) * (a - Number(d.a0)) / (Number(d.a1) - Number(d.a0));
      const y = size - m - (size - 2 * m) * (b - Number(d.b0)) / (Number(d.b1) - Number(d.b0));
      return [clip(x), clip(y)];
    }

    function draw(runs) {
      const svg = document.getElementById("race-surface-map");
      if (!svg) return;
      for (const run of runs) {
        const line = svg.querySelector(`.race-path[data-run="${run.index}"]`);
        const dot = svg.querySelector(`.race-point[data-run="${run.index}"]`);
        if (line && run.path) {
          line.setAttribute("points", run.path.filter((p) => p && p[0] !== null && p[1] !== null)
            .map((p) => xy(svg, p[0], p[1]).map((v) => v.toFixed(1)).join(",")).join(" "));
        }
        if (dot && run.current && run.current[0] !== null && run.current[1] !== null) {
          const [x, y] = xy(svg, run.current[0], run.current[1]);
          dot.setAttribute("cx", x.toFixed(1));
          dot.setAttribute("cy", y.toFixed(1));
          dot.dataset.alpha = String(run.current[0]);
          dot.dataset.beta = String(run.current[1]);
        }
      }
    }

    function follow() {
      timer = 0;
      if (!ready) return;
      if (busy) { again = true; return; }
      busy = true; last = performance.now();
      fetch(`/api/races/${id}/surface/paths`, { credentials: "same-origin" })
        .then(async (r) => {
          if (r.ok) draw((await r.json()).runs);
          else if (r.status === 409) status.textContent = window.bppT("race_reset");
        })
        .finally(() => {
          busy = false;
          if (again) { again = false; soon(); }
        });
    }

    function soon() {
      if (timer) return;
      timer = setTimeout(follow, Math.max(0, PERIOD - (performance.now() - last)));
    }

    form.addEventListener("submit", compute);
    if (steps) new MutationObserver(soon).observe(steps, { childList: true, characterData: true, subtree: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("race");
    if (root && document.getElementById("race-surface-form")) start(root);
  });
})();
