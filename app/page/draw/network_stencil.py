"""The network drawing's markup, rendered once per shape and filled in every frame.

A running session's drawing changes from frame to frame only in its numbers: the edges' values,
colours and widths; the units' values, fills, biases, α and probe numbers; the legend's scale
and the sprite's address. Everything around them — which elements there are, where, with what
labels, in which language — is its *shape*, and stays the same for as long as the network,
the view, the phase highlight and the drawn units do.

So ``templates/regions/network.html`` is rendered once per shape with a numbered mark in place
of each changing value, and the markup is cut at the marks into a stencil (app/page/stencil.py);
a frame of that shape is the stencil's pieces with its values between them.
The template stays the one source of the markup (``tests/unit/app/page/test_network_stencil.py``
checks that a stencil's frames equal the template's, byte for byte); this only spares the page
rendering it 30 times a second per session: the drawing's template was half of its cost, and
the drawing the largest part of a page frame's.

The values are written as the template writes them: the macros write them unescaped (numbers
and colours network_layout.py formatted), and the one escaped value, the sprite's address, is
escaped here (``shape`` carries whether the template will escape it: it always does).
"""

from __future__ import annotations

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
from app.page.stencil import MARK, STENCILS


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


def draw(net: Layout, context: tuple[Any, ...], render: Callable[[Layout], str]) -> Markup:
    """``net`` as ``render`` would write it, from the stencil of its shape (app/page/stencil.py);
    ``context``: what else the markup depends on (the language and the words chosen for it)."""
    shape, values = cut(net)
    return STENCILS.get((context, shape), lambda: render(marked(net))).fill(values)
