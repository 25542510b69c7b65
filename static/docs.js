// The API docs page (/docs): starts Swagger UI (served from its npm package) on our OpenAPI
// schema. A file rather than an inline script, so the page's CSP needs no unsafe keyword.
(function () {
  'use strict'
  const root = document.getElementById('swagger-ui')
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: '#swagger-ui',
    layout: 'BaseLayout',
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null // the default badge asks validator.swagger.io about our schema
  })
})()
