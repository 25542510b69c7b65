"""The share link keeps the whole experiment: the config and the page settings that show it
(view, show test data, discretize, log scale), and a link that carries them opens a page with
them set; a lesson link keeps the classroom's hidden controls."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ApiClient, make_settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def share_href(page: str) -> str:
    found = re.search(r'id="share-link" href="([^"]+)"', page)
    assert found, "no share link"
    return html.unescape(found.group(1))


def test_the_share_link_carries_the_view_settings(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    plain = share_href(api.get(f"/?s={sid}", headers=h).text)
    assert "view=" not in plain and "show_test" not in plain
    r = api.put(f"/api/sessions/{sid}/ui", headers=h,
                json={"view": "gradients", "show_test": True, "discretize": True})
    assert r.status_code == 204
    link = share_href(api.get(f"/?s={sid}", headers=h).text)
    assert link.startswith("/?c=") and "&view=gradients" in link
    assert "&show_test=1" in link and "&discretize=1" in link and "log_scale" not in link
    # the link's page hands the settings on to the session it makes (static/app.js's boot)
    boot = api.get(link).text
    assert 'data-ui="&amp;view=gradients&amp;show_test=1&amp;discretize=1"' in boot
    # ... and the session's page takes them
    other, h2 = api.create(FAST)
    api.get(f"/?s={other}&view=gradients&show_test=1&discretize=1", headers=h2)
    page = api.get(f"/?s={other}", headers=h2).text
    assert "&view=gradients" in share_href(page) and "&show_test=1" in share_href(page)


def test_a_link_with_a_view_the_optimizer_lacks_is_ignored(api: ApiClient) -> None:
    sid, h = api.create(FAST)  # plain SGD: no velocity view
    r = api.get(f"/?s={sid}&view=velocity&show_test=maybe", headers=h)
    assert r.status_code == 200
    link = share_href(r.text)
    assert "view=" not in link and "show_test" not in link
