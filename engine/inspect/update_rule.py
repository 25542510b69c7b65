"""The last update of one weight, by its optimizer's own rule, with every intermediate number.

Read after the update phase: the weight now is w_new, the stored update Δ (``trainer.updates``)
gives w_old = w_new − Δ, the stored gradient g (``layer.dW``, penalty and clipping included:
what the optimizer read) is still there, and the optimizer's state holds its values *after* the
step (m_t, v_t, buf_t, …). The rule is re-applied to that one scalar from those numbers, so the
panel's w_new = w_old − (step) equals the trainer's weight only if the rule is the one that ran.
The state before the step (m_{t−1}, …) is solved back from the moment update for display
(m_{t−1} = (m_t − (1 − β₁) g′) / β₁); it is not needed for the step itself.

Rules, with γ the scheduled learning rate and λ the weight decay (torch.optim's pages):

* sgd: g′ = g + λw; buf_t = μ buf_{t−1} + (1 − τ) g′ (buf_1 = g′); step = g′ + μ buf_t (Nesterov)
  or buf_t (μ > 0) or g′; w ← w − γ·step;
* adam: g′ = g + λw; m̂ = m_t / (1 − β₁ᵗ); v̂ = v_t / (1 − β₂ᵗ) (amsgrad: max v);
  w ← w − γ m̂ / (√v̂ + ε);
* adamw: w ← w (1 − γλ) then the adam step without λ in g;
* adagrad: γ̃ = γ / (1 + (t − 1) η); g′ = g + λw; w ← w − γ̃ g′ / (√sum_t + ε);
* rmsprop: g′ = g + λw; ṽ = v_t (centered: v_t − ḡ_t²); μ > 0: w ← w − γ buf_t, else
  w ← w − γ g′ / (√ṽ + ε);
* lbfgs: w ← w + Σ_k t_k d_k over the step's inner iterations, d_k = −H_k g_k (H_k the
  two-loop estimate); newton: w ← w − γ [(H + λI)⁻¹ g]_w. Both solve for the whole vector, so
  the stored Δ is shown with the step's evaluations (and λ), not re-derived from one weight.
"""

from __future__ import annotations

import math
from typing import Any

from engine.inspect.chain import clean
from engine.optim import SecondOrder
from engine.trainer import Trainer


def _state(trainer: Trainer, k: int, key: str, i: int, j: int) -> float | None:
    """State ``key`` of parameter k at [i, j] (None when the optimizer has none yet)."""
    st = trainer.optimizer.state
    if k >= len(st) or key not in st[k]:
        return None
    return float(st[k][key][i, j])


def _back(now: float | None, decay: float, added: float) -> float | None:
    """x_{t−1} from x_t = decay·x_{t−1} + added (None if it cannot be solved)."""
    if now is None or decay == 0:
        return None
    return (now - added) / decay


def last_update(trainer: Trainer, layer: int, i: int, j: int) -> dict[str, Any]:
    """The optimizer's last update of W^layer[i, j] (module docstring); JSON-safe.

    ``available`` is False before the first update and while an iteration is part-way
    through (its update has not run: the stored Δ belongs to the previous gradient)."""
    opt = trainer.optimizer
    net = trainer.net
    k = sum(len(la.params) for la in net.layers[:layer])  # W's index among the parameters
    w_new = float(net.layers[layer].W[i, j])
    out: dict[str, Any] = {"rule": opt.name, "hparams": dict(opt.hparams), "t": opt.t}
    # a trainer restored from a checkpoint keeps no gradient nor Δ: nothing to show until
    # it steps (its output layer then has a δ again)
    recorded = net.layers[-1].delta.shape[0] > 0
    if opt.t == 0 or trainer._cursor != 0 or trainer.iteration == 0 or not recorded:
        return clean({**out, "available": False, "w": w_new})
    h = opt.hparams
    lr = trainer.lr
    stored = float(trainer.updates[k][i, j])
    w_old = w_new - stored
    g = float(net.layers[layer].dW[i, j])
    t = opt.t
    wd = h.get("weight_decay", 0.0)
    g_eff = g + wd * w_old if opt.name != "adamw" else g
    n: dict[str, Any] = {"lr": lr, "g": g, "g_eff": g_eff, "w_old": w_old}
    decay_term = 0.0  # adamw's −γλw, apart from the step
    if opt.name == "sgd":
        mu, tau = h["momentum"], h["dampening"]
        if mu != 0:
            buf = _state(trainer, k, "momentum_buffer", i, j)
            n["buf"] = buf
            n["buf_prev"] = None if t == 1 else _back(buf, mu, (1.0 - tau) * g_eff)
            assert buf is not None
            step = g_eff + mu * buf if h["nesterov"] else buf
        else:
            step = g_eff
        n["step"] = step
        delta = -lr * step
    elif opt.name in ("adam", "adamw"):
        b1, b2, eps = h["beta1"], h["beta2"], h["eps"]
        m = _state(trainer, k, "exp_avg", i, j)
        v = _state(trainer, k, "exp_avg_sq", i, j)
        assert m is not None and v is not None
        n["m"], n["v"] = m, v
        n["m_prev"] = _back(m, b1, (1.0 - b1) * g_eff)
        n["v_prev"] = _back(v, b2, (1.0 - b2) * g_eff * g_eff)
        v_used = v
        if h["amsgrad"]:
            v_used = _state(trainer, k, "max_exp_avg_sq", i, j) or 0.0
            n["v_max"] = v_used
        m_hat = m / (1.0 - b1**t)
        v_hat = v_used / (1.0 - b2**t)
        step = lr * m_hat / (math.sqrt(v_hat) + eps)
        n.update(m_hat=m_hat, v_hat=v_hat, step=step)
        if opt.name == "adamw":
            decay_term = -lr * wd * w_old
            n["w_decayed"] = w_old + decay_term
        delta = decay_term - step
    elif opt.name == "adagrad":
        clr = lr / (1.0 + (t - 1) * h["lr_decay"])
        acc = _state(trainer, k, "sum", i, j)
        assert acc is not None
        n.update(clr=clr, sum=acc, sum_prev=acc - g_eff * g_eff)
        step = clr * g_eff / (math.sqrt(acc) + h["eps"])
        n["step"] = step
        delta = -step
    elif opt.name == "rmsprop":
        alpha, mu, eps = h["alpha"], h["momentum"], h["eps"]
        v = _state(trainer, k, "square_avg", i, j)
        assert v is not None
        n["v"] = v
        n["v_prev"] = _back(v, alpha, (1.0 - alpha) * g_eff * g_eff)
        v_tilde = v
        if h["centered"]:
            gbar = _state(trainer, k, "grad_avg", i, j)
            assert gbar is not None
            n["g_avg"] = gbar
            v_tilde = max(v - gbar * gbar, 0.0)
        n["v_tilde"] = v_tilde
        scaled = g_eff / (math.sqrt(v_tilde) + eps)
        n["scaled"] = scaled
        if mu > 0:
            buf = _state(trainer, k, "momentum_buffer", i, j)
            assert buf is not None
            n["buf"] = buf
            n["buf_prev"] = _back(buf, mu, scaled)
            step = lr * buf
        else:
            step = lr * scaled
        n["step"] = step
        delta = -step
    elif isinstance(opt, SecondOrder):
        # the step solves for the whole vector at once (a two-loop recursion over every
        # weight's history, or (H + λI)⁻¹g): one weight's Δ cannot be re-derived from its own
        # numbers, so the panel shows the formula and the stored Δ with what the step did
        n.update(
            {k: v for k, v in opt.last_info.items() if k in ("n_evals", "n_iter", "damping")}
        )
        n["accepted"] = opt.last_info.get("accepted", True)
        n["step"] = stored
        delta = stored
    else:  # an optimizer this panel does not know: the stored numbers only
        return clean(
            {
                **out,
                "available": True,
                "known": False,
                "numbers": n,
                "delta": stored,
                "stored": stored,
                "w_new": w_old + stored,
                "w": w_new,
            }
        )
    n["decay_term"] = decay_term
    return clean(
        {
            **out,
            "available": True,
            "known": True,
            "numbers": n,
            "delta": delta,  # the rule's w_new − w_old
            "stored": stored,  # the trainer's
            "w_new": w_old + delta,
            "w": w_new,
        }
    )
