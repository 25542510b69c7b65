"""The scores table under the output: the metrics rows' numbers, every digit in data-value."""

from __future__ import annotations

import re

import pytest

from app.page import i18n
from app.page.draw import charts, scores
from app.page.templating import render_block
from engine.inspect import readouts
from engine.trainer import Trainer


def cells(html: str, table: str) -> list[list[float]]:
    """The data-value numbers of ``table``'s rows (empty rows left out)."""
    body = re.search(rf'<table id="{table}".*?</table>', html, re.S)
    assert body, table
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(0), re.S)
    out = [[float(v) for v in re.findall(r'data-value="([^"]+)"', row)] for row in rows]
    return [r for r in out if r]


def shown(config: dict) -> tuple[dict, str]:
    t = Trainer(config)
    t.step(25)
    m = readouts.metrics(t)
    curves = charts.Curves()
    curves.add({"step": 25, "metrics": m})
    return m, render_block("scores", {"regions": {"scores": scores.scores_data(curves.latest)}})


@pytest.mark.parametrize("n_classes", [3, 5])
def test_classification_table_shows_the_metrics_row(n_classes: int) -> None:
    m, html = shown({"dataset": {"name": "blobs", "n_classes": n_classes}})
    assert cells(html, "scores-splits") == [
        [m[s]["accuracy"], m[s]["f1_macro"]] for s in ("train", "val", "test")
    ]
    test = m["test"]
    per_class = zip(test["precision"], test["recall"], test["f1"], test["support"], strict=True)
    assert cells(html, "scores-classes") == [list(r) for r in per_class]
    assert cells(html, "scores-confusion") == test["confusion"]
    assert "precision" in html and "정밀도" not in html  # the page's language (English)
    with i18n.using("ko"):
        ko = render_block("scores", {"regions": {"scores": scores.scores_data(m)}})
    assert "정밀도" in ko and "precision" not in ko and "테스트" in ko


def test_digits_leave_the_matrix_to_their_own_panel() -> None:
    m, html = shown({"dataset": {"name": "digits", "n_samples": 300}})
    assert len(m["test"]["confusion"]) == 10
    assert 'id="scores-classes"' in html and 'id="scores-confusion"' not in html


def test_regression_table() -> None:
    m, html = shown({"dataset": {"name": "reg_plane"}})
    assert cells(html, "scores-splits") == [
        [m[s]["mae"], m[s]["rmse"], m[s]["r2"]] for s in ("train", "val", "test")
    ]
    assert 'id="scores-classes"' not in html and "R²" in html


def test_nothing_before_the_first_metrics_row() -> None:
    assert scores.scores_data({}) is None
    assert "<table" not in render_block("scores", {"regions": {"scores": None}})
