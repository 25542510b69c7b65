// Backprop Playground: editing the data from the page, always through the REST API.
// - 2-D sets: click on the output heatmap adds a point of the chosen class, shift-click removes
//   the nearest one; the whole set goes back as an "inline" data set (PATCH, resets the network).
// - CSV upload: the server reads the file (POST /api/datasets/csv) and lists its columns; the
//   user picks the target column, then the session is PATCHed with {name: "csv", text, target}
//   (the server parses it again and keeps the inline table it gives). User text (column names,
//   cells, error messages) only ever goes into the page as textContent.
(function () {
  'use strict'

  function sid () { return document.body.dataset.sessionId }
  function note (id, text, bad) {
    const el = document.getElementById(id)
    if (!el) return
    el.textContent = text
    el.classList.toggle('error', !!bad)
  }

  // the JSON body of a response, or an Error carrying the server's detail
  function jsonOrThrow (r) {
    return r.json().catch(function () { return {} }).then(function (b) {
      if (!r.ok) throw new Error(b.detail ? window.bppError(b, r.status) : window.bppT('request_failed', { status: r.status }))
      return b
    })
  }

  function patchConfig (config) {
    return fetch('/api/sessions/' + sid(), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ config: config })
    }).then(jsonOrThrow)
  }
  function patchDataset (dataset) { return patchConfig({ dataset: dataset }) }

  // ---- click to add / shift-click to remove points ----------------------------------------
  function pointTools () {
    const box = document.getElementById('point-tools')
    if (box) box.hidden = !(document.getElementById('decision') && document.getElementById('points'))
  }
  document.addEventListener('htmx:sseMessage', pointTools)
  document.addEventListener('bpp:swapped', pointTools)
  document.addEventListener('DOMContentLoaded', pointTools)

  let busy = false
  document.addEventListener('click', function (evt) {
    const img = evt.target.closest && evt.target.closest('#output-wrap img#decision')
    if (!img || busy) return
    // the plot's switch (explain.js): in "trace an example" mode a click picks the probe
    const trace = document.getElementById('click-trace')
    if (trace && trace.checked) return
    const points = document.getElementById('points')
    if (!points) return
    const box = img.getBoundingClientRect()
    const fx = (evt.clientX - box.left) / box.width
    const fy = (evt.clientY - box.top) / box.height
    const dom = points.dataset.domain.split(',').map(Number)
    const at = [dom[0] + fx * (dom[1] - dom[0]), dom[3] - fy * (dom[3] - dom[2])]
    const remove = evt.shiftKey
    const cls = parseInt(document.getElementById('point-class').value, 10) || 0
    busy = true
    note('point-note', window.bppT(remove ? 'removing_point' : 'adding_point'))
    fetch('/api/sessions/' + sid() + '/points').then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.detail ? window.bppError(b, r.status) : window.bppT('no_points')); return b })
    }).then(function (d) {
      const x = d.x.slice()
      const y = d.y.slice()
      if (remove) {
        let best = -1
        let dist = Infinity
        x.forEach(function (p, i) {
          const q = Math.hypot((p[0] - at[0]) / (dom[1] - dom[0]), (p[1] - at[1]) / (dom[3] - dom[2]))
          if (q < dist) { dist = q; best = i }
        })
        if (best < 0) throw new Error(window.bppT('no_point'))
        x.splice(best, 1); y.splice(best, 1)
      } else {
        x.push([Math.round(at[0] * 1e4) / 1e4, Math.round(at[1] * 1e4) / 1e4])
        y.push(d.task === 'regression' ? (cls === 0 ? -1 : 1) : Math.min(cls, Math.max(d.n_classes - 1, 1)))
      }
      const ds = Object.assign({ name: 'inline', x: x, y: y, task: d.task === 'binary' ? 'binary' : d.task }, d.dataset)
      return patchDataset(ds).then(function () {
        note('point-note', window.bppT(remove ? 'removed_point' : 'added_point', { n: x.length }))
      })
    }).catch(function (e) { note('point-note', e.message, true) })
      .finally(function () { busy = false })
  })

  // ---- CSV: the server lists the columns, the user picks the target, the session takes it ---
  // new data is a new problem: its target's task gets that task's output and loss (the engine's
  // defaults), so a regression file on a classification session just works
  const TASK_DEFAULTS = {
    binary: { output_activation: 'sigmoid', loss: { name: 'bce' } },
    multiclass: { output_activation: 'softmax', loss: { name: 'ce' } },
    regression: { output_activation: 'linear', loss: { name: 'mse' } }
  }
  let table = null // {text, info}: the file's text and the server's reading of it

  function el (tag, text) {
    const e = document.createElement(tag)
    if (text !== undefined) e.textContent = text
    return e
  }

  function showColumns (info) {
    const sel = document.getElementById('csv-target')
    sel.replaceChildren()
    info.columns.forEach(function (c) {
      if (!c.task) return
      const o = el('option', c.name + ' (' + c.task + ')')
      o.value = c.name
      sel.appendChild(o)
    })
    sel.value = info.target
    const box = document.getElementById('csv-target-box')
    let preview = document.getElementById('csv-preview')
    if (!preview) {
      preview = el('table')
      preview.id = 'csv-preview'
      box.insertBefore(preview, box.firstChild)
    }
    const head = el('tr')
    info.columns.forEach(function (c) { head.appendChild(el('th', c.name)) })
    const rows = info.preview.map(function (cells) {
      const tr = el('tr')
      cells.forEach(function (cell) { tr.appendChild(el('td', cell)) })
      return tr
    })
    preview.replaceChildren(head, ...rows)
    box.hidden = false
    note('csv-columns', window.bppT('csv_columns', {
      rows: info.rows,
      columns: info.columns.map(function (c) { return c.name + (c.numeric ? '' : ' (' + window.bppT('text_column') + ')') }).join(', ')
    }))
  }

  document.addEventListener('change', function (evt) {
    const t = evt.target
    if (t.id !== 'csv-upload' || !t.files[0]) return
    const file = t.files[0]
    table = null
    document.getElementById('csv-target-box').hidden = true
    note('csv-columns', window.bppT('reading_file'))
    fetch('/api/datasets/csv', { method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: file })
      .then(jsonOrThrow)
      .then(function (info) {
        return file.text().then(function (text) {
          table = { text: text, info: info }
          showColumns(info)
        })
      })
      .catch(function (e) { note('csv-columns', e.message, true) })
  })

  document.addEventListener('click', function (evt) {
    // closest: the button's Korean half is a span of its own
    if (!evt.target.closest || !evt.target.closest('#csv-create') || !table) return
    const target = document.getElementById('csv-target').value
    const column = table.info.columns.find(function (c) { return c.name === target })
    const dataset = { name: 'csv', text: table.text, target: target }
    note('csv-columns', window.bppT('creating_data'))
    const task = column ? column.task : ''
    const defaults = TASK_DEFAULTS[task] || {}
    patchConfig(Object.assign({ dataset: dataset }, defaults)).then(function () {
      const inputs = table.info.columns.filter(function (c) { return c.name !== target })
      note('csv-columns', window.bppT('csv_using', {
        rows: table.info.rows,
        inputs: inputs.map(function (c) { return c.name }).join(', '),
        target: target
      }))
      document.getElementById('csv-target-box').hidden = true
    }).catch(function (e) { note('csv-columns', e.message, true) })
  })
})()
