// The lesson panel's helpers and the run bar's budget (the panel itself is the server's
// "lesson" region: app/page/lesson_view.py).
// - the step's "watch" element gets the .lesson-watch outline, moved when the step changes;
// - the header's lesson and preset menus: one open at a time;
// - "run N epochs | iterations" posts one run with that budget at the chosen speed;
// - the train : test slider's words follow the slider while it is dragged, with the rows each
//   part gets, counted as the engine counts them (engine/datasets/split.py: val and test
//   rounded half up, train the rest).
(function () {
  'use strict'

  function watch () {
    const box = document.getElementById('lesson')
    const want = box && !box.hidden ? box.dataset.watch : ''
    document.querySelectorAll('.lesson-watch').forEach(function (e) {
      if (e.id !== want) e.classList.remove('lesson-watch')
    })
    const target = want ? document.getElementById(want) : null
    if (target) target.classList.add('lesson-watch')
  }
  document.addEventListener('DOMContentLoaded', watch)
  document.addEventListener('htmx:afterSettle', function (evt) {
    if (evt.target.id === 'lesson-wrap') watch()
  })

  function runBudget (button) {
    const n = parseInt(document.getElementById('budget-n').value, 10)
    const unit = document.getElementById('budget-unit').value
    const speed = document.getElementById('speed').value
    const body = {}
    body[unit] = n
    if (speed) body.speed = parseFloat(speed)
    button.disabled = true
    fetch('/api/sessions/' + encodeURIComponent(button.dataset.sid) + '/run', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) return null
      return r.json().then(function (err) { window.bppSay(window.bppError(err, r.status)) })
    }).catch(function () {}).finally(function () { button.disabled = false })
  }
  document.addEventListener('click', function (evt) {
    const b = evt.target.closest && evt.target.closest('#run-budget')
    if (b) runBudget(b)
  })

  // the header's menus: one open at a time, closed by a click elsewhere or Escape
  document.addEventListener('toggle', function (evt) {
    const d = evt.target
    if (!d.classList || !d.classList.contains('menu') || !d.open) return
    document.querySelectorAll('details.menu[open]').forEach(function (o) { if (o !== d) o.open = false })
  }, true)
  document.addEventListener('click', function (evt) {
    if (evt.target.closest && evt.target.closest('details.menu')) return
    document.querySelectorAll('details.menu[open]').forEach(function (o) { o.open = false })
  })
  document.addEventListener('keydown', function (evt) {
    if (evt.key === 'Escape') document.querySelectorAll('details.menu[open]').forEach(function (o) { o.open = false })
  })

  function splitWords (slider) {
    const out = document.getElementById('train-ratio-out')
    const n = out ? parseInt(out.dataset.n, 10) : NaN
    if (!out || !(n > 0)) return
    const r = Math.round(parseFloat(slider.value) * 1000) / 1000
    const val = Math.round((1 - r) / 2 * 1000) / 1000
    const test = Math.round((1 - r - val) * 1000) / 1000
    const nVal = Math.floor(n * val + 0.5)
    const nTest = Math.floor(n * test + 0.5)
    const rows = { train: n - nVal - nTest, val: nVal, test: nTest }
    const pct = [r, val, test].map(function (f) { return Math.round(f * 100) }).join(' : ')
    out.textContent = pct + ' ' + out.dataset.words.replace(/\{(\w+)\}/g, function (_, k) { return rows[k] })
  }
  document.addEventListener('input', function (evt) {
    if (evt.target.id === 'train-ratio') splitWords(evt.target)
  })
})()
