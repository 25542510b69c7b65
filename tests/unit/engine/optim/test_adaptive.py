"""RMSprop, Adam and AdamW: two steps of every option worked out by hand (torch.optim's documented
algorithms and defaults)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optimtools import check, state, two_steps

from engine.optim import OPTIMIZERS


# -- RMSprop (ε = 1e-8) ------------------------------------------------------------------------
def test_rmsprop_plain() -> None:
    opt, thetas = two_steps("rmsprop", {})  # α = 0.99
    # v₁ = 0.01·0.25 = 0.0025; v₂ = 0.99·0.0025 + 0.01·0.0625 = 0.0031
    t1 = 1.0 - 0.1 * 0.5 / (math.sqrt(0.0025) + 1e-8)
    check(thetas, t1, t1 - 0.1 * -0.25 / (math.sqrt(0.0031) + 1e-8))
    assert state(opt, "square_avg") == pytest.approx(0.0031, rel=1e-14)
    assert set(opt.state[0]) == {"square_avg"}


def test_rmsprop_momentum() -> None:
    opt, thetas = two_steps("rmsprop", {"alpha": 0.9, "momentum": 0.9})
    # v₁ = 0.1·0.25 = 0.025; v₂ = 0.9·0.025 + 0.1·0.0625 = 0.02875
    b1 = 0.5 / (math.sqrt(0.025) + 1e-8)  # b₀ = 0
    b2 = 0.9 * b1 + -0.25 / (math.sqrt(0.02875) + 1e-8)
    check(thetas, 1.0 - 0.1 * b1, (1.0 - 0.1 * b1) - 0.1 * b2)
    assert state(opt, "momentum_buffer") == pytest.approx(b2, rel=1e-12)


def test_rmsprop_centered() -> None:
    opt, thetas = two_steps("rmsprop", {"alpha": 0.9, "centered": True})
    # ḡ₁ = 0.1·0.5 = 0.05, ṽ₁ = 0.025 − 0.05² = 0.0225 (√ = 0.15)
    # ḡ₂ = 0.9·0.05 + 0.1·(−0.25) = 0.02, ṽ₂ = 0.02875 − 0.02² = 0.02835
    t1 = 1.0 - 0.1 * 0.5 / (0.15 + 1e-8)
    check(thetas, t1, t1 - 0.1 * -0.25 / (math.sqrt(0.02835) + 1e-8))
    assert state(opt, "grad_avg") == pytest.approx(0.02, rel=1e-14)


def test_rmsprop_weight_decay() -> None:
    opt, thetas = two_steps("rmsprop", {"alpha": 0.9, "weight_decay": 0.1})
    # g₁ = 0.6, v₁ = 0.1·0.36 = 0.036; g₂ = −0.25 + 0.1·θ₁, v₂ = 0.9·0.036 + 0.1·g₂²
    t1 = 1.0 - 0.1 * 0.6 / (math.sqrt(0.036) + 1e-8)
    g2 = -0.25 + 0.1 * t1
    check(thetas, t1, t1 - 0.1 * g2 / (math.sqrt(0.9 * 0.036 + 0.1 * g2 * g2) + 1e-8))


def test_rmsprop_centered_constant_gradient_stays_finite() -> None:
    # v − ḡ² → 0 for a constant gradient; rounding must not make its square root NaN
    opt = OPTIMIZERS.create("rmsprop", {"centered": True, "alpha": 0.5})
    p = np.zeros(3)
    g = np.array([0.1, 1e-3, 3.0])
    for _ in range(200):
        opt.step([p], [g], 1e-3)
    assert np.isfinite(p).all()


# -- Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) -----------------------------------------------------
def test_adam_plain() -> None:
    opt, thetas = two_steps("adam", {})
    # m₁ = 0.1·0.5 = 0.05, v₁ = 0.001·0.25 = 0.00025 → m̂₁ = 0.5, v̂₁ = 0.25
    # m₂ = 0.9·0.05 + 0.1·(−0.25) = 0.02, v₂ = 0.999·0.00025 + 0.001·0.0625 = 0.00031225
    t1 = 1.0 - 0.1 * (0.05 / (1 - 0.9)) / (math.sqrt(0.00025 / (1 - 0.999)) + 1e-8)
    t2 = t1 - 0.1 * (0.02 / (1 - 0.9**2)) / (math.sqrt(0.00031225 / (1 - 0.999**2)) + 1e-8)
    check(thetas, t1, t2)
    assert state(opt, "exp_avg") == pytest.approx(0.02, rel=1e-14)
    assert state(opt, "exp_avg_sq") == pytest.approx(0.00031225, rel=1e-14)
    assert set(opt.state[0]) == {"exp_avg", "exp_avg_sq"}


def test_adam_amsgrad() -> None:
    # β₂ = 0.5 so that v falls: v₁ = 0.5·0.25 = 0.125, v₂ = 0.5·0.125 + 0.5·0.0625 = 0.09375
    opt, thetas = two_steps("adam", {"beta2": 0.5, "amsgrad": True})
    t1 = 1.0 - 0.1 * (0.05 / 0.1) / (math.sqrt(0.125 / (1 - 0.5)) + 1e-8)
    # vmax₂ = max(0.125, 0.09375) = 0.125, then bias-corrected: v̂₂ = 0.125 / (1 − 0.5²) = 1/6
    # (max of the bias-corrected v̂ would give max(0.25, 0.125) = 0.25 instead)
    t2 = t1 - 0.1 * (0.02 / (1 - 0.9**2)) / (math.sqrt(0.125 / (1 - 0.5**2)) + 1e-8)
    check(thetas, t1, t2)
    assert state(opt, "max_exp_avg_sq") == 0.125
    assert state(opt, "exp_avg_sq") == pytest.approx(0.09375, rel=1e-15)
    _, plain = two_steps("adam", {"beta2": 0.5})  # without the max: v̂₂ = 0.09375/0.75 = 0.125
    no_max = t1 - 0.1 * (0.02 / (1 - 0.9**2)) / (math.sqrt(0.09375 / (1 - 0.5**2)) + 1e-8)
    assert plain[1] == pytest.approx(no_max, rel=1e-12)
    assert abs(plain[1] - t2) > 1e-3


def test_adam_weight_decay() -> None:
    opt, thetas = two_steps("adam", {"weight_decay": 0.1})
    # g₁ = 0.6: m₁ = 0.06, v₁ = 0.00036 → m̂₁ = 0.6, v̂₁ = 0.36; g₂ = −0.25 + 0.1·θ₁
    t1 = 1.0 - 0.1 * (0.06 / (1 - 0.9)) / (math.sqrt(0.00036 / (1 - 0.999)) + 1e-8)
    g2 = -0.25 + 0.1 * t1
    m2 = 0.9 * 0.06 + 0.1 * g2
    v2 = 0.999 * 0.00036 + 0.001 * g2 * g2
    check(thetas, t1, t1 - 0.1 * (m2 / (1 - 0.9**2)) / (math.sqrt(v2 / (1 - 0.999**2)) + 1e-8))


# -- AdamW (λ = 0.01 by default: θ ← θ(1 − 0.1·0.01) = 0.999 θ before each Adam step) ----------
def test_adamw_plain() -> None:
    opt, thetas = two_steps("adamw", {})
    t1 = 1.0 * 0.999 - 0.1 * (0.05 / (1 - 0.9)) / (math.sqrt(0.00025 / (1 - 0.999)) + 1e-8)
    t2 = t1 * 0.999 - 0.1 * (0.02 / (1 - 0.9**2)) / (math.sqrt(0.00031225 / (1 - 0.999**2)) + 1e-8)
    check(thetas, t1, t2)


def test_adamw_amsgrad() -> None:
    opt, thetas = two_steps("adamw", {"beta2": 0.5, "amsgrad": True, "weight_decay": 0.5})
    # decay factor 1 − 0.1·0.5 = 0.95; moments as in test_adam_amsgrad (vmax₂ = 0.125)
    t1 = 1.0 * 0.95 - 0.1 * (0.05 / 0.1) / (math.sqrt(0.125 / 0.5) + 1e-8)
    t2 = t1 * 0.95 - 0.1 * (0.02 / (1 - 0.9**2)) / (math.sqrt(0.125 / (1 - 0.5**2)) + 1e-8)
    check(thetas, t1, t2)


def test_adamw_without_decay_is_adam() -> None:
    assert two_steps("adamw", {"weight_decay": 0.0})[1] == two_steps("adam", {})[1]
