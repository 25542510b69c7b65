"""The NumPy export's update step as source: schedule, penalty, clipping and optimizer.

Each optimizer is written for the one this session uses, with its hyper-parameters as
constants, following the same torch.optim pseudo-code as engine/optim: every rule is
elementwise, so applying it parameter by parameter gives the engine's flat-vector numbers.
The state ``S[name][key]`` (torch's ``optimizer.state[p][key]``) uses torch's state names
(``exp_avg``, ``momentum_buffer``, ...).
"""

from __future__ import annotations

from typing import Any

OPTIMIZER_NAMES = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULE_NAMES = ("constant", "step", "exponential", "cosine")


def state_keys(name: str, h: dict[str, Any]) -> list[str]:
    """The state this optimizer reads with these hyper-parameters."""
    if name == "sgd":
        return ["momentum_buffer"] if h["momentum"] != 0 else []
    if name == "adagrad":
        return ["sum"]
    if name == "rmsprop":
        return (
            ["square_avg"]
            + (["grad_avg"] if h["centered"] else [])
            + (["momentum_buffer"] if h["momentum"] > 0 else [])
        )
    return ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if h["amsgrad"] else [])


def schedule(name: str, p: dict[str, Any]) -> str:
    """``learning_rate(epoch)``: the schedule's closed form from BASE_LR."""
    if name == "constant":
        body, doc = "return BASE_LR", "constant"
    elif name == "step":
        body = f"return BASE_LR * {p['gamma']!r} ** (epoch // {p['step_size']!r})"
        doc = "step decay (torch StepLR): base · gamma^floor(epoch / step_size)"
    elif name == "exponential":
        body, doc = f"return BASE_LR * {p['gamma']!r} ** epoch", "exponential (torch ExponentialLR)"
    elif name == "cosine":
        eta, tmax = repr(p["eta_min"]), repr(p["t_max"])
        cos = f"(1.0 + math.cos(math.pi * epoch / {tmax})) / 2.0"
        body = f"return {eta} + (BASE_LR - {eta}) * {cos}"
        doc = "cosine annealing (torch CosineAnnealingLR, closed form)"
    else:
        raise KeyError(name)
    return f'def learning_rate(epoch):\n    """{doc}."""\n    {body}\n'


def optimizer(name: str, h: dict[str, Any]) -> str:
    """``optimizer_step(grads, lr)``: updates P and S in place, counts opt_t."""
    wd = h.get("weight_decay", 0.0)
    decay = f"        g = g + {wd!r} * p  # weight decay λθ added to the gradient\n" if wd else ""
    if name == "sgd":
        mu, damp = h["momentum"], h["dampening"]
        doc = "SGD" + (f", momentum {mu!r}" if mu else "")
        doc += " (Nesterov)" if h["nesterov"] else ""
        body = decay
        if mu:
            keep = "g" if damp == 0 else f"{1.0 - damp!r} * g"
            body += (
                '        if "momentum_buffer" not in s:  # the first step: b = g\n'
                '            s["momentum_buffer"] = g.copy()\n'
                "        else:\n"
                f'            s["momentum_buffer"] = {mu!r} * s["momentum_buffer"] + {keep}\n'
                '        b = s["momentum_buffer"]\n'
                + (f"        g = g + {mu!r} * b\n" if h["nesterov"] else "        g = b\n")
            )
        body += "        P[name] = p - lr * g\n"
    elif name == "adagrad":
        doc = "Adagrad: θ ← θ − γ̃ g / (√sum + ε), γ̃ = γ / (1 + (t − 1) η)"
        body = (
            f"        clr = lr / (1.0 + (opt_t - 1) * {h['lr_decay']!r})\n"
            + decay
            + '        s["sum"] = s["sum"] + g * g\n'
            f'        P[name] = p - clr * (g / (np.sqrt(s["sum"]) + {h["eps"]!r}))\n'
        )
    elif name == "rmsprop":
        al, mu = repr(h["alpha"]), h["momentum"]
        doc = "RMSprop: v ← αv + (1 − α)g², θ ← θ − γ g / (√v + ε)"
        body = decay + (
            f'        v = s["square_avg"] = {al} * s["square_avg"] + (1.0 - {al}) * g * g\n'
        )
        if h["centered"]:
            body += (
                f'        gbar = s["grad_avg"] = {al} * s["grad_avg"] + (1.0 - {al}) * g\n'
                "        avg = np.sqrt(np.maximum(v - gbar * gbar, 0.0))  # centered: variance\n"
            )
        else:
            body += "        avg = np.sqrt(v)\n"
        body += f"        g = g / (avg + {h['eps']!r})\n"
        if mu > 0:
            body += (
                f'        b = s["momentum_buffer"] = {mu!r} * s["momentum_buffer"] + g\n'
                "        P[name] = p - lr * b\n"
            )
        else:
            body += "        P[name] = p - lr * g\n"
    elif name in ("adam", "adamw"):
        b1, b2 = repr(h["beta1"]), repr(h["beta2"])
        doc = "Adam" if name == "adam" else "AdamW (decoupled weight decay)"
        doc += (" with AMSGrad" if h["amsgrad"] else "") + ": θ ← θ − γ m̂ / (√v̂ + ε)"
        body = (decay if name == "adam" else "") + (
            f'        m = s["exp_avg"] = {b1} * s["exp_avg"] + (1.0 - {b1}) * g\n'
            f'        v = s["exp_avg_sq"] = {b2} * s["exp_avg_sq"] + (1.0 - {b2}) * g * g\n'
        )
        if h["amsgrad"]:
            body += '        v = s["max_exp_avg_sq"] = np.maximum(s["max_exp_avg_sq"], v)\n'
        body += (
            f"        denom = np.sqrt(v) / math.sqrt(1.0 - {b2} ** opt_t) + {h['eps']!r}\n"
            f"        step = m / denom * (lr / (1.0 - {b1} ** opt_t))\n"
        )
        if name == "adamw":
            body += f"        P[name] = p * (1.0 - lr * {wd!r}) - step\n"
        else:
            body += "        P[name] = p - step\n"
    else:
        raise KeyError(name)
    return (
        "def optimizer_step(grads, lr):\n"
        f'    """{doc}."""\n'
        "    global opt_t\n"
        "    opt_t += 1\n"
        "    for name, p in list(P.items()):\n"
        "        g = grads[name]\n"
        "        s = S[name]  # this parameter's state\n" + body
    )


def penalty(kind: str, rate: float) -> str:
    """``penalty()`` and ``add_penalty_grad(grads)``: weights only, never biases."""
    if kind == "l2":
        value = f'{rate!r} / 2 * sum(float((w * w).sum()) for k, w in P.items() if k[0] == "W")'
        grad = f"{rate!r} * P[k]"
        doc = f"L2: (λ/2) Σ w², λ = {rate!r}"
    elif kind == "l1":
        value = f'{rate!r} * sum(float(np.abs(w).sum()) for k, w in P.items() if k[0] == "W")'
        grad = f"{rate!r} * np.sign(P[k])"
        doc = f"L1: λ Σ |w|, λ = {rate!r}"
    else:
        return (
            'def penalty():\n    """No regularization."""\n    return 0.0\n\n\n'
            "def add_penalty_grad(grads):\n    pass\n"
        )
    return (
        f'def penalty():\n    """{doc} (weights only)."""\n    return {value}\n\n\n'
        "def add_penalty_grad(grads):\n"
        "    for k in grads:\n"
        '        if k[0] == "W":\n'
        f"            grads[k] = grads[k] + {grad}\n"
    )


def clipping(clip: float | None) -> str:
    """``clip_gradients(grads)`` -> the norm before clipping (torch clip_grad_norm_)."""
    body = "    norm = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))\n"
    if clip is not None:
        body += (
            f"    coef = {clip!r} / (norm + 1e-6)\n"
            "    if coef < 1.0:  # scale the whole gradient down to the norm bound\n"
            "        for k in grads:\n"
            "            grads[k] = grads[k] * coef\n"
        )
        doc = f"Scale the gradient to total norm ≤ {clip!r}; returns the norm before."
    else:
        doc = "The gradient's total norm (no clipping in this session)."
    return f'def clip_gradients(grads):\n    """{doc}"""\n{body}    return norm\n'
