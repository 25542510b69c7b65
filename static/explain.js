// Backprop Playground: the explain panels' clicks.
// - clicking an edge of the network drawing selects it for the chain-rule inspector and the
//   phase panel (PUT .../ui {edge: [layer, i, j]}); tooltip.js still opens the weight editor
//   and points the loss surface at it. The selected edge is outlined after every redraw.
// - the output plot's switch "click: trace an example | add points": in trace mode a click on
//   the plot makes the nearest training point the traced example (PATCH config.probe, a live
//   key: training goes on); in add mode data.js adds (shift: removes) points.
(function () {
  'use strict'

  function sid () { return document.body.dataset.sessionId }
  let selected = null // [layer, i, j] the page asked for

  function outline () {
    document.querySelectorAll('#network .edge.selected').forEach(function (e) { e.classList.remove('selected') })
    const box = document.querySelector('#chain-wrap .explain')
    const edge = selected || (box && box.dataset.edge ? JSON.parse(box.dataset.edge) : null)
    if (!edge) return
    const el = document.querySelector('#network line.edge[data-layer="' + edge[0] + '"][data-i="' + edge[1] + '"][data-j="' + edge[2] + '"]')
    if (el) el.classList.add('selected')
  }
  document.addEventListener('htmx:sseMessage', outline)
  document.addEventListener('bpp:swapped', outline)
  document.addEventListener('DOMContentLoaded', outline)

  document.addEventListener('click', function (evt) {
    const el = evt.target.closest && evt.target.closest('#network .edge')
    if (!el) return
    selected = [Number(el.dataset.layer), Number(el.dataset.i), Number(el.dataset.j)]
    outline()
    fetch('/api/sessions/' + sid() + '/ui', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ edge: selected })
    }).catch(function () {})
  })

  // ---- the output plot's click mode -----------------------------------------------------------
  function tracing () {
    const radio = document.getElementById('click-trace')
    return !!(radio && radio.checked)
  }
  function modeShown () {
    const box = document.getElementById('click-mode')
    if (box) box.hidden = !(document.getElementById('decision') && document.getElementById('points'))
    const panel = document.getElementById('output-panel')
    if (panel) panel.dataset.click = tracing() ? 'trace' : 'add'
  }
  document.addEventListener('htmx:sseMessage', modeShown)
  document.addEventListener('bpp:swapped', modeShown)
  document.addEventListener('DOMContentLoaded', modeShown)
  document.addEventListener('change', function (evt) {
    if (evt.target.name === 'click-mode') modeShown()
  })

  function note (text, bad) {
    const el = document.getElementById('point-note')
    const out = document.getElementById('probe-note')
    for (const e of [el, out]) {
      if (!e) continue
      e.textContent = text
      e.classList.toggle('error', !!bad)
    }
  }

  document.addEventListener('click', function (evt) {
    const img = evt.target.closest && evt.target.closest('#output-wrap img#decision')
    if (!img || !tracing()) return
    const points = document.getElementById('points')
    if (!points) return
    const box = img.getBoundingClientRect()
    const size = points.viewBox.baseVal.width || 300
    const px = (evt.clientX - box.left) / box.width * size
    const py = (evt.clientY - box.top) / box.height * size
    // the training points, drawn in the training set's order: the k-th is example k
    let best = -1
    let dist = Infinity
    points.querySelectorAll('circle').forEach(function (c, k) {
      if (c.getAttribute('class') !== 'pt') return
      const d = Math.hypot(Number(c.getAttribute('cx')) - px, Number(c.getAttribute('cy')) - py)
      if (d < dist) { dist = d; best = k }
    })
    if (best < 0) return
    fetch('/api/sessions/' + sid(), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ config: { probe: best } })
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(window.bppError(b, r.status)) })
      note(window.bppT('tracing', { index: best }))
    }).catch(function (e) { note(e.message, true) })
  })
})()
