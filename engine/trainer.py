"""The trainer: a model, an optimizer and the data, driven at every grain.

One iteration (a mini-batch step) is a fixed sequence of phases::

    forward 0, forward 1, …, forward L-1, loss, backward L-1, …, backward 0, update

``step_phase()`` runs the next one and stops; ``step(n)`` runs whole iterations (finishing a
partly stepped one first); ``step_epoch()`` runs to the end of the epoch. Both paths call the
same phase methods, so what the phase stepper shows is exactly what training does.

Counting: ``iterations_per_epoch = ceil(N_train / batch_size)``; the training set is reshuffled
by the seeded RNG at each epoch start, and the last batch of an epoch may be smaller.

Divergence: a non-finite loss, gradient or update ends the iteration as ``diverged``; the
weights keep their last finite values and no later step runs until the trainer is rebuilt.

lbfgs and newton do their whole step in the update phase, re-evaluating the batch's loss at
other θ (:class:`~engine.objective.BatchObjective`, torch's closure); records add ``n_evals``.

Reading a trainer is done by the functions of :mod:`engine.inspect`, which take it as their
argument (``readouts.snapshot(trainer, {"probe"})``); changing it by :meth:`set_hparams`
(live keys) and ``trainer.net.set_weight``; :meth:`checkpoint` and :meth:`restore` carry the
whole run to and from JSON (the format: :mod:`engine.checkpoint`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import checkpoint
from engine.config import (
    LIVE_KEYS,
    ConfigError,
    component_params,
    dataset_error,
    merge_config,
    normalize_config,
)
from engine.datasets import make_dataset
from engine.network import Network
from engine.numbers import finite
from engine.objective import BatchObjective
from engine.optim import OPTIMIZERS, SCHEDULES, SecondOrder, clip_grad_norm
from engine.trajectory import Trajectory

Array = NDArray[np.float64]


class Trainer:
    """Holds the run's state; see the module docstring for the phase order."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = normalize_config(config)
        cfg = self.config
        try:
            self.data = make_dataset(cfg["dataset"])
        except ValueError as exc:  # named by the parameter at fault
            raise dataset_error(cfg["dataset"], exc) from None
        self.rng = np.random.default_rng(cfg["seed"])
        n_out = (
            self.data.n_classes if self.data.task == "multiclass" else self.data.y_train.shape[1]
        )
        self.net = Network(cfg, self.data.x_train.shape[1], n_out, self.rng)
        self.optimizer = self._new_optimizer(cfg["optimizer"])
        self.schedule = SCHEDULES.create(cfg["schedule"]["name"], component_params(cfg["schedule"]))
        self.n_train = self.data.x_train.shape[0]
        self.iteration = 0
        self.epoch = 0
        self.samples_seen = 0
        self.status = "ok"
        self.divergence: str | None = None
        self.loss = math.nan  # data loss of the last batch
        self.penalty_value = 0.0
        self.grad_norm = 0.0
        self.lr = self.optimizer.hparams["lr"]
        self.update_flat = np.zeros_like(self.net.theta)  # the last Δθ the optimizer applied
        self.history: list[dict[str, Any]] = []  # records of the current step() call
        self._perm = self.rng.permutation(self.n_train)
        self._pointer = 0
        self._xb: Array = self.data.x_train[:0]
        self._yb: Array = self.data.y_train[:0]
        self._grad: Array | None = None
        self._iter_rng_state: dict[str, Any] | None = None
        self._bn_layers = [la for la in self.net.layers if la.bn is not None]
        self._phases = self._build_phases()
        self._cursor = 0
        self.last_phase: dict[str, Any] | None = None
        self.trajectory = Trajectory(self.net.theta)

    def _new_optimizer(self, section: dict[str, Any]) -> Any:
        """The optimizer of a normalized config section, if this net is not too big for it."""
        opt = OPTIMIZERS.create(section["name"], component_params(section))
        most, n = getattr(opt, "max_params", None), self.net.n_params  # newton's P × P Hessian
        if most is not None and n > most:
            why = f"optimizer {opt.name} takes nets of at most {most} parameters; this has {n}"
            raise ConfigError("optimizer.name", why)
        return opt

    def _build_phases(self) -> list[tuple[str, int | None, Callable[[Trainer], None]]]:
        """The phases of one iteration in order: (name, layer, run), called as ``run(self)``.

        ``run`` takes the trainer as its argument instead of closing over it, so a trainer
        holds no reference cycle and is freed as soon as the last reference to it goes (the
        web process replaces a running session's copy at every page frame, and drops whole
        trainers when it unloads idle sessions) rather than at the next full collection."""
        n = len(self.net.layers)
        return [
            *(("forward", i, partial(Trainer._forward, i=i)) for i in range(n)),
            ("loss", None, Trainer._loss_phase),
            *(("backward", i, partial(Trainer._backward, i=i)) for i in range(n - 1, -1, -1)),
            ("update", None, Trainer._update_phase),
        ]

    # ---- pickling: a whole trainer moves between processes, mid-phase included ---------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_phases"]  # rebuilt on arrival: shorter pickles
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._phases = self._build_phases()

    # ---- counters ------------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        return int(min(self.config["batch_size"], self.n_train))

    @property
    def iterations_per_epoch(self) -> int:
        return -(-self.n_train // self.batch_size)

    @property
    def epoch_samples(self) -> int:
        """Training examples the current epoch has used so far."""
        return int(self._pointer)

    @property
    def iterations_left(self) -> int:
        """Iterations until the epoch ends: ⌈(n − used) / B⌉ at today's batch size B (a live
        batch-size change mid-epoch changes it; the epochs before keep the sizes they had)."""
        return -(-(self.n_train - self._pointer) // self.batch_size)

    @property
    def updates(self) -> list[Array]:
        """The last update Δ per parameter (views of :attr:`update_flat`)."""
        return self.net.unflatten(self.update_flat)

    @property
    def n_params(self) -> int:
        return self.net.n_params

    @property
    def phase(self) -> dict[str, Any]:
        """The phase that runs next."""
        name, layer, _ = self._phases[self._cursor]
        return {"phase": name, "layer": layer, "iteration": self.iteration}

    # ---- phases ----------------------------------------------------------------------------

    def _forward(self, i: int) -> None:
        layers = self.net.layers
        if i == 0:
            self._begin_batch()
            x = self._xb
        else:
            x = layers[i - 1].cache.a
        # kept on the layer for the backward pass and for the page
        layers[i].cache = layers[i].forward(x, True, self.rng)

    def _begin_batch(self) -> None:
        if self.config["dropout"] > 0.0:
            # dropout draws from the RNG mid-iteration; a checkpoint taken then restarts here
            self._iter_rng_state = dict(self.rng.bit_generator.state)
        idx = self._perm[self._pointer : self._pointer + self.batch_size]
        self._xb = self.data.x_train[idx]
        self._yb = self.data.y_train[idx]

    def _loss_phase(self) -> None:
        net = self.net
        loss = net.loss.value(net.loss_input(net.layers[-1].cache), self._yb)
        self.penalty_value = net.penalty() if net.reg_kind != "none" else 0.0
        if not math.isfinite(loss) or not math.isfinite(self.penalty_value):
            self._diverge(f"the loss became {loss!r}")
            return
        self.loss = loss

    def _backward(self, i: int) -> None:
        net = self.net
        layer = net.layers[i]
        cache = layer.cache
        if i == len(net.layers) - 1:
            delta = net.output_delta(cache, self._yb)
        else:
            assert self._grad is not None
            delta = layer.delta_from(cache, self._grad)
        layer.delta = delta
        # into the layer's own gradient buffers: views of net.grad, the vector the update reads
        self._grad = layer.backward(cache, delta, None, i > 0)
        if net.reg_kind != "none":
            net.add_penalty_grad(layer.W, layer.dW)
        if i == 0:
            self._finish_gradients()

    def _finish_gradients(self) -> None:
        grad = self.net.grad  # every layer's gradients, as one flat vector
        clip = self.config["clip_norm"]
        if clip is not None:
            norm = clip_grad_norm([grad], clip)
        else:
            norm = math.sqrt(float(np.vdot(grad, grad)))
        self.grad_norm = norm
        if not math.isfinite(norm):
            self._diverge("a gradient became infinite or not a number")

    def _update_phase(self) -> None:
        net = self.net
        opt = self.optimizer
        self.lr = self.schedule.lr(opt.hparams["lr"], self.epoch)
        extra: dict[str, Any] = {}
        later_stats: list[list[tuple[Array, Array]]] = []
        if isinstance(opt, SecondOrder):
            # the whole second-order step runs here, re-evaluating this batch's loss as torch's
            # closure does; the phases' loss and gradient are its first evaluation
            objective = BatchObjective(net, self._xb, self._yb)
            f0 = self.loss + self.penalty_value
            delta = opt.step_objective(net.theta, f0, net.grad, objective, self.lr, net.shapes)
            extra = opt.last_info
            later_stats = objective.stats
        else:
            delta = opt.step_flat(net.theta, net.grad, self.lr, net.shapes)
        if delta is None:  # weights and optimizer state were left as they were
            self._diverge("an update step became infinite or not a number")
            return
        self.update_flat = delta
        for layer in self._bn_layers:
            assert layer.bn is not None and layer.cache.norm is not None
            assert layer.cache.norm.stats is not None  # a train-mode pass
            layer.bn.commit_stats(layer.cache.norm.stats)
        for stats in later_stats:  # each closure evaluation's batch statistics, as torch folds them
            for layer, batch_stats in zip(self._bn_layers, stats, strict=True):
                layer.bn.commit_stats(batch_stats)  # type: ignore[union-attr]
        n = self._xb.shape[0]
        self.iteration += 1
        self.samples_seen += n
        self._pointer += n
        if self._pointer >= self.n_train:
            self.epoch += 1
            self._pointer = 0
            self._perm = self.rng.permutation(self.n_train)
        self.trajectory.record(self.iteration, net.theta)
        self.history.append(
            {
                "step": self.iteration,
                "epoch": self.epoch,
                "loss": self.loss,
                "penalty": self.penalty_value,
                "lr": self.lr,
                "grad_norm": self.grad_norm,
                **extra,
            }
        )

    def _diverge(self, why: str) -> None:
        self.status = "diverged"
        self.divergence = (
            f"{why} at iteration {self.iteration + 1} with learning rate {self.lr:g}: the step "
            "overshot this loss surface. The weights shown are the last finite ones; "
            "a smaller learning rate (or gradient clipping) keeps the steps on the surface."
        )

    # ---- driving -------------------------------------------------------------------------

    def step_phase(self) -> dict[str, Any]:
        """Run the next phase; returns what ran and whether it finished an iteration."""
        if self.status != "ok":
            return {"phase": None, "layer": None, "iteration_done": False, "status": self.status}
        self.history = []
        name, layer, run = self._phases[self._cursor]
        with np.errstate(all="ignore"):  # overflow is detected and reported as divergence
            run(self)
        self._cursor = (self._cursor + 1) % len(self._phases)
        if self.status != "ok":
            self._cursor = 0
        self.last_phase = {"phase": name, "layer": layer}
        return {
            "phase": name,
            "layer": layer,
            "iteration_done": bool(self.history),
            "status": self.status,
        }

    def step(self, n: int = 1) -> list[dict[str, Any]]:
        """Run ``n`` whole iterations (or until divergence); returns one record per iteration."""
        records: list[dict[str, Any]] = []
        self.history = records
        runs = [run for _name, _layer, run in self._phases]
        with np.errstate(all="ignore"):  # overflow is detected and reported as divergence
            for _ in range(n):
                if self.status != "ok":
                    break
                # a partly stepped iteration finishes first; whole ones need no slice of the list
                for run in runs[self._cursor :] if self._cursor else runs:
                    run(self)
                    if self.status != "ok":
                        break
                self._cursor = 0
        self.last_phase = None
        return records

    def step_epoch(self) -> list[dict[str, Any]]:
        """Run the iterations left in the current epoch."""
        return self.step(self.iterations_left)

    # ---- changing ------------------------------------------------------------------------

    def set_hparams(self, changes: dict[str, Any]) -> None:
        """Apply live changes (:data:`~engine.config.LIVE_KEYS` only; anything else changes the
        model or the data and needs a new trainer: ConfigError naming the key).

        Optimizer settings keep the optimizer's state; another optimizer starts afresh.
        """
        if not isinstance(changes, dict):
            raise ConfigError("changes", "expected an object")
        other = sorted(set(changes) - set(LIVE_KEYS))
        if other:
            raise ConfigError(other[0], "changing this needs a reset (a new session state)")
        new = normalize_config(merge_config(self.config, changes))
        old = self.config
        if new["optimizer"] != old["optimizer"]:
            if new["optimizer"]["name"] == old["optimizer"]["name"]:
                self.optimizer.set_hparams(component_params(new["optimizer"]))
            else:
                self.optimizer = self._new_optimizer(new["optimizer"])
        if new["schedule"] != old["schedule"]:
            self.schedule = SCHEDULES.create(
                new["schedule"]["name"], component_params(new["schedule"])
            )
        self.net.set_regularization(new["regularization"])
        self.config = new
        # the rate the next update uses, shown as the current one (it was the last update's until
        # the next step; recomputed before every update, so resuming is unaffected)
        self.lr = self.schedule.lr(self.optimizer.hparams["lr"], self.epoch)

    # ---- state: everything that decides the rest of the run ------------------------------

    def checkpoint(self, include_trajectory: bool = False) -> dict[str, Any]:
        """The run as a JSON-safe dict (format: :mod:`engine.checkpoint`). Taken between the
        phases of an iteration, it restarts that iteration: no weight has changed before its
        update phase, and the RNG state is the one the iteration started from."""
        state: dict[str, Any] = {
            "version": checkpoint.VERSION,
            "config": copy.deepcopy(self.config),
            **self.net.state(),
            "optimizer": self.optimizer.state_dict(),
            "rng": (self._iter_rng_state if self._cursor else None) or self.rng.bit_generator.state,
            "perm": self._perm.tolist(),
            "pointer": self._pointer,
            "iteration": self.iteration,
            "epoch": self.epoch,
            "samples_seen": self.samples_seen,
            "status": self.status,
            "divergence": self.divergence,
            "loss": finite(self.loss),
        }
        if include_trajectory:
            state["trajectory"] = self.trajectory.to_dict()
        return state

    @classmethod
    def restore(cls, state: dict[str, Any]) -> Trainer:
        """A trainer continuing a :meth:`checkpoint` bit-identically; ValueError naming the
        field at fault."""
        trainer = cls(state["config"])
        checkpoint.check_version(state)
        trainer.net.load_state(state["params"], state.get("running", []))
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.rng.bit_generator.state = state["rng"]
        n = trainer.n_train
        trainer._perm = checkpoint.permutation(state, n)
        trainer._pointer = checkpoint.count(state, "pointer", n)
        trainer.iteration = checkpoint.count(state, "iteration")
        trainer.epoch = checkpoint.count(state, "epoch")
        trainer.samples_seen = checkpoint.count(state, "samples_seen")
        trainer.status, trainer.divergence = checkpoint.status(state)
        trainer.loss = state["loss"] if state.get("loss") is not None else math.nan
        if "trajectory" in state:
            trainer.trajectory.load(state["trajectory"])
        return trainer
