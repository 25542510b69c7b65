"""Engine benchmarks, as ratios against floors run in the same process.

* train step with everything the stream needs recorded (per-layer z, a, δ, dW, db, Δ, the
  optimizer state, loss, gradient norm, step record) on 2-8-8-1 tanh / batch 10 / 500 points,
  against a bare NumPy forward/backward/SGD loop for the same net (the floor);
* the same for 64-128-64-10 ReLU / batch 64 / Adam on digits, floor with a bare Adam;
* a 41×41 2-D landscape of the 2-8-8-1 net against a naive loop of one loss evaluation per
  grid point;
* plain training speed after phase stepping and probe reads were used (should be ~1.0×).

Timings use ``time.perf_counter`` and the best of several repeats, A and B interleaved.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from engine.inspect import readouts
from engine.inspect.landscape import Slice
from engine.trainer import Trainer

SMALL = {
    "dataset": {
        "name": "circle",
        "n_samples": 500,
        "noise": 0.1,
        "seed": 1,
        "split": {"train": 1.0, "val": 0.0, "test": 0.0},
    },
    "hidden": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}],
    "optimizer": {"name": "sgd", "lr": 0.03},
    "batch_size": 10,
    "seed": 0,
}
DIGITS = {
    "dataset": {"name": "digits", "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
    "hidden": [
        {"units": 64, "activation": "relu"},
        {"units": 128, "activation": "relu"},
        {"units": 64, "activation": "relu"},
    ],
    "init": {"name": "he_uniform"},
    "optimizer": {"name": "adam", "lr": 1e-3},
    "batch_size": 64,
    "seed": 0,
}


def best_rate(fn: Callable[[int], object], n: int, repeats: int = 5) -> float:
    """Best iterations/s of ``fn(n)`` over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - t0)
    return n / best


def floor_loop(trainer: Trainer, adam: bool) -> Callable[[int], None]:
    """A bare NumPy loop: same net, data, batches and update rule; nothing recorded."""
    x_all, y_all = trainer.data.x_train, trainer.data.y_train
    Ws = [layer.W.copy() for layer in trainer.net.layers]
    bs = [layer.b.copy() for layer in trainer.net.layers]
    acts = [layer.activation.name for layer in trainer.net.layers]
    params = [p for pair in zip(Ws, bs, strict=True) for p in pair]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(0)
    n_train, batch = x_all.shape[0], trainer.batch_size
    lr = trainer.optimizer.hparams["lr"]
    state = {"perm": rng.permutation(n_train), "ptr": 0, "t": 0}

    def run(steps: int) -> None:
        for _ in range(steps):
            idx = state["perm"][state["ptr"] : state["ptr"] + batch]
            x, y = x_all[idx], y_all[idx]
            hs = [x]
            for W, b, act in zip(Ws, bs, acts, strict=True):
                u = hs[-1] @ W + b
                hs.append(np.tanh(u) if act == "tanh" else np.maximum(u, 0) if act == "relu" else u)
            z = hs[-1]
            if acts[-1] == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                p = e / e.sum(axis=1, keepdims=True)
                delta = p
                delta[np.arange(len(y)), y] -= 1.0
                delta /= len(y)
            else:
                delta = (1.0 / (1.0 + np.exp(-z)) - y) / y.size
            grads = []
            for i in range(len(Ws) - 1, -1, -1):
                grads = [hs[i].T @ delta, delta.sum(axis=0)] + grads
                if i:
                    g = delta @ Ws[i].T
                    delta = g * (1 - hs[i] ** 2) if acts[i - 1] == "tanh" else g * (hs[i] > 0)
            state["t"] += 1
            for k, (p, g) in enumerate(zip(params, grads, strict=True)):
                if adam:
                    m[k] *= 0.9
                    m[k] += 0.1 * g
                    v[k] *= 0.999
                    v[k] += 0.001 * g * g
                    t = state["t"]
                    p -= lr / (1 - 0.9**t) * m[k] / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)
                else:
                    p -= lr * g
            state["ptr"] += batch
            if state["ptr"] >= n_train:
                state["ptr"] = 0
                state["perm"] = rng.permutation(n_train)

    return run


def train_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for label, config, adam, steps in (
        ("2-8-8-1 tanh, batch 10, SGD", SMALL, False, 3000),
        ("64-128-64-10 ReLU, batch 64, Adam, digits", DIGITS, True, 600),
    ):
        trainer = Trainer(config)
        floor = floor_loop(trainer, adam)
        rates, floors = [], []
        for _ in range(3):  # interleave A and B so machine drift hits both
            rates.append(best_rate(trainer.step, steps, 2))
            floors.append(best_rate(floor, steps, 2))
        rate, floor_rate = max(rates), max(floors)
        rows.append(
            (
                label,
                f"{rate:,.0f} steps/s",
                f"{floor_rate:,.0f} steps/s",
                f"{floor_rate / rate:.2f}x floor time",
            )
        )
    return rows


def landscape_row() -> tuple[str, str, str, str]:
    config = dict(SMALL, dataset=dict(SMALL["dataset"]))
    trainer = Trainer(config)
    trainer.step(200)
    spec = {"kind": "2d", "directions": "random", "resolution": 41}

    def vectorised() -> float:
        t0 = time.perf_counter()
        Slice(trainer, spec).compute()
        return time.perf_counter() - t0

    def naive() -> float:
        s = Slice(trainer, spec)
        net = trainer.net
        theta0 = [p.copy() for p in net.params]
        t0 = time.perf_counter()
        for b in s.betas:
            for a in s.alphas:
                k = 0
                for layer_d1, layer_d2 in zip(s.d1_layers, s.d2_layers or [], strict=True):
                    for d1, d2 in zip(layer_d1, layer_d2, strict=True):
                        np.copyto(net.params[k], theta0[k] + a * d1 + b * d2)
                        k += 1
                net.data_loss(s.x, s.y)
        elapsed = time.perf_counter() - t0
        for p, p0 in zip(net.params, theta0, strict=True):
            np.copyto(p, p0)
        return elapsed

    fast = min(vectorised() for _ in range(5))
    slow = min(naive() for _ in range(3))
    return (
        "41x41 landscape, 2-8-8-1, 500 points",
        f"{fast * 1000:.0f} ms",
        f"{slow * 1000:.0f} ms naive",
        f"{slow / fast:.1f}x faster",
    )


def phase_row() -> tuple[str, str, str, str]:
    plain = Trainer(SMALL)
    used = Trainer(SMALL)
    for _ in range(3 * len(used._phases)):
        used.step_phase()
    readouts.snapshot(used, {"probe", "gradients", "updates", "optimizer"})
    a, b = [], []
    for _ in range(3):
        a.append(best_rate(plain.step, 3000, 2))
        b.append(best_rate(used.step, 3000, 2))
    per_phase = best_rate(lambda n: [used.step_phase() for _ in range(n)], 3000, 2)
    return (
        "plain step after phase stepping + probe",
        f"{max(b):,.0f} steps/s",
        f"{max(a):,.0f} steps/s never used",
        f"{max(a) / max(b):.2f}x (phases: {per_phase:,.0f}/s)",
    )


def main() -> None:
    rows = [("benchmark", "ours", "baseline", "ratio")]
    rows += train_rows()
    rows.append(landscape_row())
    rows.append(phase_row())
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
