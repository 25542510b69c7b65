"""The loss-surface panel, kept live by the page stream.

The page asks for a surface with ``PUT .../ui {"surface": {...}}``; every connected page then
runs one :class:`SurfaceLive` task beside its frame loop. It never blocks the event loop: each
piece of engine work runs in a worker thread under the session's lock, one small piece at a
time, so training keeps going between pieces.

* 2-D: the grid is computed a few rows at a time (:meth:`engine.inspect.landscape.Slice.rows`),
  one chunk after the other; each chunk is drawn as it arrives, with ``#surface-progress``
  counting rows. Once drawn, the
  current point and the path are re-projected onto that plane every frame while training moves,
  and the contour map itself is recomputed every ``CONTOUR_SECONDS`` (the old one stays drawn
  meanwhile).
* 1-D: the curve, current point and tangent are recomputed every ``CURVE_SECONDS``.
* With ``gradients`` in the request, the full-batch and mini-batch gradients at the current
  point (app/page/surface_arrows.py) are drawn on either: recomputed whenever the weights
  moved, at most every ``ARROW_SECONDS`` or ``ARROW_SHARE``⁻¹ times the last computation's
  time, whichever is longer (a big net then holds the session's lock for at most that share of
  the time); a frame in between keeps the last arrows and asks again next tick, so the arrows
  on a paused session are its weights'. Ticking the box alone redraws; it does not recompute
  the map.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.page.draw import loss_surface, palette
from app.page.i18n import t
from app.page.surface_arrows import noise_on_plane
from app.page.surface_view import ENGINE_ERRORS, note_1d, spec_of
from engine.inspect.directions import project
from engine.inspect.landscape import Slice, landscape
from engine.numbers import finite

TICK = 0.1  # seconds between looks at the session (and the 2-D point's frame rate)
CURVE_SECONDS = 0.5
CONTOUR_SECONDS = 4.0
ROWS_PER_CHUNK = 4
ARROW_SECONDS = 0.2
ARROW_SHARE = 0.1


@dataclass
class Grid:
    """A 2-D slice in progress or done: what the drawing needs to move the point later."""

    info: dict[str, Any]
    rows: Any  # iterator of (start, losses) from Slice.rows()
    grid: Any  # (betas, alphas) losses, NaN where not computed yet
    origin: Any
    d1: Any
    d2: Any
    done: int = 0
    started: float = field(default_factory=time.monotonic)


class SurfaceLive:
    """One page's live surface: call :meth:`run` as a task; :meth:`take` the fragments."""

    def __init__(self, session: Any, manager: Any, ui: Any) -> None:
        self.session, self.manager, self.ui = session, manager, ui
        self.version = 0
        self.out: dict[str, str] = {}
        self.shown: Grid | None = None  # the contour map on screen
        self.next: Grid | None = None  # the one being computed
        self.progressive = False
        self.seen: tuple[int, int] | None = None  # (generation, iteration) last drawn
        self.last_curve = 0.0
        self.generation = -1
        self.sent: dict[str, str] = {}
        self.request: dict[str, Any] = {}  # the last request, without the gradients box
        self.box: Any = None  # the gradients box of the last request
        self.arrows: dict[str, Any] | None = None  # the gradients last drawn, and where
        self.arrows_at: tuple[Any, ...] = ()  # (generation, iteration, plane) they are of
        self.arrows_time = 0.0
        self.arrows_cost = 0.0  # seconds the last computation took

    def take(self) -> dict[str, str]:
        out, self.out = self.out, {}
        return out

    def _emit(self, wake: asyncio.Event, **fragments: str) -> None:
        fresh = {k.replace("_", "-"): v for k, v in fragments.items()}
        fresh = {k: v for k, v in fresh.items() if self.sent.get(k) != v}
        if fresh:
            self.sent.update(fresh)
            self.out.update(fresh)
            wake.set()

    # ---- engine work (worker threads, under the session's lock) ------------------------------

    def _marker(self) -> tuple[int, int]:
        with self.session.lock:
            t = self.manager.load(self.session)
            return self.session.generation, int(t.iteration)

    def _curve(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self.session.lock:
            t = self.manager.load(self.session)
            if not self._want_arrows():
                return dict(landscape(t, spec))
            sl = Slice(t, spec)
            result = dict(sl.compute())
            result["arrows"] = noise_on_plane(t, self.manager.settings, sl.d1)
            return result

    def _want_arrows(self) -> bool:
        return bool((self.ui.surface or {}).get("gradients"))

    def _arrows(self, g: Grid) -> dict[str, Any] | None:
        """The gradients at the current point on ``g``'s plane, or None without the box. Kept
        while the weights stay put; while they move, recomputed at most every ARROW_SECONDS."""
        if not self._want_arrows():
            return None
        now = time.monotonic()
        with self.session.lock:
            t = self.manager.load(self.session)
            at = (self.session.generation, int(t.iteration), id(g))
            same_plane = self.arrows_at[2:] == (id(g),)
            wait = max(ARROW_SECONDS, self.arrows_cost / ARROW_SHARE)
            if at == self.arrows_at or (same_plane and now - self.arrows_time < wait):
                return self.arrows
            if g.origin.shape != t.net.theta.shape:
                return None
            self.arrows = noise_on_plane(t, self.manager.settings, g.d1, g.d2)
        self.arrows_at, self.arrows_time = at, now
        self.arrows_cost = time.monotonic() - now
        return self.arrows

    def _arrows_stale(self, marker: tuple[int, int]) -> bool:
        """Are the arrows on screen of older weights than ``marker``'s?"""
        return self._want_arrows() and self.arrows_at[:2] != marker

    def _start(self, spec: dict[str, Any], frame: Grid | None = None) -> Grid:
        """A new slice through the current weights. With ``frame`` (a map already shown), the
        slice keeps that map's plane directions, origin and window, so the point and the path
        keep their place on screen and the map is redrawn around where training now is."""
        with self.session.lock:
            t = self.manager.load(self.session)
            size = int(np.asarray(t.net.theta).shape[0])
            if frame is not None and frame.origin.shape == (size,):
                # same plane, same window: the grid moves with θ, the axes stay
                sl = Slice.along(
                    t,
                    frame.d1,
                    frame.d2,
                    alphas=frame.info["alphas"],
                    betas=frame.info["betas"],
                    origin=frame.origin,
                    split=frame.info.get("split", "train"),
                )
                info = dict(frame.info, iteration=t.iteration)
                origin = frame.origin
            else:
                sl = Slice(t, spec)
                info, origin = sl.info, sl.theta
        grid = np.full((len(sl.betas), len(sl.alphas)), np.nan)
        return Grid(info, sl.rows(ROWS_PER_CHUNK), grid, origin, sl.d1, sl.d2)

    def _chunk(self, g: Grid) -> bool:
        """Compute the next rows of ``g``; False once the grid is complete."""
        with self.session.lock:
            piece = next(g.rows, None)
        if piece is None:
            return False
        start, losses = piece
        g.grid[start : start + losses.shape[0]] = losses
        g.done = start + losses.shape[0]
        return True

    def _inside(self, g: Grid) -> bool:
        """Is the current point well inside ``g``'s window (as last drawn)?"""
        a, b = g.info.get("last_point", (0.0, 0.0))
        span_a, span_b = g.info["alphas"][-1], g.info["betas"][-1]
        return abs(a) < 0.8 * span_a and abs(b) < 0.8 * span_b

    def _where(self, g: Grid) -> tuple[list[list[float]], list[float]]:
        """The path and the current point projected on ``g``'s plane."""
        with self.session.lock:
            t = self.manager.load(self.session)
            theta = np.asarray(t.net.theta, dtype=np.float64).copy()
            path, _ = t.trajectory.to_now(theta, t.iteration)  # ends where θ is now
        if theta.shape != g.origin.shape:
            return [], [0.0, 0.0]
        coords = project(path, g.origin, g.d1, g.d2)
        pts = [[float(a), float(b)] for a, b in coords if np.isfinite(a) and np.isfinite(b)]
        cur = pts[-1] if pts else [0.0, 0.0]
        g.info["last_point"] = tuple(cur)
        return pts, cur

    # ---- drawing -----------------------------------------------------------------------------

    def _draw_2d(self, g: Grid) -> str:
        path, (a, b) = self._where(g)
        computed = g.grid[np.isfinite(g.grid)]
        result = dict(g.info)
        result["losses"] = finite(g.grid)
        result["path"] = path
        result["current"] = {"alpha": a, "beta": b}
        arrows = self._arrows(g)
        if arrows is not None:
            result["arrows"] = arrows
        result["min"] = float(computed.min()) if computed.size else None
        result["max"] = float(computed.max()) if computed.size else None
        rows = len(g.grid)
        note = t(
            "%(points)s points of the path; loss %(low)s … %(high)s; contours from iteration "
            "%(iteration)s"
        ) % {
            "points": len(path),
            "low": palette.fmt(result["min"]),
            "high": palette.fmt(result["max"]),
            "iteration": g.info["iteration"],
        }
        if g.done < rows:
            note = t("computing: %(done)s of %(rows)s rows") % {"done": g.done, "rows": rows}
        return loss_surface.region(loss_surface.surface_2d(result), note)

    @staticmethod
    def _draw_1d(result: dict[str, Any]) -> str:
        return loss_surface.region(loss_surface.surface_1d(result), note_1d(result))

    # ---- the loop ----------------------------------------------------------------------------

    async def run(self, wake: asyncio.Event) -> None:
        while True:
            # a grid on its way to the screen goes on at once (each chunk is one short piece
            # of work in a thread, so requests and training still go between two): waiting a
            # tick after every chunk made a 41×41 surface take a second to appear
            busy = self.next is not None and self.progressive
            await asyncio.sleep(0 if busy else TICK)
            try:
                await self._tick(wake)
            except ENGINE_ERRORS as exc:
                self.shown = self.next = None
                self._emit(wake, surface=loss_surface.failed(exc), surface_progress="")

    async def _tick(self, wake: asyncio.Event) -> None:
        # the version first: a request landing between the two reads then shows up as a new
        # version on the next tick, instead of the old request being taken for the new one
        version = self.ui.surface_version
        want = self.ui.surface
        if want is None:
            return
        marker = await asyncio.to_thread(self._marker)
        request = {k: v for k, v in want.items() if k != "gradients"}
        # a new request, unless only the gradients box changed (then: redraw, keep the map)
        asked = version != self.version
        box_only = asked and request == self.request and want.get("gradients") != self.box
        fresh = (asked and not box_only) or marker[0] != self.generation
        self.version, self.generation = version, marker[0]
        self.request, self.box = request, want.get("gradients")
        if box_only:
            self.seen, self.last_curve, self.arrows_at = None, 0.0, ()
        if fresh:
            self.shown = self.next = None  # stop drawing the old request, even if this one fails
        spec = await asyncio.to_thread(spec_of, self.session, self.manager, want)
        if fresh:  # a new request (or a reset network): start over, progressively
            self.shown = self.next = None
            self.seen = None
            self.last_curve = 0.0
            if spec["kind"] == "2d":
                self.next = await asyncio.to_thread(self._start, spec)
                self.progressive = True
                self._emit(wake, surface_progress="computing…")
        moved = marker != self.seen
        now = time.monotonic()
        if spec["kind"] == "1d":
            if moved and now - self.last_curve >= CURVE_SECONDS:
                self.seen, self.last_curve = marker, now
                result = await asyncio.to_thread(self._curve, spec)
                self._emit(wake, surface=self._draw_1d(result), surface_progress="")
            return
        await self._tick_2d(wake, spec, marker, moved, now)

    async def _tick_2d(
        self, wake: asyncio.Event, spec: dict[str, Any], marker: Any, moved: bool, now: float
    ) -> None:
        g = self.next
        if g is not None:
            more = await asyncio.to_thread(self._chunk, g)
            rows = len(g.grid)
            if self.progressive:
                progress = t("computing: %(done)s of %(rows)s rows") % {
                    "done": g.done,
                    "rows": rows,
                } if more else ""
                html = await asyncio.to_thread(self._draw_2d, g)
                self._emit(wake, surface=html, surface_progress=progress)
            if not more:
                self.shown, self.next, self.progressive = g, None, False
                self.seen = None  # draw the finished map now
            elif self.progressive:
                return
        shown = self.shown
        if shown is None:
            return
        if moved or self._arrows_stale(marker):
            self.seen = marker
            html = await asyncio.to_thread(self._draw_2d, shown)
            self._emit(wake, surface=html)
            stale = now - shown.started >= CONTOUR_SECONDS
            if self.next is None and stale and marker[1] != shown.info["iteration"]:
                keep = shown if self._inside(shown) else None  # off the map: centre a new one
                self.next = await asyncio.to_thread(self._start, spec, keep)
