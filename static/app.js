// Backprop Playground: the little the page needs beyond htmx and CSS.
// - "bpp-config": an htmx extension that sends controls as nested JSON
//   (name="config.optimizer.lr" -> {"config": {"optimizer": {"lr": 0.03}}}), typed.
// - boot: after POST /api/sessions, open the session's page (/?s=<id>).
// - image preloading before a region swap (no flicker), edges easing to their new widths,
//   typed values kept through a redraw of the controls, the classroom share link, import.
// (Data editing: static/data.js; tooltips and the weight editor: static/tooltip.js.)
(function () {
  'use strict'

  function setPath (obj, path, value) {
    const keys = path.split('.')
    let cur = obj
    for (let i = 0; i < keys.length - 1; i++) {
      const k = /^\d+$/.test(keys[i]) ? +keys[i] : keys[i]
      if (cur[k] === undefined || cur[k] === null) cur[k] = /^\d+$/.test(keys[i + 1]) ? [] : {}
      cur = cur[k]
    }
    const last = keys[keys.length - 1]
    cur[/^\d+$/.test(last) ? +last : last] = value
  }

  function merge (into, from) {
    Object.keys(from).forEach(function (k) {
      const v = from[k]
      if (v && typeof v === 'object' && !Array.isArray(v) && into[k] && typeof into[k] === 'object') {
        merge(into[k], v)
      } else {
        into[k] = v
      }
    })
    return into
  }

  function valueOf (e) {
    const enc = e.dataset.encode
    if (enc === 'split') {
      const r = Math.round(parseFloat(e.value) * 1000) / 1000
      const val = Math.round((1 - r) / 2 * 1000) / 1000
      return { train: r, val: val, test: Math.round((1 - r - val) * 1000) / 1000 }
    }
    if (enc === 'reseed') return (parseInt(e.value, 10) || 0) + 1
    if (enc === 'index') return e.value.split(',').filter(Boolean).map(Number)
    if (e.type === 'checkbox') return e.checked
    if (e.dataset.type === 'int') return parseInt(e.value, 10)
    if (e.type === 'number' || e.type === 'range') return e.value === '' ? null : parseFloat(e.value)
    return e.value
  }

  function fieldsOf (elt) {
    let els = elt.tagName === 'FORM' ? Array.from(elt.elements) : [elt]
    const inc = elt.getAttribute('hx-include')
    if (inc) els = els.concat(Array.from(document.querySelectorAll(inc)))
    return els.filter(function (e) { return e.name })
  }

  htmx.defineExtension('bpp-config', {
    onEvent: function (name, evt) {
      if (name === 'htmx:configRequest') evt.detail.headers['Content-Type'] = 'application/json'
    },
    encodeParameters: function (xhr, parameters, elt) {
      xhr.overrideMimeType('text/json')
      const body = elt.dataset.base ? JSON.parse(elt.dataset.base) : {}
      fieldsOf(elt).forEach(function (e) {
        if (e.name.endsWith('[]')) {
          const all = document.querySelectorAll('[name="' + e.name + '"]')
          setPath(body, e.name.slice(0, -2),
            Array.from(all).filter(function (x) { return x.checked }).map(function (x) { return x.value }))
          return
        }
        // an emptied optional number (clip norm) says "off"; other empty fields say nothing
        if (e.dataset.encode === 'nullable' && e.value === '') { setPath(body, e.name, null); return }
        const v = valueOf(e)
        if (v !== null && !(typeof v === 'number' && isNaN(v))) setPath(body, e.name, v)
      })
      const vals = elt.getAttribute('hx-vals')
      if (vals) merge(body, JSON.parse(vals))
      return JSON.stringify(body)
    }
  })

  function sid () { return document.body.dataset.sessionId }

  window.bppSay = function (text) { say(text) } // static/lesson.js reports refusals here
  function say (text) {
    const box = document.getElementById('status-wrap')
    if (!box) return
    let err = box.querySelector('.error')
    if (!err) { err = document.createElement('span'); err.className = 'error'; box.appendChild(err) }
    err.textContent = ' ' + text
  }

  // ---- boot: the session exists -> show its page ------------------------------------------
  document.addEventListener('htmx:afterRequest', function (evt) {
    const elt = evt.detail.elt
    const xhr = evt.detail.xhr
    if (elt.id === 'boot' && evt.detail.successful) {
      const id = JSON.parse(xhr.responseText).id
      const hide = elt.dataset.hide ? '&hide=' + encodeURIComponent(elt.dataset.hide) : ''
      const lesson = elt.dataset.lesson ? '&lesson=' + encodeURIComponent(elt.dataset.lesson) : ''
      // the link's page settings (view, show test data…): app/page/routes.py checks them
      const ui = (elt.dataset.ui || '').replace(/[^\w&=.-]/g, '')
      window.location.replace('/?s=' + encodeURIComponent(id) + hide + lesson + ui)
    } else if (elt.id === 'weight-editor' && evt.detail.successful) {
      elt.hidden = true
    }
  })

  // ---- what the server said to a request of the page's own controls ----------------------
  // Followed on the request itself (its XHR), not by htmx's after-request events: those fire on
  // the control that sent it, and when a redraw of its region replaced the control first (an
  // accepted change's new controls come on the stream and can arrive before its answer), they
  // never reach the document: a refusal then stayed on screen after the accepted change.
  document.addEventListener('htmx:beforeRequest', function (evt) {
    const xhr = evt.detail.xhr
    const elt = evt.detail.elt
    const verb = evt.detail.requestConfig && evt.detail.requestConfig.verb
    const sent = elt && 'value' in elt ? elt.value : null
    xhr.addEventListener('loadend', function () {
      if (!xhr.status) return // not answered (aborted, offline): htmx says so
      if (xhr.status < 400) {
        if (verb !== 'get') unsay() // an accepted change: the last refusal no longer applies
        return
      }
      let body = {}
      try { body = JSON.parse(xhr.responseText) || {} } catch (e) {}
      say(body.detail || body.code ? window.bppError(body, xhr.status) : window.bppT('request_failed', { status: xhr.status }))
      // a value typed since this request left waits to be sent (htmx queues it): keep it
      if (sent === null || elt.value === sent) revert(elt)
    })
  })
  function unsay () {
    const err = document.querySelector('#status-wrap .error')
    if (err) err.textContent = ''
  }
  // a change the server refused: the control shows the value the server kept, which is the
  // one it rendered the control with (its default value); a control a redraw has replaced
  // already shows it
  function revert (elt) {
    if (!elt || !elt.matches || !elt.matches('input, select') || !elt.isConnected) return
    if (elt.type === 'checkbox' || elt.type === 'radio') elt.checked = elt.defaultChecked
    else if (elt.tagName === 'SELECT') {
      for (const o of elt.options) o.selected = o.defaultSelected
    } else if (elt.type !== 'file') elt.value = elt.defaultValue
    if (elt.id === 'lr') elt.dispatchEvent(new Event('input', { bubbles: true })) // the slider follows
  }

  document.addEventListener('change', function (evt) {
    const t = evt.target
    if (t.id === 'view') chosenView = [t.value, Date.now()]
    if (t.id === 'speed') {
      const body = { steps: 1000000 }
      if (t.value) body.speed = parseFloat(t.value)
      document.getElementById('play').setAttribute('hx-vals', JSON.stringify(body))
    }
    if (t.id === 'classroom' || t.classList.contains('hide-choice')) shareLink()
    if (t.id === 'import') importSession(t)
  })

  // ---- swaps: preload the pictures a fragment points at, newest fragment wins --------------
  // The network drawing is always swapped here: its edges then grow or shrink to their new
  // widths (a CSS transition, see swapNetwork) instead of jumping.
  // Pictures: a fragment waits until the PNGs it points at are loaded (no half-drawn frame);
  // each URL loads once, and ones already loaded do not delay anything.
  const loadedPngs = new Set()
  const loadingPngs = new Map()
  function loadPng (u) {
    if (loadedPngs.has(u)) return Promise.resolve()
    let p = loadingPngs.get(u)
    if (!p) {
      p = new Promise(function (resolve) {
        const img = new Image()
        img.onload = function () {
          if (loadedPngs.size > 200) loadedPngs.clear()
          loadedPngs.add(u)
          resolve()
        }
        img.onerror = resolve
        img.src = u
      }).then(function () { loadingPngs.delete(u) })
      loadingPngs.set(u, p)
    }
    return p
  }
  // Network drawings keep their order while their pictures load (a newer one pointing at the
  // same new picture used to replace the one before it); one two places behind the newest
  // is dropped. Other regions show only their newest fragment.
  const pending = {}
  let netChain = Promise.resolve()
  let netSeq = 0
  document.addEventListener('htmx:sseBeforeMessage', function (evt) {
    const data = evt.detail.data || ''
    const target = evt.detail.elt || evt.target
    const network = target.id === 'network-wrap'
    if (target.id === 'counters') { // 30 a second, plain text: no htmx processing needed
      evt.preventDefault()
      target.innerHTML = data
      return
    }
    const key = target.id
    const after = function () {
      syncView()
      document.dispatchEvent(new CustomEvent('bpp:swapped', { detail: { id: key } }))
    }
    if (CONTROLS.includes(key) && keepEditing(target, data)) {
      evt.preventDefault()
      after()
      return
    }
    const urls = Array.from(data.matchAll(/(?:src|href)="(\/api\/sessions\/[^"]+\.png\?v=\d+)"/g))
      .map(function (m) { return m[1] }).filter(function (u) { return !loadedPngs.has(u) })
    if (!urls.length && !network) return
    evt.preventDefault()
    const loaded = function () { return Promise.all(urls.map(loadPng)) }
    if (network) {
      const n = ++netSeq
      netChain = netChain.then(loaded).then(function () {
        if (netSeq - n < 2) offerNetwork(target, data, after)
      }).catch(function (err) { console.error(err) }) // one failure must not end the chain
      return
    }
    const token = {}
    pending[key] = token
    loaded().then(function () {
      if (pending[key] !== token) return
      htmx.swap(target, data, { swapStyle: 'innerHTML' })
      after()
    })
  })

  // Control regions are re-rendered when the config changes (another field's change applied,
  // another tab, a reset). A number the learner is typing into at that moment keeps what they
  // typed, and the focus: leaving the field then sends it as usual.
  // (Typed fields only: a file picker's value cannot be set, and a slider mid-drag is lost
  // with its element anyway; a half-typed number such as "1e" has no value to keep.)
  const CONTROLS = ['data-controls', 'layer-controls', 'train-controls']
  const TYPED = ['text', 'number', 'search']
  function keepEditing (target, html) {
    const a = document.activeElement
    if (!a || !a.id || !target.contains(a) || a.tagName !== 'INPUT' || !TYPED.includes(a.type) ||
        a.value === a.defaultValue || a.validity.badInput) return false
    const typed = a.value
    htmx.swap(target, html, { swapStyle: 'innerHTML' })
    const b = document.getElementById(a.id)
    if (b && b.tagName === 'INPUT' && TYPED.includes(b.type)) {
      b.value = typed
      b.dispatchEvent(new Event('input', { bubbles: true })) // the lr slider follows #lr
      b.focus()
      // a value set by script fires no change on leaving the field: send it then ourselves,
      // unless the learner's own edits fire one first (change comes before blur)
      const send = function () { if (b.value !== b.defaultValue) htmx.trigger(b, 'change') }
      b.addEventListener('blur', send, { once: true })
      b.addEventListener('change', function () { b.removeEventListener('blur', send) }, { once: true })
    }
    return true
  }

  // The network drawing is swapped in animation-frame callbacks, one per displayed frame:
  // two drawings arriving between the same two paints would otherwise show only the second.
  // At most two wait (the next one and the newest), so frames are dropped, never queued.
  const netQueue = []
  function offerNetwork (target, html, after) {
    netQueue.push([target, html, after])
    if (netQueue.length > 2) netQueue.splice(1, 1)
    if (netQueue.length === 1) requestAnimationFrame(networkTick)
  }
  function networkTick () {
    const w = netQueue.shift()
    try {
      swapNetwork(w[0], w[1])
      w[2]()
    } finally { // a failed drawing must not stop the ones after it
      if (netQueue.length) requestAnimationFrame(networkTick)
    }
  }

  // Swap in a new network drawing; unless a run streams (a frame every few milliseconds),
  // each edge starts at the width and colour it had on screen, then the CSS transition on
  // line.edge carries it to the new ones: the update phase shows the weights moving.
  function edgeKey (e) { return e.dataset.layer + ':' + e.dataset.i + ':' + e.dataset.j }
  function swapNetwork (target, html) {
    const status = document.getElementById('status')
    const still = !(status && status.dataset.status === 'running') &&
      !window.matchMedia('(prefers-reduced-motion: reduce)').matches
    const before = {}
    if (still) {
      target.querySelectorAll('line.edge').forEach(function (e) {
        const now = getComputedStyle(e)
        before[edgeKey(e)] = [parseFloat(now.strokeWidth), now.stroke]
      })
    }
    if (!still) {
      // streaming, up to 30 times a second: the drawing holds no htmx attributes, so a plain
      // swap does (htmx's swap would also scan it and run its settle steps each time)
      target.innerHTML = html
      return
    }
    htmx.swap(target, html, { swapStyle: 'innerHTML' })
    const moved = []
    target.querySelectorAll('line.edge').forEach(function (e) {
      const was = before[edgeKey(e)]
      const width = e.getAttribute('stroke-width')
      if (!was || !(was[0] >= 0) || Math.abs(was[0] - parseFloat(width)) < 0.05) return
      moved.push([e, width, e.getAttribute('stroke')])
      e.setAttribute('stroke-width', was[0].toFixed(2))
      e.setAttribute('stroke', was[1])
    })
    if (!moved.length) return
    // reading the style makes the start values take effect; the new values then transition
    moved.forEach(function (m) { getComputedStyle(m[0]).strokeWidth })
    moved.forEach(function (m) { m[0].setAttribute('stroke-width', m[1]); m[0].setAttribute('stroke', m[2]) })
  }

  // the stepper may show another view than the one chosen (what the phase produced): mirror it
  // The picker shows the drawing's view (the phase stepper changes it), except while the
  // drawing has not caught up with the learner's own choice yet: it would flip back meanwhile.
  let chosenView = null // [view, time chosen]
  // stepping by hand needs a paused run (the API answers 409 otherwise): say so by disabling
  function syncRunning () {
    const st = document.getElementById('status')
    const running = !!st && st.dataset.status === 'running'
    for (const id of ['step', 'step-epoch', 'phase-next', 'net-phase-next']) {
      const b = document.getElementById(id)
      if (b) {
        b.disabled = running
        b.title = running ? window.bppT('pause_to_step') : ''
      }
    }
  }
  document.addEventListener('DOMContentLoaded', syncRunning)
  // (text-only regions: htmx swaps them itself, then says so)
  document.addEventListener('htmx:sseMessage', function (evt) {
    const id = (evt.detail.elt || evt.target).id
    if (id === 'status-wrap') syncRunning()
    if (id === 'phase-wrap') {
      const done = document.getElementById('phase-name')
      const mirror = document.getElementById('net-phase-name')
      if (done && mirror) mirror.textContent = done.textContent
    }
  })

  function syncView () {
    const svg = document.getElementById('network')
    const sel = document.getElementById('view')
    if (!svg || !sel || !svg.dataset.view) return
    if (chosenView) {
      if (svg.dataset.view !== chosenView[0] && Date.now() - chosenView[1] < 3000) return
      chosenView = null
    }
    if (sel.value !== svg.dataset.view) sel.value = svg.dataset.view
  }
  document.addEventListener('htmx:sseMessage', syncView)

  // ---- sharing, import, CSV --------------------------------------------------------------------
  function shareLink () {
    const a = document.getElementById('share-link')
    if (!a) return
    const url = new URL(a.href, window.location.href)
    const on = document.getElementById('classroom').checked
    const hide = Array.from(document.querySelectorAll('.hide-choice'))
      .filter(function (x) { return x.checked }).map(function (x) { return x.value })
    if (on && hide.length) url.searchParams.set('hide', hide.join(','))
    else url.searchParams.delete('hide')
    a.href = url.pathname + url.search
  }
  document.addEventListener('htmx:afterSettle', function (evt) {
    if (evt.target.id === 'share-wrap') shareLink()
  })

  function postJson (url, body) {
    return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  }

  function importSession (input) {
    const file = input.files[0]
    if (!file) return
    file.text().then(function (text) {
      return postJson('/api/sessions/import', JSON.parse(text))
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail ? window.bppError(body, r.status) : window.bppT('import_failed'))
        window.location.assign('/?s=' + encodeURIComponent(body.id))
      })
    }).catch(function (e) { say(e.message) })
  }

})()
