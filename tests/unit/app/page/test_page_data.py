"""The page's data helpers: the 2-D points of every part of a data set, small tables too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import ApiClient, make_settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


@pytest.mark.parametrize(
    ("rows", "labels", "task"),
    [
        ([[0.1, 0.2]], [1], "binary"),  # one row: validation and test are empty
        ([[0.1, 0.2], [0.5, -0.3]], [0, 1], "binary"),
        ([[0.1, 0.2]], [2.5], "regression"),
    ],
)
def test_points_of_a_table_with_empty_parts(
    api: ApiClient, rows: list[list[float]], labels: list[float], task: str
) -> None:
    """A 1-row table has no validation or test rows: its points are its training rows (the
    empty parts made the labels' reshape fail: a 500)."""
    dataset = {"name": "inline", "x": rows, "y": labels}
    if task == "regression":
        config = {"dataset": dataset, "loss": "mse", "output_activation": "linear"}
    else:
        config = {"dataset": dataset}
    sid, headers = api.create({**config, "hidden": [], "batch_size": 1})
    r = api.get(f"/api/sessions/{sid}/points", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["x"]) == sorted(rows)
    assert sorted(body["y"]) == sorted(labels)
