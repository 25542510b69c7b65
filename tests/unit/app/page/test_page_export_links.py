"""The share region's download menu: a link per export format of the page's session, which
the export route answers with an attachment (app/api/export.py)."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from apptools import ApiClient, make_settings
from test_templating import Elements

from app.page import i18n
from app.page.templating import render_block


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_share_region_links_every_format_and_each_downloads(api: ApiClient, lang: str) -> None:
    """One link per format; the code's comments in the page's language."""
    sid, auth = api.create()
    with i18n.using(lang):
        page = Elements(render_block("share", {"sid": sid, "share_url": "/?c=x"}))
    links = {el["attrs"]["id"]: el for el in page.select("a") if "id" in el["attrs"]}
    wanted = {
        "export": "",
        "export-numpy": f"?format=numpy&lang={lang}",
        "export-pytorch": f"?format=pytorch&lang={lang}",
        "export-onnx": "?format=onnx",
    }
    for key, query in wanted.items():
        href = unescape(links[key]["attrs"]["href"])
        assert href == f"/api/sessions/{sid}/export{query}"
        assert "download" in links[key]["attrs"]
        r = api.get(href, headers=auth)
        assert r.status_code == 200, (key, r.text)
        if query:
            assert r.headers["content-disposition"].startswith("attachment;")
        if key == "export-numpy":  # the comments' language: Hangul only in Korean
            assert any("\uac00" <= ch <= "\ud7a3" for ch in r.text) == (lang == "ko")
