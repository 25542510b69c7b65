"""The network drawing through its stencils (app/page/draw/network_stencil.py) is the template's
own markup, byte for byte: over every view, while phases are stepped (pending layers, the
phase box), with the probe's numbers, a sprite, a frozen scale, PReLU's α, class labels, in
both languages, and frame after frame of training, where the stencil is reused with new
numbers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.page import frames, i18n, names, stencil, templating
from app.page.draw import network, network_layout
from app.page.draw.views import VIEWS
from app.sessions import presets
from engine.trainer import Trainer


def by_template(d: network.Drawing, *args: Any) -> str:
    """The drawing rendered by the template itself, as network.draw did before stencils."""
    net = network_layout.layout(d, *args)
    lg = net.legend
    said = names.network_words(
        i18n.CURRENT.get(), net.view, lg.edge if lg else "", lg.node if lg else "",
        tuple(c.label.text for c in net.columns),
    )  # fmt: skip
    return templating.region("network", {"net": net, "nw": said})


def both(d: network.Drawing, *args: Any) -> tuple[str, str]:
    return network.draw(d, *args), by_template(d, *args)


def config(preset: str, **change: Any) -> dict[str, Any]:
    c = presets.preset_config(preset)
    assert c is not None
    return {**c, **change}


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_frame_after_frame(lang: str, view: str) -> None:
    t = Trainer(config("circle-playground", optimizer={"name": "adam", "lr": 0.03}))
    seen = set()
    with i18n.using(lang):
        for k in range(6):
            t.step(1)
            d = frames.build(t, 0, frames.Look(view=view), False).drawing
            drawn, expected = both(d, f"/api/sessions/s/sprite.png?v={k}", 16)
            assert drawn == expected
            seen.add(drawn)
    assert len(seen) == 6  # the numbers changed every frame, and the stencil followed


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_phases_stepped_one_by_one(lang: str) -> None:
    """Each phase has its own shape (the box around a column, pending layers drawn blank,
    the view the phase produced); none is confused with another."""
    t = Trainer(config("xor-2-4-1"))
    t.step(2)
    with i18n.using(lang):
        for _ in range(2 * len(t._phases) + 1):
            t.step_phase()
            d = frames.build(t, 0, frames.Look(), False).drawing
            for args in ((None, 16), ("/s.png?v=1", 16), (None, 16, (1.5, 2.0, 0.5))):
                drawn, expected = both(d, *args)
                assert drawn == expected


def test_probe_numbers_prelu_alpha_and_class_labels() -> None:
    t = Trainer(config(
        "circle-playground",
        hidden=[{"units": 3, "activation": "prelu"}, {"units": 2, "activation": "tanh"}],
    ))  # fmt: skip
    t.step(3)
    for view in ("activations", "delta", "weights"):
        d = frames.build(t, 0, frames.Look(view=view), False).drawing
        assert d.alphas and any(a is not None for a in d.alphas)
        drawn, expected = both(d, None, 16)
        assert drawn == expected and "data-alpha" in drawn
    digits = Trainer(config("digits-mlp"))
    digits.step(2)
    d = frames.build(digits, 0, frames.Look(), False).drawing
    drawn, expected = both(d, "/d.png?v=2", 10, None, [list(s) for s in d.shown])
    assert drawn == expected and "class-label" in drawn and "+" in drawn


def test_a_changed_shape_gets_its_own_stencil() -> None:
    """Two nets drawn in turn, and the same net in two languages: each keeps its own."""
    stencils = stencil.STENCILS
    small = Trainer(config("xor-2-4-1"))
    deep = Trainer(config("spiral-deep"))
    for _ in range(3):
        for t in (small, deep):
            t.step(1)
            d = frames.build(t, 0, frames.Look(), False).drawing
            for lang in ("en", "ko"):
                with i18n.using(lang):
                    drawn, expected = both(d, None, 16)
                    assert drawn == expected
    assert len(stencils.kept) >= 4


def test_whatever_the_markup_shows_but_numbers_is_its_shape() -> None:
    """The stencil is chosen by the drawing's shape without laying it out (network_stencil
    ``shape_of``): a drawing that differs from one drawn before in any one thing other than
    its numbers gets markup of its own, the template's."""
    t = Trainer(config("circle-playground"))
    t.step(2)
    d = frames.build(t, 0, frames.Look(view="activations"), False).drawing
    first = [list(s) for s in d.shown]
    variants = [
        replace(d, feature_names=["p", "q"]),
        replace(d, labels=["in", "A", "B", "C"][: len(d.labels)]),
        replace(d, units=[u + 3 for u in d.units]),  # "+3" marks
        replace(d, shown=[first[0][::-1], *first[1:]]),  # other data-unit indices
        replace(d, out_names=["one"]),
        replace(d, quantity=("edge words", "node words")),
        replace(d, numbers=not d.numbers),
        replace(d, last_phase={"phase": "forward", "layer": 0}),
        replace(d, last_phase={"phase": "loss", "layer": None}),
        replace(d, computed={0}),
        replace(d, nodes=[n[:1] for n in d.nodes]),  # fewer numbers than units
        replace(d, biases=[[] for _ in d.biases]),
        replace(d, alphas=[[0.25] * len(n) for n in d.nodes]),
        replace(d, inputs=None),
        replace(d, view="gradients"),
    ]
    for args in ((None, 16), ("/s.png", 16), ("/s.png", 12), ("/s.png", 16, None, first[::-1]),
                 (None, 16, (1.0, 2.0, 3.0))):  # fmt: skip
        for v in (d, *variants):
            drawn, expected = both(v, *args)
            assert drawn == expected
