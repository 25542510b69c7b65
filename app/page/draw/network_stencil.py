"""The network drawing's markup, rendered once per shape and filled in every frame.

A running session's drawing changes from frame to frame only in its numbers: the edges' values,
colours and widths; the units' values, fills, biases, α and probe numbers; the legend's scale
and the sprite's address. Everything around them — which elements there are, where, with what
labels, in which language — is its *shape*, and stays the same for as long as the network,
the view, the phase highlight and the drawn units do.

So ``templates/regions/network.html`` is rendered once per shape with a numbered mark in place
of each changing value (:data:`MARK`), and the markup is cut at the marks into a
:class:`Stencil`; a frame of that shape is the stencil's pieces with its values between them.
The template stays the one source of the markup (``tests/unit/app/page/test_network_stencil.py``
checks that a stencil's frames equal the template's, byte for byte); this only spares the page
rendering it 30 times a second per session: the drawing's template was half of its cost, and
the drawing the largest part of a page frame's.

The values are written as the template writes them: the macros write them unescaped (numbers
and colours network_layout.py formatted), and the one escaped value, the sprite's address, is
escaped here (``shape`` carries whether the template will escape it: it always does).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape

from app.page.draw.network_layout import (
    Bias,
    ColumnLayout,
    EdgeLayer,
    EdgeRow,
    Layout,
    Legend,
    Node,
    Sprite,
    Text,
)

MARK = "\ue000%d\ue001"  # private-use characters: no value, word or escape makes them
_CUT = re.compile("\ue000(\\d+)\ue001")
KEPT = 256  # stencils kept (a shape per network, view, phase box and language in use)


class Stencil:
    """Markup cut at the marks: ``pieces[0] + values[slots[0]] + pieces[1] + …``."""

    def __init__(self, markup: str) -> None:
        parts = _CUT.split(markup)
        self.pieces = parts[0::2]
        self.slots = [int(n) for n in parts[1::2]]
        # the template writes the values in the order they were numbered (it does today):
        # then they go between the pieces as they come
        self.in_order = self.slots == list(range(len(self.slots)))

    def fill(self, values: list[str]) -> Markup:
        """The markup with ``values`` in place (markup as the template's was: safe to
        include; the values are written as the template writes them)."""
        if len(values) != len(self.slots) or not self.in_order:
            values = [values[slot] for slot in self.slots]
        out = self.pieces + values  # [p0, v0, p1, v1, …, pn], interleaved in place
        out[0::2], out[1::2] = self.pieces, values
        return Markup("".join(out))


def cut(net: Layout) -> tuple[tuple[Any, ...], list[str]]:
    """(the shape of ``net``, its changing values in the order :func:`marked` numbers them)."""
    values: list[str] = []
    add = values.extend
    shape: list[Any] = [net.width, net.height, net.view, net.node, net.highlight]
    for layer in net.edges:
        shape.append((layer.layer, layer.x1, layer.x2, layer.pending))
        for i, y1, row in layer.rows:
            shape.append((i, y1, tuple([e[0] for e in row]), tuple([e[2] for e in row])))
            for _, number, _, stroke, width in row:
                add((number, stroke, width))
    for col in net.columns:
        shape.append((col.key, col.label, col.pending, col.more, len(col.nodes)))
        for key, unit, value, x, y, fill, tile, label, b, num, alpha in col.nodes:
            # what the template tests (a value, a bias, a number, an α being there) is shape
            shape.append((
                key, unit, value is None, x, y, tile, label, b.value == "", b.x, b.y,
                num and (num.x, num.y), alpha is None,
            ))  # fmt: skip
            if value is not None:
                values.append(value)
            values.append(fill)
            if b.value:
                add((b.value, b.fill, b.title))
            if num:
                values.append(num.text)
            if alpha is not None:
                values.append(alpha)
    sprite, legend = net.sprite, net.legend
    if sprite is not None:
        # the template escapes the address (macros/network.html: href = url|e)
        values.append(str(escape(sprite.href)))
    if legend is not None:
        add((legend.scale, legend.node_scale))
    shape.append(sprite and (sprite.width, sprite.height))
    shape.append(legend and (legend.edge, legend.node, legend.fixed))
    return tuple(shape), values


def marked(net: Layout) -> Layout:
    """``net`` with :data:`MARK` ``n`` in place of its value ``n`` (in :func:`cut`'s order)."""
    count = iter(range(1 << 30))

    def v(_: str) -> str:
        return MARK % next(count)

    edges = [
        EdgeLayer(layer.layer, layer.x1, layer.x2, layer.pending, [
            EdgeRow(i, y1, [(j, v(value), y2, v(stroke), v(width))
                            for j, value, y2, stroke, width in row])
            for i, y1, row in layer.rows
        ])
        for layer in net.edges
    ]  # fmt: skip
    columns: list[ColumnLayout] = []
    for col in net.columns:
        nodes: list[Node] = []
        for n in col.nodes:
            b, num = n.bias, n.number
            value = None if n.value is None else v(n.value)
            fill = v(n.fill)
            bias = Bias(v(b.value), b.x, b.y, v(b.fill), v(b.title)) if b.value else b
            number = num and Text(num.x, num.y, v(num.text))
            alpha = None if n.alpha is None else v(n.alpha)
            nodes.append(Node(
                n.layer, n.unit, value, n.x, n.y, fill, n.tile, n.label, bias, number, alpha
            ))  # fmt: skip
        columns.append(ColumnLayout(col.key, col.label, col.pending, nodes, col.more))
    sprite, legend = net.sprite, net.legend
    if sprite is not None:
        sprite = Sprite(v(sprite.href), sprite.width, sprite.height)
    if legend is not None:
        legend = Legend(
            legend.edge, legend.node, v(legend.scale), v(legend.node_scale), legend.fixed
        )
    return replace(net, sprite=sprite, edges=edges, columns=columns, legend=legend)


class Stencils:
    """The stencils of the shapes drawn lately (least recently used dropped past :data:`KEPT`);
    one per process, shared by every session and thread that draws (``render`` is called
    with the words of the page's language already chosen)."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple[Any, ...], Stencil] = OrderedDict()
        self.lock = threading.Lock()

    def draw(
        self, net: Layout, context: tuple[Any, ...], render: Callable[[Layout], str]
    ) -> Markup:
        """``net`` as ``render`` would write it; ``context``: what else the markup depends on
        (the language and the words chosen for it)."""
        shape, values = cut(net)
        key = (context, shape)
        with self.lock:
            stencil = self.kept.get(key)
            if stencil is not None:
                self.kept.move_to_end(key)
        if stencil is None:  # rendered outside the lock: another thread may do the same
            stencil = Stencil(render(marked(net)))
            with self.lock:
                self.kept[key] = stencil
                while len(self.kept) > KEPT:
                    self.kept.popitem(last=False)
        return stencil.fill(values)


STENCILS = Stencils()
