// The learning rate's two controls: the number (#lr, what is sent) and a slider on a log10
// scale (#lr-log) that follows it and drives it. The slider stops at its ends (1e-5 and 10):
// a rate typed past them leaves the slider at its end, and #lr-past says so, in place of a
// slider that silently disagrees with the number beside it.
(function () {
  'use strict'

  function past (lr, slider) {
    if (!(lr > 0)) return ''
    const log = Math.log10(lr)
    if (log > parseFloat(slider.max)) return 'above'
    if (log < parseFloat(slider.min)) return 'below'
    return ''
  }

  function follow (number) {
    const slider = document.getElementById('lr-log')
    const note = document.getElementById('lr-past')
    const v = parseFloat(number.value)
    if (!slider) return
    if (v > 0) slider.value = Math.log10(v)
    if (note) note.dataset.past = past(v, slider)
  }

  document.addEventListener('input', function (evt) {
    const t = evt.target
    if (t.id === 'lr-log') {
      const lr = document.getElementById('lr')
      lr.value = Number(Math.pow(10, parseFloat(t.value)).toPrecision(3))
      const note = document.getElementById('lr-past')
      if (note) note.dataset.past = ''
    } else if (t.id === 'lr') {
      follow(t)
    }
  })
  document.addEventListener('change', function (evt) {
    if (evt.target.id === 'lr-log') htmx.trigger('#lr', 'change')
  })
})()
