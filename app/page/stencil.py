"""Region markup rendered once per shape and filled in every frame: stencils.

A running session's page regions change from frame to frame mostly in their numbers; what is
around them — which elements there are, where, with what labels, in which language — is the
region's *shape*, and stays the same for many frames. So a region's template is rendered once
per shape with a numbered mark in place of each changing value (:data:`MARK`), and that markup
is cut at the marks into a :class:`Stencil`; a frame of that shape is the stencil's pieces with
its values between them. The template stays the one source of the markup (the tests check
that a stencil's output equals the template's, byte for byte); this spares the page rendering
it 30 times a second per session.

Two users: the network drawing (app/page/draw/network_stencil.py: its shape and values cut out
of its layout) and the flat regions drawn every frame, the counters (:func:`flat`: a dict of
words and numbers).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup, escape

MARK = "\ue000%d\ue001"  # private-use characters: no value, word or escape makes them
_CUT = re.compile("\ue000(\\d+)\ue001")
KEPT = 256  # stencils kept (a shape per region, network, view, phase box and language in use)


class Stencil:
    """Markup cut at the marks: ``pieces[0] + values[slots[0]] + pieces[1] + …``."""

    def __init__(self, markup: str) -> None:
        parts = _CUT.split(markup)
        self.pieces = parts[0::2]
        self.slots = [int(n) for n in parts[1::2]]
        # the templates write the values in the order they were numbered (they do today):
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


class Stencils:
    """The stencils of the shapes drawn lately (least recently used dropped past :data:`KEPT`);
    one per process, shared by every session and thread that draws."""

    def __init__(self) -> None:
        self.kept: OrderedDict[Hashable, Stencil] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, marked: Callable[[], str]) -> Stencil:
        """The stencil of shape ``key``; ``marked()`` renders its markup with the marks when
        none is kept (outside the lock: another thread may render the same meanwhile)."""
        with self.lock:
            stencil = self.kept.get(key)
            if stencil is not None:
                self.kept.move_to_end(key)
                return stencil
        stencil = Stencil(marked())
        with self.lock:
            self.kept[key] = stencil
            while len(self.kept) > KEPT:
                self.kept.popitem(last=False)
        return stencil


STENCILS = Stencils()


def flat(
    name: str, context: Hashable, values: dict[str, str], render: Callable[[dict[str, str]], str]
) -> Markup:
    """``render(values)``, a region's template over a dict of strings it writes escaped (the
    counters), from a stencil. The shape: the region, ``context`` (the language), the keys,
    and which values are empty (a template may test them: those are passed as they are)."""
    shape = tuple((k, bool(v)) for k, v in values.items())

    def marked() -> str:
        numbered = iter(range(len(values)))
        return render({k: MARK % next(numbered) if v else v for k, v in values.items()})

    stencil = STENCILS.get((name, context, shape), marked)
    return stencil.fill([str(escape(v)) for v in values.values() if v])
