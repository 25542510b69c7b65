"""The live numbers a lesson's checks read ("facts"), gathered from what a page frame has.

Every fact comes from something the page already holds — the session (status, config), the
frame's counters (``frame.snap``), the loss curves' metric rows (full-set losses and accuracies,
every 0.5 s of training and at a run's end, with the gradient flow of that step), the recent
batch losses, the last gradient check the page ran — so checking a lesson costs no training
pass. A fact that is not known yet (no metric row, no gradient check) is None: its check waits.

Derived facts, with L_t the train loss of metric row t (t = 0: the run's first row):

    train_loss_drop   = 1 − L_last / L_0
    test_loss_rise    = T_last / min_t T_t − 1          (T: test loss; > 0 once it turned up)
    loss_gap          = T_last − L_last
    grad_ratio        = ‖dL/dW₁‖ / ‖dL/dW_L‖            (first layer over the output layer)
    batch_loss_noise  = mean |ℓ_s − ℓ_{s−1}| / mean ℓ_s   (ℓ_s: batch loss of step s, last 200)

The last is how jagged the training curve is: about 0 for full-batch gradient descent (each
step lowers the same loss a little), largest for batch size 1 (each step sees one example).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# name -> what it is (the API's catalog says this; the page's check lines say it in words)
FACTS: dict[str, str] = {
    "status": "the session's status: running, paused, finished or diverged",
    "generation": "the weights' generation: a reset starts the next one",
    "iteration": "iterations (steps) run in this generation",
    "epoch": "epochs completed",
    "iterations_per_epoch": "iterations one epoch takes: ⌈n_train / batch_size⌉",
    "n_train": "training examples",
    "batch_size": "examples per mini-batch",
    "lr": "the learning rate now",
    "optimizer": "the optimizer's name",
    "activation": "the first hidden layer's activation",
    "batchnorm": "whether batch normalization is on",
    "train_loss": "full training-set loss at the last metric row",
    "val_loss": "validation loss at the last metric row",
    "test_loss": "test loss at the last metric row",
    "train_acc": "training accuracy at the last metric row",
    "val_acc": "validation accuracy at the last metric row",
    "test_acc": "test accuracy at the last metric row",
    "train_loss_drop": "1 − last train loss / first train loss of the run",
    "test_loss_rise": "last test loss / lowest test loss − 1",
    "loss_gap": "test loss − train loss at the last metric row",
    "grad_ratio": "first layer's ‖dL/dW‖ over the output layer's, at the last metric row",
    "output_grad_norm": "the output layer's ‖dL/dW‖ on the last batch",
    "grad_norm": "‖gradient‖ of the last batch (all parameters)",
    "batch_loss_noise": "mean step-to-step change of the batch loss over its mean (last 200)",
    "last_phase": "the phase that just ran: forward N, loss, backward N, update",
    "gradcheck_error": "relative error of the page's last gradient check",
    "gradcheck_evals": "loss evaluations that gradient check took (2 per weight)",
    "gradcheck_params": "parameters that gradient check covered",
    "gradcheck_evals_per_param": "loss evaluations per parameter checked (2: w + ε and w − ε)",
}

# facts read from the curves' metric rows: a check "after epoch E" on one of these also waits
# for a row at or past that epoch's last step (rows come every 0.5 s and at a run's end)
METRIC_FACTS = frozenset(
    {
        "train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc",
        "train_loss_drop", "test_loss_rise", "loss_gap", "grad_ratio",
    }
)

ROUGHNESS_STEPS = 200


def phase_name(p: dict[str, Any] | None) -> str | None:
    """``{"phase": "backward", "layer": 1}`` → "backward 2" (layers counted from 1)."""
    if not p or p.get("phase") is None:
        return None
    layer = p.get("layer")
    return f"{p['phase']} {layer + 1}" if layer is not None else str(p["phase"])


def noise(losses: Sequence[float]) -> float | None:
    """mean |Δℓ| / mean ℓ of a run of batch losses (None under 10 steps or a zero mean)."""
    if len(losses) < 10:
        return None
    steps = [abs(b - a) for a, b in zip(losses, losses[1:], strict=False)]
    mean = sum(losses) / len(losses)
    if not mean or not math.isfinite(mean):
        return None
    return (sum(steps) / len(steps)) / mean


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not math.isfinite(a / b):
        return None
    return a / b


def gather(
    public: dict[str, Any],
    snap: dict[str, Any],
    curves: Any,
    batch_losses: Sequence[float] = (),
    gradcheck: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every fact of :data:`FACTS` (None where unknown) from the session's public view, the
    frame's counters, the curves (``app.page.draw.charts.Curves``), the recent batch losses
    and the page's last gradient check (``engine.inspect.gradcheck`` result) of this weights'
    generation."""
    config = public["config"]
    hidden = config.get("hidden") or []
    facts: dict[str, Any] = {
        "status": public["status"],
        "generation": public.get("generation"),
        "iteration": snap.get("iteration"),
        "epoch": snap.get("epoch"),
        "iterations_per_epoch": snap.get("iterations_per_epoch"),
        "n_train": snap.get("n_train"),
        "batch_size": snap.get("batch_size"),
        "lr": snap.get("lr"),
        "optimizer": config["optimizer"]["name"],
        "activation": hidden[0].get("activation") if hidden else None,
        "batchnorm": bool(config.get("batchnorm")),
        "grad_norm": snap.get("grad_norm"),
        "last_phase": phase_name(snap.get("last_phase")),
        "batch_loss_noise": noise(list(batch_losses)[-ROUGHNESS_STEPS:]),
    }
    for split in ("train", "val", "test"):
        facts[f"{split}_loss"] = curves.last(split)
        facts[f"{split}_acc"] = curves.last(split, "acc")
    train = [v for v in curves.loss["train"] if v is not None]
    test = [v for v in curves.loss["test"] if v is not None]
    drop = _ratio(train[-1], train[0]) if train else None
    facts["train_loss_drop"] = None if drop is None else 1.0 - drop
    rise = _ratio(test[-1], min(test)) if test else None
    facts["test_loss_rise"] = None if rise is None else rise - 1.0
    last_train, last_test = facts["train_loss"], facts["test_loss"]
    facts["loss_gap"] = (
        last_test - last_train if last_test is not None and last_train is not None else None
    )
    flow = next((f for f in reversed(curves.flow) if f), None)
    norms = (flow or {}).get("grad_norm") or []
    facts["grad_ratio"] = _ratio(norms[0], norms[-1]) if len(norms) >= 2 else None
    facts["output_grad_norm"] = norms[-1] if norms else None
    gc = gradcheck or {}
    facts["gradcheck_error"] = gc.get("relative_error")
    facts["gradcheck_evals"] = gc.get("loss_evaluations")
    facts["gradcheck_params"] = gc.get("checked")
    facts["gradcheck_evals_per_param"] = _ratio(gc.get("loss_evaluations"), gc.get("checked"))
    return facts


def metrics_step(curves: Any) -> int | None:
    """The step of the curves' last metric row (None before the first)."""
    return curves.steps[-1] if curves.steps else None
