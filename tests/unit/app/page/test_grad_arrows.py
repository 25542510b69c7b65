"""The surface panel's gradient arrows: the numbers (app/page/surface_arrows.py) against the
engine and NumPy, the geometry (app/page/draw/grad_arrows.py) against the plot's mapping, and
the drawings' markup."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from app.core.settings import Settings
from app.page import i18n
from app.page.draw import grad_arrows, loss_surface
from app.page.surface_arrows import choice, noise_on_plane
from engine.inspect import directions as dirs
from engine.inspect.gradient_noise import gradient_noise
from engine.inspect.landscape import Slice
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN


def trainer(batch_size: int = 10) -> Trainer:
    t = Trainer(
        {
            "dataset": {"name": "circle", "n_samples": 60, "seed": 1, "split": ALL_TRAIN},
            "hidden": [{"units": 4, "activation": "tanh"}],
            "batch_size": batch_size,
            "seed": 2,
        }
    )
    t.step(4)
    return t


def settings(tmp_path: Path, **kw: float) -> Settings:
    return Settings(data_dir=tmp_path, **kw)


def plane(t: Trainer) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    params = [[p.copy() for p in layer.params] for layer in t.net.layers]
    return dirs.random_direction(params, rng), dirs.random_direction(params, rng)


def test_the_page_draws_a_whole_pass_when_it_is_short_else_eight_batches() -> None:
    assert choice(trainer(10)) == (6, True)
    assert choice(trainer(1)) == (8, False)


def test_numbers_on_the_plane_are_the_engines(tmp_path: Path) -> None:
    t = trainer()
    d1, d2 = plane(t)
    got = noise_on_plane(t, settings(tmp_path), d1, d2)
    r = gradient_noise(t, 6, 0, True)
    basis = np.stack([d1, d2], axis=1)
    want = np.linalg.lstsq(basis, -r["full"]["gradient"], rcond=None)[0]
    assert np.allclose(got["full"], want, rtol=1e-10, atol=0)
    assert got["exact"] and got["count"] == 6
    shown = np.linalg.norm(basis @ want) / np.linalg.norm(r["full"]["gradient"])
    assert got["in_plane"] == pytest.approx(shown)
    slopes = noise_on_plane(t, settings(tmp_path), d1)
    assert slopes["batches"] == pytest.approx([row["gradient"] @ d1 for row in r["batches"]])


def test_over_the_work_limit_the_page_says_so(tmp_path: Path) -> None:
    t = trainer()
    d1, d2 = plane(t)
    assert "error" in noise_on_plane(t, settings(tmp_path, max_noise_work=10.0), d1, d2)


def test_arrows_start_at_the_point_and_the_longest_fits_the_share() -> None:
    noise = {
        "full": [1.0, 0.5],
        "batches": [[2.0, -1.0], [math.nan, 1.0], [0.0, 0.25]],
        "cosines": [0.5, None, 0.9],
        "summary": {
            "mean_angle_degrees": 40.0,
            "mean_cosine": 0.7,
            "std_cosine": 0.2,
            "mean_norm_ratio": 1.5,
            "std_norm_ratio": 0.3,
        },
        "count": 3,
        "batch_size": 4,
        "n_train": 12,
        "in_plane": 0.2,
        "cover": True,
        "exact": True,
    }

    def px(a: float) -> float:
        return 100 + 50 * a  # 50 px per unit of α

    def py(b: float) -> float:
        return 100 - 25 * b  # 25 px per unit of β, upwards

    out = grad_arrows.arrows_2d(noise, px, py, (0.2, -0.4), 200.0)
    arrows = out["arrows"]
    assert [a.kind for a in arrows] == ["batch", "batch", "full"]  # the NaN one is left out
    m = out["scale"]
    lengths = []
    for a, c in zip(arrows, ([2.0, -1.0], [0.0, 0.25], [1.0, 0.5]), strict=True):
        assert (float(a.x1), float(a.y1)) == (px(0.2), py(-0.4))
        assert float(a.x2) == pytest.approx(px(0.2 + m * c[0]), abs=0.06)
        assert float(a.y2) == pytest.approx(py(-0.4 + m * c[1]), abs=0.06)
        assert (float(a.alpha), float(a.beta)) == (c[0], c[1])
        lengths.append(math.hypot(float(a.x2) - float(a.x1), float(a.y2) - float(a.y1)))
    assert max(lengths) == pytest.approx(grad_arrows.FRACTION * 200.0, abs=0.1)
    assert f"×{m:.3g}" in out["caption"]["text"] and "40°" in out["caption"]["text"]
    assert "exactly the full gradient" in out["caption"]["text"]  # the default language: English
    with i18n.using("ko"):  # the caption in the page's language: the same figures
        ko = grad_arrows.arrows_2d(noise, px, py, (0.2, -0.4), 200.0)["caption"]["text"]
    assert f"×{m:.3g}" not in ko and f"{m:.3g}" in ko and "40°" in ko
    assert "전체 기울기" in ko and "exactly" not in ko
    # a point off the map is drawn at its edge: the arrows start there, the same vectors
    edge = grad_arrows.arrows_2d(noise, px, py, (0.2, -0.4), 200.0, (12.0, py(-0.4)))
    for a, b in zip(edge["arrows"], arrows, strict=True):
        assert (float(a.x1), float(a.y1)) == (12.0, py(-0.4))
        assert float(a.x2) - 12.0 == pytest.approx(float(b.x2) - float(b.x1), abs=0.06)
        assert float(a.y2) == pytest.approx(float(b.y2), abs=0.06)


def test_the_drawings_carry_the_arrows_and_the_caption(tmp_path: Path) -> None:
    t = trainer()
    sl = Slice(t, {"kind": "2d", "directions": "random", "resolution": 5})
    result = sl.compute()
    result["arrows"] = noise_on_plane(t, settings(tmp_path), sl.d1, sl.d2)
    svg = loss_surface.surface_2d(result)
    assert len(re.findall(r'<line class="grad-arrow batch"', svg)) == 6
    assert 'class="grad-arrow full"' in svg and 'id="grad-caption"' in svg
    assert '<span lang="ko">' in svg
    one = Slice(t, {"kind": "1d", "directions": "weights", "weights": [{"layer": 0}]})
    result = one.compute()
    result["arrows"] = noise_on_plane(t, settings(tmp_path), one.d1)
    svg = loss_surface.surface_1d(result)
    slopes = [float(s) for s in re.findall(r'class="grad-tangent" data-slope="([^"]+)"', svg)]
    assert slopes == pytest.approx(result["arrows"]["batches"])
    # without the box: nothing of it
    del result["arrows"]
    assert "grad-" not in loss_surface.surface_1d(result)
