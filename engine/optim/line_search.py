"""The strong-Wolfe line search of L-BFGS (torch.optim.LBFGS's ``line_search_fn="strong_wolfe"``).

Along a descent direction d from θ, with φ(t) = f(θ + t d) and φ'(t) = ∇f(θ + t d)·d, it looks
for a step t satisfying the strong Wolfe conditions (Nocedal & Wright, Numerical Optimization,
algorithms 3.5 and 3.6)::

    φ(t) ≤ φ(0) + c₁ t φ'(0)        (sufficient decrease, c₁ = 1e-4)
    |φ'(t)| ≤ −c₂ φ'(0)              (curvature, c₂ = 0.9)

Phase 1 (bracketing) steps forward from the first trial t until an interval is known to hold
such a point: the decrease fails, φ stops falling, or φ' turns non-negative; between trials t
moves to the minimiser of the cubic through the last two points, kept within
[t + 0.01 (t − t_prev), 10 t]. Phase 2 (zoom) shrinks the bracket [lo, hi] by cubic
interpolation, keeping lo the point with the lower φ; a trial within 10 % of the bracket's
width from an end is pushed to that 10 % when the previous trial was also that close (or
outside), so the bracket keeps shrinking. Both phases together evaluate φ at most ``max_ls``
more times after the first trial; the search also stops once the bracket is shorter than
``tolerance_change`` along d (in max-norm). These are the rules and constants of torch's
``_strong_wolfe`` (itself from Torch7's ``lswolfe.lua``), which the tests check step for step.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from engine.optim.base import Array

Evaluate = Callable[[float], tuple[float, Array]]  # t -> (f(θ + t d), ∇f(θ + t d))


def cubic_minimizer(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimiser of the cubic with values f1, f2 and slopes g1, g2 at x1, x2, clipped to
    ``bounds`` (default: the interval between x1 and x2); their midpoint when the cubic has no
    minimum (its discriminant d₁² − g1 g2 < 0), where d₁ = g1 + g2 − 3 (f1 − f2)/(x1 − x2)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    # written from the farther point so the fraction stays in [0, 1] for a bracketed minimum
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
    return min(max(x, lo), hi)


class _Point:
    """One trial of the search: step t, φ(t), ∇f there, φ'(t)."""

    __slots__ = ("f", "g", "gtd", "t")

    def __init__(self, t: float, f: float, g: Array, gtd: float) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(
    evaluate: Evaluate,
    t: float,
    d: Array,
    f: float,
    g: Array,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, Array, float, int]:
    """(f, ∇f, t, evaluations) at the step chosen from the first trial ``t``; ``f``, ``g`` and
    ``gtd = g·d < 0`` are at t = 0. See the module docstring for the rules."""
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    new = _Point(t, f_new, g_new, float(g_new @ d))
    prev = _Point(0.0, f, g, gtd)
    bracket: list[_Point] = []
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if new.f > f + c1 * new.t * gtd or (ls_iter > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * gtd:
            bracket, done = [new], True
            break
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        # still falling: extrapolate, at least 1 % beyond the last step and at most 10 times it
        t_next = cubic_minimizer(
            prev.t,
            prev.f,
            prev.gtd,
            new.t,
            new.f,
            new.gtd,
            bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10.0),
        )
        prev = new
        f_new, g_new = evaluate(t_next)
        evals += 1
        new = _Point(t_next, f_new, g_new, float(g_new @ d))
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations: the best of the start and the last trial
        bracket = [_Point(0.0, f, g, gtd), new]
    lo, hi = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        a, b = bracket[0], bracket[1]
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t_try = cubic_minimizer(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        top, bottom = max(a.t, b.t), min(a.t, b.t)
        eps = 0.1 * (top - bottom)
        if min(top - t_try, t_try - bottom) < eps:
            # too close to an end (or outside): accept once, then force 10 % inside
            if insufficient or t_try >= top or t_try <= bottom:
                t_try = top - eps if abs(t_try - top) < abs(t_try - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t_try)
        evals += 1
        ls_iter += 1
        trial = _Point(t_try, f_new, g_new, float(g_new @ d))
        if trial.f > f + c1 * trial.t * gtd or trial.f >= bracket[lo].f:
            bracket[hi] = trial
            lo, hi = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(trial.gtd) <= -c2 * gtd:
                done = True
            elif trial.gtd * (bracket[hi].t - bracket[lo].t) >= 0:
                bracket[hi] = bracket[lo]
            bracket[lo] = trial
    best = bracket[lo]
    return best.f, best.g, best.t, evals
