// Backprop Playground: the network drawing's tooltips and its weight editor.
// - hovering an edge, bias or node shows the number the current view gives it (English, then
//   Korean), and keeps showing the live value as new drawings stream in;
// - clicking an edge or bias opens the weight editor on it (the form PUTs .../weights), and
//   points the 1-D loss surface at that weight.
(function () {
  'use strict'

  let hovered = null
  // the words are the page's (static/words.js): q_<view> says what an edge's number is,
  // node_<view> what a node's is, where the drawing's own quantity does not say it all
  const T = function (key, vars) { return window.bppT(key, vars) }
  function known (key) { return T(key) !== key }
  function describe (el) {
    const svg = document.getElementById('network')
    const view = (svg && svg.dataset.view) || (document.getElementById('view') || {}).value || 'weights'
    // the drawing's own quantity (data-edge-q, in the page's language) says it exactly
    const edgeQ = (svg && svg.dataset.edgeQ) || (known('q_' + view) ? T('q_' + view) : view)
    const nodeQ = known('node_' + view) ? T('node_' + view) : ((svg && svg.dataset.nodeQ) || view)
    const v = el.dataset.value
    if (el.dataset.pending || (el.closest && el.closest('.column.pending'))) {
      return [T('tip_pending')]
    }
    // names as the drawing heads its columns (input, layer 1, …, output); indices as the
    // weight editor and the REST API count them (from 0)
    if (el.classList.contains('edge')) {
      const l = Number(el.dataset.layer)
      const from = l === 0 ? feature(el.dataset.i) : unit(String(l - 1), el.dataset.i)
      // the quantity first (what the number is), then which weight: w[layer][j][k]
      return [T('tip_edge', {
        quantity: edgeQ, value: v, layer: l, i: el.dataset.i, j: el.dataset.j, from: from, to: unit(String(l), el.dataset.j)
      })]
    }
    if (el.classList.contains('bias')) {
      return [T('tip_bias', { layer: el.dataset.layer, j: el.dataset.j, unit: unit(el.dataset.layer, el.dataset.j), value: v })]
    }
    if (el.dataset.layer === 'in') {
      return [T(v !== undefined ? 'tip_input_value' : 'tip_input', { k: el.dataset.unit, feature: feature(el.dataset.unit), value: v })]
    }
    const name = unit(el.dataset.layer, el.dataset.unit)
    // a PReLU unit's learned slope below 0: a = max(0, z) + α·min(0, z)
    const alpha = el.dataset.alpha !== undefined ? T('tip_alpha', { alpha: el.dataset.alpha }) : ''
    return [T(v !== undefined ? 'tip_node_value' : 'tip_node', { quantity: nodeQ, value: v, unit: name }) + alpha]
  }
  function unit (column, k) {
    const head = document.querySelector('#network g.column[data-column="' + column + '"] text.col-label')
    return T('unit_of', { column: head ? head.textContent : T('layer_n', { n: column }), k: k })
  }
  function feature (k) {
    const label = document.querySelector('#network g.node[data-layer="in"][data-unit="' + k + '"] text.feat-label')
    return label ? label.textContent : T('input_n', { n: k })
  }
  // the tooltip's line (text only); a node with a heatmap tile shows it larger under it (TF
  // Playground does the same)
  function showTip (tip, el) {
    const [text] = describe(el)
    tip.textContent = text
    const tile = el.classList.contains('node') && el.querySelector('svg')
    if (tile) {
      const big = tile.cloneNode(true)
      big.removeAttribute('x')
      big.removeAttribute('y')
      big.setAttribute('width', '96')
      big.setAttribute('height', '96')
      big.setAttribute('class', 'tip-heatmap')
      tip.append(document.createElement('br'), big)
    }
  }
  // where the tooltip goes: beside a node (right of it, or left when the panel ends), so that
  // neither the node nor the number written under it is covered; below the pointer for an
  // edge or a bias. Always inside the panel (a long label would otherwise widen the page).
  function place (tip, el, evt) {
    const box = document.getElementById('network-panel').getBoundingClientRect()
    let left = evt.clientX - box.left + 12
    let top = evt.clientY - box.top + 16
    if (el.classList.contains('node')) {
      // its box: the node's own bounds include the whole sprite its tile is cut from
      const r = (el.querySelector('.node-box') || el).getBoundingClientRect()
      const right = r.right - box.left + 18 // past the number under it, which is a bit wider
      const leftSide = r.left - box.left - 18 - tip.offsetWidth
      top = r.top - box.top
      if (right + tip.offsetWidth <= box.width - 4) left = right
      else if (leftSide >= 4) left = leftSide
      else { // a narrow screen: under the node and its number (a line of text below the box)
        left = r.left - box.left
        top = r.bottom - box.top + 1.2 * r.height
      }
    }
    tip.style.left = Math.max(4, Math.min(left, box.width - tip.offsetWidth - 4)) + 'px'
    tip.style.top = top + 'px'
  }
  function selectorOf (el) {
    if (el.classList.contains('edge')) return 'line.edge[data-layer="' + el.dataset.layer + '"][data-i="' + el.dataset.i + '"][data-j="' + el.dataset.j + '"]'
    if (el.classList.contains('bias')) return 'rect.bias[data-layer="' + el.dataset.layer + '"][data-j="' + el.dataset.j + '"]'
    return 'g.node[data-layer="' + el.dataset.layer + '"][data-unit="' + el.dataset.unit + '"]'
  }
  // the hovered element was replaced by a new drawing: show the new one's value
  function refreshTooltip () {
    const tip = document.getElementById('tooltip')
    if (!hovered || !tip) return
    const el = document.querySelector(hovered)
    if (el) showTip(tip, el)
  }
  document.addEventListener('htmx:sseMessage', refreshTooltip)
  document.addEventListener('bpp:swapped', refreshTooltip)
  document.addEventListener('mouseover', function (evt) {
    const el = evt.target.closest && evt.target.closest('#network .edge, #network .bias, #network .node')
    const tip = document.getElementById('tooltip')
    if (!tip) return
    if (!el) { hovered = null; tip.hidden = true; return }
    hovered = selectorOf(el)
    showTip(tip, el)
    tip.hidden = false
    place(tip, el, evt)
  })
  // the current weight, unless the learner started typing or picked another one meanwhile
  function fillWeight (input, edge, layer, i, j) {
    const name = document.getElementById('weight-name').textContent
    fetch('/api/sessions/' + document.body.dataset.sessionId + '/state')
      .then(function (r) { return r.ok ? r.json() : null })
      .then(function (state) {
        if (!state || input.dataset.typed || document.getElementById('weight-name').textContent !== name) return
        const layerState = state.layers[Number(layer)]
        const value = edge ? layerState.W[Number(i)][Number(j)] : layerState.b[Number(j)]
        if (value !== null && value !== undefined) input.value = String(value)
      })
      .catch(function () {})
  }
  document.addEventListener('input', function (evt) {
    if (evt.target.id === 'weight-input') evt.target.dataset.typed = '1'
  })
  document.addEventListener('click', function (evt) {
    if (evt.target.closest && evt.target.closest('#weight-cancel')) { document.getElementById('weight-editor').hidden = true; return }
    const el = evt.target.closest && evt.target.closest('#network .edge, #network .bias')
    if (!el) return
    const form = document.getElementById('weight-editor')
    const edge = el.classList.contains('edge')
    form.querySelector('[name=param]').value = edge ? 'W' : 'b'
    document.getElementById('weight-layer').value = el.dataset.layer
    document.getElementById('weight-index').value = edge ? el.dataset.i + ',' + el.dataset.j : el.dataset.j
    document.getElementById('weight-name').textContent = edge
      ? 'w[' + el.dataset.layer + '][' + el.dataset.i + '][' + el.dataset.j + ']'
      : 'b[' + el.dataset.layer + '][' + el.dataset.j + ']'
    const input = document.getElementById('weight-input')
    // the drawing's number is the view's (a gradient, an update…) and rounded: the weight
    // itself, in full, comes from the REST API
    const svg = document.getElementById('network')
    const view = (svg && svg.dataset.view) || 'weights'
    input.value = view === 'weights' ? el.dataset.value : ''
    input.dataset.typed = ''
    form.hidden = false
    input.focus()
    fillWeight(input, edge, el.dataset.layer, el.dataset.i, el.dataset.j)
    if (edge) document.getElementById('surface-weight').value = el.dataset.layer + ':W:' + el.dataset.i + ',' + el.dataset.j
  })
})()
