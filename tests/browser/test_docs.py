"""The API docs page (/docs): Swagger UI from its npm package renders every operation and can
call the API, under the page's CSP (0 violations: the fixture checks) and without a request
leaving the origin."""

from __future__ import annotations

from apptools import Server
from browsertools import OpenTab
from playwright.sync_api import expect


def test_the_api_docs_render_here_under_the_csp(open_tab: OpenTab, server: Server) -> None:
    tab = open_tab("/docs")
    page = tab.page
    schema = tab.api("/openapi.json")
    operations = sum(len(ops) for ops in schema["paths"].values())
    expect(page.locator(".opblock")).to_have_count(operations)
    # open one, call it: the parts drawn with icons (selects, copy buttons) appear
    health = page.locator(".opblock", has=page.locator("[data-path='/api/healthz']"))
    health.locator(".opblock-summary").click()
    health.locator(".try-out__btn").click()
    health.locator(".execute").click()
    expect(health.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    expect(health.locator(".curl-command .copy-to-clipboard")).to_be_visible()
    expect(health.locator("select").first).to_be_visible()
    # a schema, expanded all the way
    page.locator("section.models .json-schema-2020-12-expand-deep-button").first.click()
    expect(page.locator("section.models .json-schema-2020-12-body").first).to_be_visible()
    elsewhere = [u for u in tab.requests if not u.startswith(server.url + "/")]
    assert not elsewhere, elsewhere
    assert tab.requests and not tab.csp
