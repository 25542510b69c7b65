"""The network drawing's markup, rendered once per shape and filled in every frame.

A running session's drawing changes from frame to frame only in its numbers: the edges' values,
colours and widths; the units' values, fills, biases, α and probe numbers; the legend's scale
and the sprite's address. Everything around them — which elements there are, where, with what
labels, in which language — is its *shape*, and stays the same for as long as the network,
the view, the phase highlight and the drawn units do.

So ``templates/regions/network.html`` is rendered once per shape, from the drawing's layout
(app/page/draw/network_layout.py) with a numbered mark in place of each changing value, and
the markup is cut at the marks into a stencil (app/page/stencil.py); a frame of that shape is
the stencil's pieces with its values between them. A frame is not laid out at all: its shape
is read off the drawing (:func:`shape_of`: what the layout places follows from it) and its
values are made straight from its numbers (:func:`values_of`, by the functions the layout's
records take them from: app/page/draw/network_numbers.py). The layout was two thirds of a
frame's drawing; the page's render thread draws a thousand frames a second for a class.

The template stays the one source of the markup (``tests/unit/app/page/test_network_stencil.py``
checks that frames equal the template's, byte for byte, over every view, phase, probe, sprite
and frozen scale, and for drawings that differ from one drawn before in any one thing but their
numbers). The values are written as the template writes them: the macros write them unescaped
(numbers and colours), and the one escaped value, the sprite's address, is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape

from app.page.draw.network_layout import (
    Bias,
    ColumnLayout,
    Drawing,
    EdgeLayer,
    EdgeRow,
    Layout,
    Legend,
    Node,
    Sprite,
    Text,
    highlight,
    layout,
    shown_columns,
)
from app.page.draw.network_numbers import column_numbers, edge_numbers
from app.page.draw.palette import fmt
from app.page.stencil import MARK, STENCILS


def shape_of(
    d: Drawing,
    sprite_url: str | None,
    tile: int,
    fixed: tuple[float, float, float] | None,
    tiles: list[list[int]] | None,
) -> tuple[Any, ...]:
    """What the markup of drawing ``d`` (drawn as by :func:`network_layout.layout`) depends on
    besides its numbers: which units each column draws of how many, with what labels; which
    numbers each column has (how many: a unit past them has none); the view, its words, the
    phase box, the pending layers, PReLU's α being there; the sprite's tiles, a frozen scale.
    Everything :func:`network_layout.layout` places follows from these."""
    return (
        d.view, d.n_layers, d.quantity, d.numbers,
        tuple(d.labels), tuple(d.units), _tuples(d.shown),
        tuple(d.feature_names), None if d.out_names is None else tuple(d.out_names),
        highlight(d.last_phase, d.n_layers),
        None if d.computed is None else tuple(sorted(d.computed)),
        -1 if d.inputs is None else len(d.inputs),
        tuple(map(len, d.nodes)), tuple(map(len, d.biases)),
        None if d.alphas is None else tuple(not a for a in d.alphas),
        sprite_url is None, tile, None if tiles is None else _tuples(tiles), fixed is None,
    )  # fmt: skip


def _tuples(lists: list[list[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(map(tuple, lists))


def values_of(
    d: Drawing,
    sprite_url: str | None,
    tile: int,
    fixed: tuple[float, float, float] | None,
    tiles: list[list[int]] | None,
) -> list[str]:
    """The changing values of drawing ``d`` in the order :func:`marked` numbers them, straight
    from its numbers (network_numbers.py, as the layout has them) without its layout."""
    cols, pending, shows, _ = shown_columns(d, tiles)
    wpeak, npeak, bpeak = fixed or d.peaks
    values: list[str] = []
    for li, matrix in enumerate(d.edges):
        numbers, strokes, widths = edge_numbers(
            matrix, cols[li].drawn, cols[li + 1].drawn, wpeak, pending[li]
        )
        edges = numbers * 3  # (number, stroke, width) per edge, in place
        edges[0::3], edges[1::3], edges[2::3] = numbers, strokes, widths
        values += edges
    add = values.append
    tiled = sprite_url is not None
    for col, shown in zip(cols, shows, strict=True):
        for value, fill, bias, number, alpha in column_numbers(
            col.drawn, col.key == "in", shown, (npeak, bpeak), tiled
        ):
            if value is not None:
                add(value)
            add(fill)
            if bias is not None:
                values += bias
            if number is not None:
                add(number)
            if alpha is not None:
                add(alpha)
    if sprite_url is not None:  # the template escapes the address (macros/network.html)
        add(str(escape(sprite_url)))
    values += (fmt(wpeak, 3), fmt(npeak, 3))  # the legend's scales
    return values


def marked(net: Layout) -> Layout:
    """``net`` with :data:`MARK` ``n`` in place of its value ``n`` (in :func:`values_of`'s
    order: the order the template writes them)."""
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


def draw(
    d: Drawing,
    args: tuple[str | None, int, tuple[float, float, float] | None, list[list[int]] | None],
    context: tuple[Any, ...],
    render: Callable[[Layout], str],
) -> Markup:
    """Drawing ``d`` as ``render`` writes its layout (``args``: the sprite's address, the
    tile, a frozen scale, the sprite's tiles, as :func:`network_layout.layout` takes them),
    from the stencil of its shape (app/page/stencil.py); ``context``: what else the markup
    depends on (the language). Its layout is made only when a new shape's stencil is."""
    key = (context, shape_of(d, *args))
    stencil = STENCILS.get(key, lambda: render(marked(layout(d, *args))))
    return stencil.fill(values_of(d, *args))
