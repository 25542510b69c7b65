// The "activation for all layers" control (templates/regions/layer_controls.html): just before
// htmx sends its PATCH on change, the chosen activation's body (data-bodies, computed by the
// server: every hidden layer's activation, with He initialisation for the ReLU family) becomes
// the request's base (the bpp-config extension in app.js sends data-base as the JSON body).
(function () {
  'use strict'
  document.addEventListener('change', function (evt) {
    const sel = evt.target
    if (!sel || sel.id !== 'all-activation') return
    const bodies = JSON.parse(sel.dataset.bodies || '{}')
    const body = bodies[sel.value]
    if (body) sel.dataset.base = JSON.stringify(body)
  }, true) // capture: runs before htmx's own listener on the select
})()
