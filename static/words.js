// The page's words for its scripts, in the page's language: the table the server rendered
// from its catalogs into <script type="application/json" id="page-words">
// (app/page/script_words.py). No script writes words of its own.
// - bppT(key, vars): a word or sentence, its %(name)s filled from vars;
// - bppError(body, status): an API error as the page says it (the API's English detail on an
//   English page, else the sentence of its code with the field's name).
(function () {
  'use strict'
  let table = null
  function load () {
    if (table) return table
    const block = document.getElementById('page-words')
    try { table = JSON.parse(block ? block.textContent : '{}') } catch (e) { table = {} }
    table.words = table.words || {}
    table.errors = table.errors || {}
    table.fields = table.fields || {}
    return table
  }
  function fill (text, vars) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, name) {
      return vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : ''
    })
  }
  function fieldWords (field) {
    const fields = load().fields
    let name = field || ''
    for (;;) {
      if (name in fields) return fields[name]
      const dot = name.lastIndexOf('.')
      if (dot < 0) return field || ''
      name = name.slice(0, dot)
    }
  }
  window.bppT = function (key, vars) {
    const words = load().words
    return fill(key in words ? words[key] : key, vars)
  }
  window.bppLang = function () { return load().lang || document.documentElement.lang || 'en' }
  window.bppError = function (body, status) {
    const t = load()
    body = body || {}
    if (window.bppLang() === 'en' && body.detail) return String(body.detail)
    const code = body.code || { 404: 'not_found', 409: 'conflict', 429: 'quota', 503: 'busy' }[status] ||
      (status >= 500 ? 'error' : 'invalid')
    const sentence = t.errors[code] || t.errors.invalid || body.detail || ''
    return fill(sentence, { field: fieldWords(body.field), max: body.max })
  }
})()
