"""L-BFGS (torch.optim.LBFGS): a quasi-Newton step from the last few steps' curvature.

One ``step`` is up to ``max_iter`` inner iterations on the current batch, each re-evaluating
the loss as torch's ``closure`` does (g: the flat gradient, θ the parameters)::

    first iteration ever:  d = −g, H₀ = 1
    later ones:            y = g − g_prev, s = t_prev d_prev; if yᵀs > 1e-10 keep (s, y) (at
                           most history_size pairs, oldest dropped) and set H₀ = yᵀs / yᵀy;
                           d = −H g by the two-loop recursion over the kept pairs:
                             q = −g; newest→oldest pair: αᵢ = ρᵢ sᵢᵀq, q −= αᵢ yᵢ  (ρᵢ = 1/yᵢᵀsᵢ)
                             r = H₀ q; for pairs oldest→newest: βᵢ = ρᵢ yᵢᵀr, r += (αᵢ − βᵢ) sᵢ
    step length:           t = min(1, 1/‖g‖₁) · lr on the very first iteration, else t = lr
    stop if gᵀd > −tolerance_change (not a descent direction)
    move:                  θ ← θ + t d, t from the strong-Wolfe search (line_search_fn) or fixed;
                           then f, g at the new θ (one evaluation; none after the last iteration
                           without a line search)

and the step ends after ``max_iter`` iterations, ``max_eval`` evaluations (default
max_iter·5//4), or when max|g| ≤ tolerance_grad, max|t d| ≤ tolerance_change or
|f − f_prev| < tolerance_change. A step whose starting max|g| ≤ tolerance_grad changes nothing.

The memory (d, t, g_prev, f_prev, the pairs, H₀, the counters) carries over between steps, as in
torch: the next step's first y compares the new batch's gradient with the last one kept.
``lr`` is the scheduled rate. The record's ``n_evals`` counts the step's loss evaluations, the
trainer's own forward-backward pass included (torch's ``current_evals``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.optim.base import Array, _shapes, learning_rate
from engine.optim.line_search import strong_wolfe
from engine.optim.second_order import Objective, SecondOrder
from engine.registry import Param


class LBFGS(SecondOrder):
    """L-BFGS: a quasi-Newton direction from the last history_size steps, with a line search.

    Extra state (besides ``d`` and ``prev_flat_grad``, flat per parameter): ``old_dirs`` (yᵢ),
    ``old_stps`` (sᵢ), ``ro`` (ρᵢ), ``H_diag``, ``t``, ``prev_loss``, ``n_iter``, ``func_evals``.
    """

    name = "lbfgs"
    params = (
        learning_rate(1.0),
        Param("max_iter", 20, kind="int", low=1, high=1000, doc="inner iterations per step"),
        Param(
            "max_eval",
            None,
            kind="int",
            low=1,
            high=10000,
            nullable=True,
            doc="loss evaluations per step (default max_iter·5/4)",
        ),
        Param("tolerance_grad", 1e-7, low=0.0, doc="stop when max|g| is at most this"),
        Param("tolerance_change", 1e-9, low=0.0, doc="stop when the loss or step changes less"),
        Param("history_size", 100, kind="int", low=1, high=1000, doc="(s, y) pairs kept"),
        Param(
            "line_search_fn",
            None,
            kind="choice",
            choices=("strong_wolfe",),
            nullable=True,
            doc="None (fixed step lr) or strong_wolfe",
        ),
    )
    state_keys = ("d", "prev_flat_grad")
    extra_state = ("memory",)

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.memory: dict[str, Any] = _fresh_memory()

    def _solve(
        self, theta: Array, f0: float, g0: Array, objective: Objective, lr: float
    ) -> dict[str, Any]:
        h = self.hparams
        mem = self.memory
        max_iter, history = h["max_iter"], h["history_size"]
        max_eval = h["max_eval"] if h["max_eval"] is not None else max_iter * 5 // 4
        tol_grad, tol_change = h["tolerance_grad"], h["tolerance_change"]
        loss, grad = f0, g0
        evals = 1
        mem["func_evals"] += 1
        if float(np.abs(grad).max()) <= tol_grad:  # already optimal: torch returns at once
            return {"n_evals": evals, "n_iter": 0}
        d = self._buffers.get("d")
        prev_grad = self._buffers.get("prev_flat_grad")
        t = mem["t"]
        dirs, stps, ro = mem["old_dirs"], mem["old_stps"], mem["ro"]
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            mem["n_iter"] += 1
            if mem["n_iter"] == 1:
                d = -grad
                dirs.clear()
                stps.clear()
                ro.clear()
                mem["H_diag"] = 1.0
            else:
                assert d is not None and prev_grad is not None and t is not None
                y = grad - prev_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep only pairs with positive curvature: H stays positive
                    # torch drops one pair when full (`==`); `>=` also trims after a live
                    # cut of history_size, which torch's own check would let grow for good
                    while len(dirs) >= history:
                        del dirs[0], stps[0], ro[0]
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    mem["H_diag"] = ys / float(y @ y)
                d = _two_loop(grad, dirs, stps, ro, mem["H_diag"])
            prev_grad = grad.copy()
            mem["prev_loss"] = loss
            # the very first step is scaled down to at most 1/‖g‖₁ (no curvature known yet)
            t = min(1.0, 1.0 / float(np.abs(grad).sum())) * lr if mem["n_iter"] == 1 else lr
            gtd = float(grad @ d)
            if gtd > -tol_change:
                break
            if h["line_search_fn"] == "strong_wolfe":
                start = theta.copy()
                loss, grad, t, ls_evals = strong_wolfe(
                    lambda step: objective(start + step * d),  # noqa: B023 (d is fixed here)
                    t,
                    d,
                    loss,
                    grad,
                    gtd,
                    max_ls=max_eval - evals,
                )
                theta += t * d
            else:
                theta += t * d
                ls_evals = 0
                if n_iter != max_iter:
                    loss, grad = objective(theta)
                    ls_evals = 1
            evals += ls_evals
            mem["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval:
                break
            if float(np.abs(grad).max()) <= tol_grad:
                break
            if float(np.abs(d * t).max()) <= tol_change:
                break
            if abs(loss - mem["prev_loss"]) < tol_change:
                break
        assert d is not None and prev_grad is not None
        self._adopt("d", d)
        self._adopt("prev_flat_grad", prev_grad)
        mem["t"] = float(t) if t is not None else None
        return {"n_evals": evals, "n_iter": n_iter}

    # -- serialising: the flat buffers as the base class keeps them, plus the memory -------------
    def state_dict(self) -> dict[str, Any]:
        out = super().state_dict()
        mem = self.memory
        out["memory"] = {
            **{k: mem[k] for k in ("H_diag", "t", "prev_loss", "n_iter", "func_evals")},
            "ro": list(mem["ro"]),
            "old_dirs": [v.tolist() for v in mem["old_dirs"]],
            "old_stps": [v.tolist() for v in mem["old_stps"]],
        }
        return out

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        memory = None
        if isinstance(d, Mapping):
            size = sum(math.prod(s) for s in _shapes("optimizer lbfgs state_dict", d.get("shapes")))
            memory = _checked_memory(d.get("memory"), size)
        super().load_state_dict(d)
        assert memory is not None
        self.memory = memory


def _two_loop(
    grad: Array, dirs: list[Array], stps: list[Array], ro: list[float], h_diag: float
) -> Array:
    """d = −H g, H the L-BFGS inverse-Hessian estimate from the pairs (module docstring)."""
    q = -grad
    alphas = [0.0] * len(dirs)
    for i in range(len(dirs) - 1, -1, -1):
        alphas[i] = float(stps[i] @ q) * ro[i]
        q -= alphas[i] * dirs[i]
    r = q * h_diag
    for i in range(len(dirs)):
        beta = float(dirs[i] @ r) * ro[i]
        r += (alphas[i] - beta) * stps[i]
    return r


def _fresh_memory() -> dict[str, Any]:
    return {
        "old_dirs": [],
        "old_stps": [],
        "ro": [],
        "H_diag": 1.0,
        "t": None,
        "prev_loss": None,
        "n_iter": 0,
        "func_evals": 0,
    }


def _checked_memory(value: Any, size: int) -> dict[str, Any]:
    """The ``memory`` of a state dict as arrays; ValueError naming the field."""
    where = "optimizer lbfgs state_dict: invalid memory"
    if value is None:
        return _fresh_memory()
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object")
    mem = _fresh_memory()
    try:
        for key in ("n_iter", "func_evals"):
            mem[key] = int(value[key])
        mem["H_diag"] = float(value["H_diag"])
        for key in ("t", "prev_loss"):
            mem[key] = None if value[key] is None else float(value[key])
        mem["ro"] = [float(r) for r in value["ro"]]
        for key in ("old_dirs", "old_stps"):
            mem[key] = [np.asarray(v, dtype=np.float64) for v in value[key]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    n = len(mem["ro"])
    if len(mem["old_dirs"]) != n or len(mem["old_stps"]) != n:
        raise ValueError(f"{where}: old_dirs, old_stps and ro must have the same length")
    arrays = [*mem["old_dirs"], *mem["old_stps"]]
    if any(a.shape != (size,) or not np.isfinite(a).all() for a in arrays):
        raise ValueError(
            f"{where}: old_dirs and old_stps must be lists of {size} finite numbers each"
        )
    if mem["n_iter"] < 0 or mem["func_evals"] < 0:
        raise ValueError(f"{where}: n_iter and func_evals must be >= 0")
    return mem
