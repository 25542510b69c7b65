"""Readouts: state views, history with downsampling, gradient check, landscape, decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ApiClient, make_settings


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("readouts")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def trained(api: ApiClient) -> tuple[str, dict[str, str]]:
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 40}, headers=h)
    return sid, h


def test_state_views(api: ApiClient, trained: tuple[str, dict[str, str]]) -> None:
    sid, h = trained
    r = api.get(f"/api/sessions/{sid}/state", headers=h,
                params=[("include", v) for v in ("gradients", "updates", "probe", "optimizer",
                                                  "metrics")])
    body = r.json()
    assert r.status_code == 200 and body["iteration"] == 40
    layer = body["layers"][0]
    assert {"W", "b", "dW", "db", "dW_update"} <= set(layer)
    assert {"probe", "optimizer", "metrics", "session"} <= set(body)
    bad = api.get(f"/api/sessions/{sid}/state?include=nonsense", headers=h)
    assert bad.status_code == 422 and bad.json()["field"].startswith("include")


def test_history_all_and_downsampled(api: ApiClient, trained: tuple[str, dict[str, str]]) -> None:
    sid, h = trained
    body = api.get(f"/api/sessions/{sid}/history", headers=h).json()
    assert [p["step"] for p in body["points"]] == list(range(1, 41))
    assert "metrics" in body["points"][-1]  # train/val/test loss on the request's last step
    assert set(body["points"][-1]["metrics"]) == {"train", "val", "test"}
    few = api.get(f"/api/sessions/{sid}/history?points=10", headers=h).json()
    assert few["stride"] == 4 and len(few["points"]) <= 11
    after = api.get(f"/api/sessions/{sid}/history?after=35", headers=h).json()
    assert [p["step"] for p in after["points"]] == [36, 37, 38, 39, 40]
    assert after["next_after"] is None  # the end


def test_history_pages_continue_where_the_limit_cut(
    api: ApiClient, trained: tuple[str, dict[str, str]]
) -> None:
    """A page cut short by ``limit`` says where to go on (it used to end silently)."""
    sid, h = trained
    seen: list[int] = []
    after: int | None = 0
    while after is not None:
        body = api.get(f"/api/sessions/{sid}/history?limit=15&after={after}", headers=h).json()
        seen += [p["step"] for p in body["points"]]
        after = body["next_after"]
    assert seen == list(range(1, 41))
    few = api.get(f"/api/sessions/{sid}/history?points=10&limit=3", headers=h).json()
    steps = [p["step"] for p in few["points"]]
    assert len(steps) == 3 and few["next_after"] == steps[-1]


def test_gradcheck_agrees(api: ApiClient, trained: tuple[str, dict[str, str]]) -> None:
    sid, h = trained
    r = api.get(f"/api/sessions/{sid}/gradcheck", headers=h)
    assert r.status_code == 200, r.text
    assert api.get(f"/api/sessions/{sid}/gradcheck?eps=1", headers=h).status_code == 422


def test_gradcheck_samples_above_the_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Above max_gradcheck_params the check samples (it used to refuse); the sample size is
    bounded by that limit, and a size out of range is a 422 naming ``sample``."""
    api = ApiClient(make_settings(tmp_path_factory.mktemp("gc"), max_gradcheck_params=10))
    try:
        sid, h = api.create()
        r = api.get(f"/api/sessions/{sid}/gradcheck?sample=7&seed=3", headers=h)
        body = r.json()
        assert r.status_code == 200 and body["sampled"] and body["checked"] == 7
        assert body["n_params"] > 10 and body["limit"] == 10
        for bad in ("sample=11", "sample=0", "sample=x"):
            r = api.get(f"/api/sessions/{sid}/gradcheck?{bad}", headers=h)
            assert r.status_code == 422 and "sample" in r.json()["field"], r.text
    finally:
        api.close()


@pytest.mark.parametrize("query", ["kind=1d&directions=random", "kind=2d&resolution=11",
                                   "kind=1d&directions=weights&weight=0:W:0,0",
                                   "kind=2d&directions=pca&resolution=9"])
def test_landscape(api: ApiClient, trained: tuple[str, dict[str, str]], query: str) -> None:
    sid, h = trained
    r = api.get(f"/api/sessions/{sid}/landscape?{query}", headers=h)
    assert r.status_code == 200, r.text


def test_landscape_bad_input_is_4xx(api: ApiClient, trained: tuple[str, dict[str, str]]) -> None:
    sid, h = trained
    for query in ("kind=3d", "kind=2d&resolution=1000", "directions=weights&weight=zzz",
                  "kind=1d&directions=weights&weight=9:W:0,0", "kind=2d&resolution=99"):
        r = api.get(f"/api/sessions/{sid}/landscape?{query}", headers=h)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["field"]


def test_decision_surface(api: ApiClient, trained: tuple[str, dict[str, str]]) -> None:
    sid, h = trained
    body = api.get(f"/api/sessions/{sid}/decision?resolution=20", headers=h).json()
    assert len(body["output"]) == 20 and len(body["output"][0]) == 20
    r = api.get(f"/api/sessions/{sid}/decision?resolution=300", headers=h)
    assert r.status_code == 422 and r.json()["limit"] == "max_resolution"
    digits, hd = api.create({"dataset": {"name": "digits", "n_samples": 100},
                             "hidden": [{"units": 4}]})
    assert api.get(f"/api/sessions/{digits}/decision", headers=hd).status_code == 409
    assert FAST  # the shared small config


def test_landscape_cost_is_bounded(tmp_path: Path) -> None:
    """Grid points × rows × parameters: an 88-second request held the session's lock and a
    thread; over the bound it is a 422 naming the limit, under it the landscape is computed."""
    with ApiClient(make_settings(tmp_path, max_landscape_work=1e6)) as api:
        sid, h = api.create()
        r = api.get(f"/api/sessions/{sid}/landscape?kind=2d&resolution=41", headers=h)
        assert r.status_code == 422 and r.json()["limit"] == "max_landscape_work", r.text
        assert r.json()["field"] == "resolution"
        r = api.get(f"/api/sessions/{sid}/landscape?kind=1d&resolution=5", headers=h)
        assert r.status_code == 200, r.text
