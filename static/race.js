// The race page (templates/race.html, app/page/race_view.py): one EventSource on the race's
// stream (/api/races/{id}/events), a loss chart with a line per run (train solid, test dashed),
// the legend's status words, the "steps to reach loss X" table, the buttons, and the small
// multiples refreshed about once a second while the race runs.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 640, H = 300, L = 56, R = 12, T = 12, B = 34;

  function boot(el) {
    const body = JSON.parse(el.dataset.boot);
    fetch("/api/races", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then(async (r) => {
      const data = await r.json();
      if (r.status === 201) { location.replace("/race/" + data.id); return; }
      el.textContent = window.bppT("race_failed", { why: window.bppError(data, r.status) });
    });
  }

  function start(root) {
    const id = root.dataset.raceId;
    const meta = JSON.parse(root.dataset.runs);
    const runs = meta.map(() => ({ gen: -1, points: [], status: "", step: 0, loss: null }));
    const chart = document.getElementById("race-chart");
    const logBox = document.getElementById("race-log");
    const testBox = document.getElementById("race-show-test");
    const xInput = document.getElementById("race-x");
    let xTouched = false, drawQueued = false, lastMultiples = 0, fetching = false;

    function el(name, attrs, text) {
      const e = document.createElementNS(SVG, name);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      return e;
    }
    function fmt(v) {
      if (v === null || v === undefined || !isFinite(v)) return "–";
      const a = Math.abs(v);
      return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(3);
    }

    function draw() {
      drawQueued = false;
      const log = logBox.checked, withTest = testBox.checked;
      const ys = [];
      let maxStep = 1;
      runs.forEach((r) => r.points.forEach((p) => {
        if (p.step > maxStep) maxStep = p.step;
        for (const v of withTest ? [p.train, p.test] : [p.train]) {
          if (v !== null && isFinite(v) && (!log || v > 0)) ys.push(v);
        }
      }));
      chart.replaceChildren(el("rect", { class: "plot", x: L, y: T, width: W - L - R, height: H - T - B }));
      if (!ys.length) {
        chart.append(el("text", { class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle" },
          window.bppT("no_loss_yet")));
        return;
      }
      const f = log ? (v) => Math.log10(v) : (v) => v;
      let lo = Infinity, hi = -Infinity;
      for (const v of ys) { const g = f(v); if (g < lo) lo = g; if (g > hi) hi = g; }
      if (!log) lo = Math.min(0, lo);
      if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
      const x1 = maxStep;
      const px = (s) => L + (s / x1) * (W - L - R);
      const py = (v) => T + (1 - (f(v) - lo) / (hi - lo)) * (H - T - B);
      // log: ticks at whole powers of ten (at most 6); linear: 5 even ticks
      const ticks = [];
      if (log) {
        const a = Math.ceil(lo), b = Math.floor(hi), by = Math.max(1, Math.ceil((b - a + 1) / 6));
        for (let g = a; g <= b; g += by) ticks.push(g);
      } else {
        for (let i = 0; i <= 4; i++) ticks.push(lo + (i / 4) * (hi - lo));
      }
      for (const g of ticks) {
        const y = T + (1 - (g - lo) / (hi - lo)) * (H - T - B);
        chart.append(el("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
        chart.append(el("text", { class: "axis", x: L - 4, y: y + 3 }, log ? "1e" + g : fmt(g)));
      }
      chart.append(el("text", { class: "axis", x: L, y: H - B + 14, "text-anchor": "start" }, "0"));
      chart.append(el("text", { class: "axis", x: W - R, y: H - B + 14 }, String(x1)));
      chart.append(el("text", { class: "axis", x: (W + L) / 2, y: H - 6, "text-anchor": "middle" },
        window.bppT("step_axis")));
      runs.forEach((r, i) => {
        for (const key of withTest ? ["train", "test"] : ["train"]) {
          let pts = r.points.filter((p) => p[key] !== null && isFinite(p[key]) && (!log || p[key] > 0));
          const every = Math.ceil(pts.length / 800);
          if (every > 1) pts = pts.filter((p, k) => k % every === 0 || k === pts.length - 1);
          if (!pts.length) continue;
          const d = pts.map((p, k) => (k ? "L" : "M") + px(p.step).toFixed(1) + " " + py(p[key]).toFixed(1)).join("");
          chart.append(el("path", {
            class: "race-line " + key, d, stroke: meta[i].colour, "data-run": i, "data-kind": key,
          }));
        }
      });
    }
    function queue() { if (!drawQueued) { drawQueued = true; requestAnimationFrame(() => { draw(); table(); }); } }

    function reach(points, key, x) {
      for (const p of points) if (p[key] !== null && p[key] <= x) return p.step;
      return null;
    }
    function table() {
      if (!xTouched) {
        const first = runs.map((r) => r.points[0]).filter((p) => p && p.train !== null);
        xInput.value = first.length ? fmt(Math.max(...first.map((p) => p.train)) / 2) : "";
      }
      const x = parseFloat(xInput.value);
      runs.forEach((r, i) => {
        const row = document.querySelector(`#race-table tr[data-run="${i}"]`);
        const train = isFinite(x) ? reach(r.points, "train", x) : null;
        const test = isFinite(x) ? reach(r.points, "test", x) : null;
        row.querySelector(".reach-train").textContent = train === null ? window.bppT("not_yet") : String(train);
        row.querySelector(".reach-test").textContent = test === null ? window.bppT("not_yet") : String(test);
        const last = r.points[r.points.length - 1];
        row.querySelector(".loss-now").textContent = last ? fmt(last.train) : "–";
      });
    }

    function take(run, records) {
      const r = runs[run];
      for (const rec of records) {
        if (rec.generation !== r.gen) {
          if (rec.generation < r.gen) continue;
          r.gen = rec.generation; r.points = [];
        }
        // train: every step's batch loss (full resolution); test: the full-set metric rows
        r.points.push({ step: rec.step, train: rec.loss === undefined ? null : rec.loss,
          test: rec.metrics && rec.metrics.test ? rec.metrics.test.loss : null });
      }
      // a long run: keep every other step's batch loss (and every test point), so the page
      // holds at most ~20k points per run
      if (r.points.length > 20000) r.points = r.points.filter((p, k) => k % 2 === 0 || p.test !== null);
      queue();
    }
    function frame(d) {
      const alive = d.steps.filter((s) => s !== null);
      document.querySelector("#race-steps b").textContent = alive.length
        ? (Math.min(...alive) === Math.max(...alive) ? String(alive[0]) : Math.min(...alive) + "–" + Math.max(...alive))
        : "–";
      d.status.forEach((st, i) => {
        const li = document.querySelector(`.race-run[data-run="${i}"]`);
        const span = li.querySelector(".race-status");
        span.dataset.status = st;
        span.textContent = window.bppT("status_" + st) + (d.steps[i] !== null ? " · " + window.bppT("step_n", { n: d.steps[i] }) : "");
        li.querySelector(".race-alert").textContent = st === "diverged" ? window.bppT("race_diverged") : "";
        if (d.generation[i] !== null && d.generation[i] > runs[i].gen) { runs[i].gen = d.generation[i]; runs[i].points = []; queue(); }
      });
      const running = d.status.includes("running");
      const now = performance.now();
      if (running && now - lastMultiples > 1000) multiples();
      root.dataset.running = running ? "true" : "false";
    }
    function multiples() {
      if (fetching) return;
      fetching = true; lastMultiples = performance.now();
      fetch(`/api/races/${id}/multiples.html`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => { if (html !== null) document.getElementById("race-multiples").innerHTML = html; })
        .finally(() => { fetching = false; });
    }

    const source = new EventSource(`/api/races/${id}/events?after=0`);
    source.addEventListener("step", (e) => { const d = JSON.parse(e.data); take(d.run, d.records); });
    source.addEventListener("frame", (e) => frame(JSON.parse(e.data)));
    source.addEventListener("close", () => source.close());

    root.querySelectorAll("#race-bar button[data-act]").forEach((b) => b.addEventListener("click", () => {
      const act = b.dataset.act;
      const body = act === "run" ? { steps: 1000000 } : act === "step" ? { count: Number(b.dataset.count) } : null;
      fetch(`/api/races/${id}/${act}`, {
        method: "POST", credentials: "same-origin",
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      }).then(() => multiples());
    }));
    logBox.addEventListener("change", queue);
    testBox.addEventListener("change", queue);
    xInput.addEventListener("input", () => { xTouched = true; table(); });
    queue();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const b = document.getElementById("race-boot");
    if (b) boot(b);
    const root = document.getElementById("race");
    if (root) start(root);
  });
})();
