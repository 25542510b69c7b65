"""``PUT /api/sessions/{id}/ui`` for the network drawing: a view is accepted only where the
session's optimizer keeps its numbers (else a 422 naming the field and the views offered), and
"fixed scale" freezes the drawing's scale at what the page showed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ApiClient, make_settings

from app.page.draw.palette import fmt
from app.page.feed import feed_of


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def test_a_view_the_optimizer_does_not_keep_is_refused(api: ApiClient) -> None:
    sid, h = api.create(FAST)  # plain SGD: no momentum buffer, no second moment
    r = api.put(f"/api/sessions/{sid}/ui", json={"view": "velocity"}, headers=h)
    assert r.status_code == 422, r.text
    body = r.text
    assert "view" in body and "effective_step" in body and "velocity" in body
    r = api.put(f"/api/sessions/{sid}/ui", json={"view": "nonsense"}, headers=h)
    assert r.status_code == 422 and "unknown view" in r.text
    assert api.put(f"/api/sessions/{sid}/ui", json={"view": "effective_step"}, headers=h).is_success
    adam = {**FAST, "optimizer": {"name": "adam", "lr": 0.01}}
    sid2, h2 = api.create(adam)
    for view in ("velocity", "second_moment"):
        r = api.put(f"/api/sessions/{sid2}/ui", json={"view": view}, headers=h2)
        assert r.is_success, r.text


def test_fixed_scale_freezes_the_shown_peaks_and_untick_forgets_them(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    assert api.get(f"/api/sessions/{sid}/decision.png", headers=h).status_code == 200  # drawn
    feed = feed_of(api.manager.sessions[sid])
    assert feed.frame is not None
    peaks = feed.frame.drawing.peaks
    assert api.put(f"/api/sessions/{sid}/ui", json={"fixed_scale": True}, headers=h).is_success
    assert feed.ui.fixed_scale and feed.ui.frozen == {"weights": peaks}
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 50}, headers=h).is_success
    feed.refresh_local(api.manager.sessions[sid], api.manager)
    assert feed.frame.drawing.peaks != peaks  # the weights moved; the drawing's scale did not:
    assert f'data-scale="{fmt(peaks[0], 3)}"' in feed.html()["network"]
    assert api.put(f"/api/sessions/{sid}/ui", json={"fixed_scale": False}, headers=h).is_success
    assert not feed.ui.frozen
    feed.refresh_local(api.manager.sessions[sid], api.manager)
    assert f'data-scale="{fmt(feed.frame.drawing.peaks[0], 3)}"' in feed.html()["network"]
