// The replay scrubber (<section id="replay"> in the run bar; app/page/replay_view.py).
// While the session is paused, dragging the slider asks the server to show that step: it
// re-trains the step from its nearest keyframe and sends the page a frame of it over the page
// stream, so the drawing, counters and output panel show that step's numbers. One request at
// a time; a drag's newest position is sent when the previous answer is in. "back to now"
// shows the live trainer again; "continue from here" forks a new session at the step shown
// (POST /fork) and opens it. A live change (a step, play, reset) ends the scrub by itself.
(function () {
  'use strict'
  let busy = false
  let wanted = null // the step to show next (null: none pending)
  let shown = null // the step the server last showed (null: the live one)
  let asked = null // the step of the request under way (its frame may come before its answer)

  function el (id) { return document.getElementById(id) }
  function sid () { return document.body.dataset.sessionId }

  function note (text) {
    const p = el('replay-note')
    if (p) p.textContent = text
  }

  function setShown (step) {
    shown = step
    const box = el('replay')
    box.classList.toggle('is-scrubbed', step !== null)
    el('replay-live').disabled = step === null
    el('replay-at').textContent = String(step === null ? el('replay-step').max : step)
  }

  function put (step) {
    return fetch('/api/sessions/' + sid() + '/replay-view', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ step: step })
    }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j } }) })
  }

  function send (step) {
    wanted = step
    if (busy) return
    busy = true
    wanted = null
    asked = step
    put(step).then(function (res) {
      if (!res.ok) {
        note(res.j.detail ? window.bppError(res.j, 422) : window.bppT('replay_failed'))
        return
      }
      if (res.j.live) {
        setShown(null)
        note(window.bppT('replay_now', { step: res.j.step }))
      } else {
        setShown(res.j.step)
        note(window.bppT('replay_step', { step: res.j.step, last: res.j.last, keyframe: res.j.keyframe }))
      }
    }).catch(function () {
      note(window.bppT('no_answer'))
    }).finally(function () {
      busy = false
      asked = null
      if (wanted !== null) send(wanted)
    })
  }

  // the live step from the counters region, unless it shows the replayed one
  function syncLive () {
    const counter = el('iteration')
    const input = el('replay-step')
    if (!counter || !input) return
    const now = parseInt(counter.textContent, 10)
    if (!isFinite(now) || now === shown || now === asked || wanted !== null) return
    shown = null
    input.max = String(now)
    input.value = String(now)
    setShown(null)
  }

  function syncStatus () {
    const status = el('status')
    const box = el('replay')
    if (!status || !box) return
    const running = status.dataset.status === 'running'
    box.classList.toggle('is-running', running)
    el('replay-fork').disabled = running
    if (running) {
      shown = null
      note(window.bppT('replay_pause'))
    }
  }

  function start () {
    const input = el('replay-step')
    if (!input) return
    input.addEventListener('input', function () {
      el('replay-at').textContent = input.value
      send(parseInt(input.value, 10))
    })
    el('replay-live').addEventListener('click', function () {
      input.value = input.max
      send(null)
    })
    el('replay-fork').addEventListener('click', function () {
      const step = parseInt(input.value, 10)
      fetch('/api/sessions/' + sid() + '/fork', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ step: step })
      }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j } }) })
        .then(function (res) {
          if (res.ok) window.location.assign('/?s=' + encodeURIComponent(res.j.id))
          else note(res.j.detail ? window.bppError(res.j, 422) : window.bppT('fork_failed'))
        })
    })
    // the counters and the status are swapped in by the page stream: follow them
    const watch = new MutationObserver(function () { syncLive(); syncStatus() })
    for (const id of ['counters', 'status-wrap']) {
      const node = el(id)
      if (node) watch.observe(node, { childList: true, subtree: true, characterData: true })
    }
    syncLive()
    syncStatus()
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
