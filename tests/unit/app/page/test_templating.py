"""The page's templates (app/page/templating.py, templates/regions/, templates/macros/): the
markup they write for known numbers, escaping, and that the page and the stream share them.

The drawings' markup is read back with html.parser, as the browser's script reads it: by
element, class and data-* attribute, not by string position."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

from apptools import ROOT

from app.page import controls, templating
from app.page.draw import charts, network
from app.page.draw.palette import diverging


class Elements(HTMLParser):
    """Every element's tag, attributes, text and parents (SVG's self-closing tags too)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self.open: list[dict[str, Any]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": list(self.open)}
        self.found.append(el)
        self.open.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()["tag"] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for el in self.open:  # an element's text includes its children's
            el["text"] += data

    def select(self, tag: str, cls: str | None = None, **data: str) -> list[dict[str, Any]]:
        """Elements by tag, a class among theirs, and data-* values (data_layer="0")."""
        return [
            el
            for el in self.found
            if el["tag"] == tag
            and (cls is None or cls in (el["attrs"].get("class") or "").split())
            and all(el["attrs"].get(k.replace("_", "-")) == v for k, v in data.items())
        ]


def snapshot(units: tuple[int, ...] = (3, 1), drawn: int | None = None) -> dict[str, Any]:
    """A hand-made snapshot of a 2-input net: W[0][1][2] = -0.75, the largest |W| is 1.5.
    ``drawn``: keep only that many units of each layer (as a reduced snapshot does), with the
    true count in ``units``."""
    layers = []
    fan_in = 2
    for n in units:
        W = [[0.25 * ((i + j) % 3 - 1) for j in range(n)] for i in range(fan_in)]
        layers.append({"W": W, "b": [0.1 * (k + 1) for k in range(n)], "units": n})
        fan_in = n
    layers[0]["W"][1][2] = -0.75
    layers[0]["W"][0][0] = 1.5
    if drawn is not None:
        for layer in layers:
            layer["W"] = [row[:drawn] for row in layer["W"][:drawn]]
            layer["b"] = layer["b"][:drawn]
    return {"layers": layers, "last_phase": None}


def test_an_edge_carries_its_value_and_a_stroke_width_computed_from_it() -> None:
    svg = network.network_svg(snapshot(), ["x1", "x2"], "weights", None, None, 16)
    page = Elements(svg)
    (edge,) = page.select("line", "edge", data_layer="0", data_i="1", data_j="2")
    a = edge["attrs"]
    assert a["data-value"] == "-0.75"
    assert a["stroke-width"] == "3.1"  # 0.6 + 5 · |−0.75| / 1.5
    assert a["stroke"] == diverging(-0.5) == "#eecb7c"  # half way to orange: negative
    assert a["x1"] == "92" and a["y1"] == "99"  # right edge of input 1, middle of its box
    assert len(page.select("line", "edge")) == 2 * 3 + 3 * 1
    (bias,) = page.select("rect", "bias", data_layer="0", data_j="2")
    assert bias["attrs"]["data-value"] == "0.3" and bias["text"] == "bias 0.3"
    (node,) = page.select("g", "node", data_layer="1", data_unit="0")
    assert node["attrs"]["data-value"] == "0.1"


def test_columns_are_siblings_not_nested() -> None:
    """Each column group closes: a pending column's style must not reach the columns after it."""
    snap = snapshot()
    svg = network.network_svg(snap, ["x1", "x2"], "delta", None, None, 16, computed={1})
    page = Elements(svg)
    columns = page.select("g", "column")
    assert [c["attrs"]["data-column"] for c in columns] == ["in", "0", "1"]
    assert all([p["tag"] for p in c["parents"]] == ["svg"] for c in columns)
    assert page.select("g", "pending", data_column="0", data_pending="true")
    assert not page.select("g", "pending", data_column="1")
    pending = page.select("line", "pending", data_layer="0")
    assert len(pending) == 6 and all(e["attrs"]["data-value"] == "0" for e in pending)


def test_wide_layers_show_eight_units_with_their_real_indices_and_sprite_tiles() -> None:
    """Layers of 12 and 10 units: the hidden one draws 8 (its largest |value|s) and "+4"; the
    10-unit output is drawn whole (digits' classes). Every drawn unit keeps its real index,
    and its tile is where the full sprite has it."""
    snap = snapshot((12, 10))
    page = Elements(network.network_svg(snap, ["a", "b"], "weights", None, "/s.png", 16))
    assert [el["text"] for el in page.select("text", "more")] == ["+4"]  # 12 − 8
    hidden = [int(el["attrs"]["data-unit"]) for el in page.select("g", "node", data_layer="0")]
    assert len(hidden) == 8 and hidden == sorted(hidden) and len(set(hidden)) == 8
    assert len(page.select("g", "node", data_layer="1")) == 10
    units = page.select("g", "node", data_layer="0")
    for el in units:
        (tile,) = [c for c in page.found if c["tag"] == "svg" and el in c["parents"]]
        assert tile["attrs"]["viewbox"] == f"{(2 + int(el['attrs']['data-unit'])) * 16} 0 16 16"
    (image,) = {el["attrs"]["width"] for el in page.select("image")}
    assert image == str((2 + 12 + 10) * 16)


def test_user_text_is_escaped() -> None:
    """CSV column names and hyper-parameter marks come from users: written as text, never as
    markup (autoescape, no |safe on them)."""
    names = ['<b onclick="x">col</b>', "a&b"]
    svg = network.network_svg(snapshot(), names, "weights", None, None, 16)
    assert "<b" not in svg and "&lt;b onclick=&#34;x&#34;&gt;col&lt;/b&gt;" in svg
    assert [el["text"] for el in Elements(svg).select("text", "feat-label")] == names
    label = "<script>alert(1)</script>"
    chart = charts.line_chart("loss-chart", [1, 2], {"train": [1.0, 0.5]}, False, [(2, label)])
    assert "<script>" not in chart
    (mark,) = Elements(chart).select("line", "hp-mark", data_step="2")
    assert Elements(chart).select("title")[0]["text"] == label and mark


def test_the_page_includes_the_region_templates_the_stream_renders() -> None:
    """index.html's regions are the stream's fragments: the same file, the same markup."""
    source = (ROOT / "templates" / "index.html").read_text()
    for name in ("status", "counters", "phase", "curves", "divergence", "data_controls",
                 "layer_controls", "train_controls", "share"):  # fmt: skip
        assert f'{{% include "regions/{name}.html" %}}' in source, name
    counters = {"epoch": "3", "iteration": "41", "samples_seen": "410", "ipe": "14"}
    fragment = templating.region("counters", {"regions": {"counters": counters}})
    assert '<b id="iteration">41</b>' in fragment
    context = controls.page_context(None, controls.normalized({}), set())
    context["regions"] = {"counters": counters, "phase": {}, "curves": {}, "divergence": None}
    page = templating.ENV.get_template("index.html").render(context)
    assert fragment in page


def test_rendering_does_not_import_the_routes() -> None:
    """Rendering a fragment needs the templating module only, not the page's routes (the
    render layer used to import them for the environment: an upward cycle)."""
    code = (
        "import sys; from app.page import regions; "
        "regions.render_block('counters', {'regions': {'counters': {}}}); "
        "print('app.page.routes' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
