// Backprop Playground: editing the data from the page, always through the REST API.
// - 2-D sets: click on the output heatmap adds a point of the chosen class, shift-click removes
//   the nearest one; the whole set goes back as an "inline" data set (PATCH, resets the network).
// - CSV upload: parse in the browser, show the columns, let the user pick the target column,
//   then PATCH the session with the inline table.
(function () {
  'use strict'

  function sid () { return document.body.dataset.sessionId }
  function note (id, text, bad) {
    const el = document.getElementById(id)
    if (!el) return
    el.textContent = text
    el.classList.toggle('error', !!bad)
  }

  function patchDataset (dataset) {
    return fetch('/api/sessions/' + sid(), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ config: { dataset: dataset } })
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.detail || 'the data was not accepted (' + r.status + ')')
        return b
      })
    })
  }

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
    note('point-note', remove ? 'removing the nearest point…' : 'adding a point…')
    fetch('/api/sessions/' + sid() + '/points').then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.detail || 'no points'); return b })
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
        if (best < 0) throw new Error('no point to remove')
        x.splice(best, 1); y.splice(best, 1)
      } else {
        x.push([Math.round(at[0] * 1e4) / 1e4, Math.round(at[1] * 1e4) / 1e4])
        y.push(d.task === 'regression' ? (cls === 0 ? -1 : 1) : Math.min(cls, Math.max(d.n_classes - 1, 1)))
      }
      const ds = Object.assign({ name: 'inline', x: x, y: y, task: d.task === 'binary' ? 'binary' : d.task }, d.dataset)
      return patchDataset(ds).then(function () {
        note('point-note', (remove ? 'Removed a point' : 'Added a point') + ' (' + x.length +
          ' points now, an inline data set): the network was reset.')
      })
    }).catch(function (e) { note('point-note', e.message, true) })
      .finally(function () { busy = false })
  })

  // ---- CSV: columns, target choice, create --------------------------------------------------
  let table = null
  function parseCsv (text) {
    const rows = text.trim().split(/\r?\n/).filter(function (l) { return l.trim() })
      .map(function (l) { return l.split(',').map(function (c) { return c.trim().replace(/^"|"$/g, '') }) })
    if (!rows.length) throw new Error('the CSV file is empty')
    const header = rows[0].some(function (c) { return c === '' || isNaN(Number(c)) }) ? rows.shift() : null
    const width = rows.length ? rows[0].length : 0
    if (!rows.length || width < 2) throw new Error('the CSV needs at least two columns and one row')
    const names = header || Array.from({ length: width }, function (_, i) { return 'col' + (i + 1) })
    return { names: names, rows: rows }
  }
  document.addEventListener('change', function (evt) {
    const t = evt.target
    if (t.id !== 'csv-upload' || !t.files[0]) return
    t.files[0].text().then(function (text) {
      table = parseCsv(text)
      const sel = document.getElementById('csv-target')
      sel.replaceChildren()
      table.names.forEach(function (n, i) {
        const o = document.createElement('option')
        o.value = String(i); o.textContent = n
        sel.appendChild(o)
      })
      sel.value = String(table.names.length - 1)
      document.getElementById('csv-target-box').hidden = false
      note('csv-columns', table.rows.length + ' rows · columns: ' + table.names.join(', ') +
        '. Pick the target column, then “use this data” (the network resets).')
    }).catch(function (e) { note('csv-columns', e.message, true) })
  })
  document.addEventListener('click', function (evt) {
    if (evt.target.id !== 'csv-create' || !table) return
    const k = parseInt(document.getElementById('csv-target').value, 10)
    const numeric = table.rows.every(function (r) { return r[k] !== '' && !isNaN(Number(r[k])) })
    const x = table.rows.map(function (r) { return r.filter(function (_, j) { return j !== k }).map(Number) })
    const y = table.rows.map(function (r) { return numeric ? Number(r[k]) : r[k] })
    const ds = {
      name: 'inline',
      x: x,
      y: y,
      input_names: table.names.filter(function (_, j) { return j !== k }),
      target_name: table.names[k]
    }
    note('csv-columns', 'creating the data set…')
    patchDataset(ds).then(function () {
      note('csv-columns', 'Using ' + x.length + ' rows: inputs ' + ds.input_names.join(', ') +
        ' → target ' + ds.target_name + '. The network was reset.')
      document.getElementById('csv-target-box').hidden = true
    }).catch(function (e) { note('csv-columns', e.message, true) })
  })
})()
