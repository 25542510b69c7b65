"""Races: 2–6 runs of one base config, each a normal session, trained side by side.

A race is a list of runs ``{"name", "changes"}``; run i's config is ``merge_config(base,
changes_i)``. Each run is an ordinary session of the race's owner (every session route works on
it, the session quotas count it); the race adds a common start, lock-step and one row in the
``races`` table (app/core/writes.py ``put_race``), so it survives a restart with its sessions.

**Same start.** Run 0's trainer is built first; every other run whose parameter shapes and
initializer equal run 0's takes run 0's initial parameters (``params``, batch-norm ``running``),
and every run whose training rows and batch size equal run 0's takes run 0's RNG state and
first shuffle ``perm``, through ``Trainer.checkpoint()`` → ``restore``. The engine draws init,
shuffles and dropout masks from one seeded RNG, so runs that also drop out alike
(the same ``dropout``) then see the same batches in the same order in every epoch; a run
with other dropout sees the same first epoch only. Both are verified on the built trainers
(``np.array_equal`` of parameters and permutations) and reported per run as ``same_start``,
``same_batches`` and ``same_first_epoch``.

**Lock-step** (design choice: runs stay normal sessions in the worker pool). While the race
runs, each run's worker trains it no further than a step cap (``RunSpec.cap``; the worker
holds a run at its cap, out of its queue). After every batch a worker sends, :meth:`Races._pace`
(on the pool's receiver thread) takes the lowest step among the race's running runs and,
when it rose, raises every run's cap to ``lowest + 1`` (``messages.Cap``). So no run is ever
more than one step ahead of the slowest: the step difference is at most 1 at every moment, and
therefore at every frame (tests/system/server/test_race_server.py asserts it over every frame
of the race's stream). A diverged or finished run leaves the lowest-step computation, so the
others go on.

Cost, measured on the 2-core machine (4 runs of a 2-4-2 tanh net, batch 10): about 950 steps/s
per run in lock-step against about 6,700 running free, because every step of every run is a
pipe round trip (a one-step ``Slice`` back, a ``Cap`` out) and a one-row write. Stepping the
runs of a race round-robin inside one worker would remove the round trips; it is left for later
because it needs a group run in the worker's scheduler, where these caps needed one field.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.errors import ApiError, Conflict, NotFound, quota_error
from app.core.limits import build_trainer, check_config, restore_trainer
from app.core.settings import Settings
from app.sessions.manager import Manager
from app.sessions.race_replicas import RaceHolding
from app.sessions.session import Session
from app.training import messages
from engine.config import merge_config

WINDOW = 1  # steps a run may be ahead of its race's slowest running run


@dataclass
class RaceRun:
    name: str
    changes: dict[str, Any]
    session: str  # session id
    same_start: bool = True
    same_batches: bool = True
    same_first_epoch: bool = True

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "changes": self.changes,
            "session": self.session,
            "same_start": self.same_start,
            "same_batches": self.same_batches,
            "same_first_epoch": self.same_first_epoch,
        }


@dataclass
class Race:
    id: str
    owner: str
    name: str
    config: dict[str, Any]
    runs: list[RaceRun]
    created: float
    cap: int = 0  # the runs' current step cap while running
    lock: threading.Lock = field(default_factory=threading.Lock)
    # web replicas: runs whose session was found deleted (app/sessions/race_replicas.py)
    gone: set[str] = field(default_factory=set)
    # web replicas: dropped here (a run's session held here no more): its streams end
    ended: bool = False


def difference(changes: dict[str, Any], prefix: str = "") -> str:
    """The changes as ``key=value`` words for a legend: ``optimizer.name=adam, lr=0.1``."""
    words: list[str] = []
    for key, value in changes.items():
        if isinstance(value, dict):
            inner = difference(value, f"{prefix}{key}.")
            if inner:
                words.append(inner)
        elif isinstance(value, list):
            words.append(f"{prefix}{key}=[{len(value)}]" if key != "hidden" else _hidden(value))
        else:
            words.append(f"{prefix}{key}={value}")
    return ", ".join(words)


def _hidden(layers: list[Any]) -> str:
    acts = sorted({str(h.get("activation", "")) for h in layers if isinstance(h, dict)} - {""})
    return (
        "hidden="
        + "-".join(str(h.get("units", "?")) for h in layers if isinstance(h, dict))
        + (f" {'/'.join(acts)}" if acts else "")
    )


def _shapes(t: Any) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in t.net.params]


def _dropouts(t: Any) -> float:
    return float(t.config.get("dropout", 0.0))


def common_start(configs: list[dict[str, Any]], settings: Settings) -> tuple[list[Any], list[Any]]:
    """Trainers for ``configs`` from run 0's start where they can share it (module docstring),
    and per run ``(same_start, same_batches, same_first_epoch)``, verified on the trainers."""
    first = build_trainer(configs[0], settings)
    state0 = first.checkpoint()
    trainers, shares = [first], [(True, True, True)]
    for i, config in enumerate(configs[1:], 1):
        try:
            t = build_trainer(config, settings)
        except ApiError as exc:
            exc.body["field"] = f"runs[{i}].changes.{exc.body.get('field', '')}".rstrip(".")
            raise
        state = t.checkpoint()
        start = _shapes(t) == _shapes(first) and t.config["init"] == first.config["init"]
        rows = t.n_train == first.n_train and bool(
            np.array_equal(t.data.x_train, first.data.x_train)
        )
        batches = rows and t.config["batch_size"] == first.config["batch_size"]
        if start:
            state["params"], state["running"] = state0["params"], state0.get("running", [])
        if batches:
            state["rng"], state["perm"] = state0["rng"], state0["perm"]
        if start or batches:
            t = restore_trainer(state, settings)
        start = start and all(
            np.array_equal(a, b) for a, b in zip(t.net.params, first.net.params, strict=True)
        )
        first_epoch = batches and t.checkpoint()["perm"] == state0["perm"]
        trainers.append(t)
        shares.append((start, first_epoch and _dropouts(t) == _dropouts(first), first_epoch))
    return trainers, shares


class Races(RaceHolding):
    """Every race of this process (with web replicas: those held here), over the manager's
    sessions."""

    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.settings = manager.settings
        self.races: dict[str, Race] = {}
        self.lock = threading.Lock()
        self._open_races()  # every stored one (one process), or none yet (replicas)

    def _race_of(self, row: Any) -> Race:
        runs = [RaceRun(**r) for r in json.loads(row["runs"])]
        return Race(
            row["id"], row["owner"], row["name"], json.loads(row["config"]), runs, row["created"]
        )

    # ---- lookup ---------------------------------------------------------------------------

    def get(self, race_id: str, owner: str | None) -> Race:
        race = self.races.get(race_id)
        if race is None or owner is None or not secrets.compare_digest(race.owner, owner):
            raise NotFound("race")
        return race

    def owned(self, owner: str | None) -> list[Race]:
        """The owner's races, oldest first: as stored with web replicas, else held here."""
        if owner is not None and self.manager.leases is not None:
            return self.stored_races(owner)
        return sorted((r for r in self.races.values() if r.owner == owner), key=lambda r: r.created)

    def listed(self, owner: str | None) -> list[dict[str, Any]]:
        """``GET /races``: the owner's races, each as :meth:`public` (its runs as stored where
        another replica holds them)."""
        if owner is not None and self.manager.leases is not None:
            looks = {s.id: s for s in self.manager.stored_of(owner)}
            return [
                self.public(race, [looks.get(r.session) for r in race.runs])
                for race in self.stored_races(owner)
            ]
        return [self.public(r) for r in self.owned(owner)]

    def sessions(self, race: Race) -> list[Session | None]:
        """The runs' sessions in run order (None: a run whose session was deleted alone)."""
        return [self.manager.sessions.get(run.session) for run in race.runs]

    def live(self, race: Race) -> list[Session]:
        return [s for s in self.sessions(race) if s is not None]

    # ---- creating and deleting -----------------------------------------------------------

    def create(
        self, owner: str, base: dict[str, Any], runs: list[tuple[str, dict[str, Any]]], name: str
    ) -> Race:
        settings = self.settings
        if not 2 <= len(runs) <= settings.max_race_runs:
            raise ApiError(
                422,
                f"runs: a race has 2 to {settings.max_race_runs} runs, not {len(runs)}",
                field="runs",
                limit="max_race_runs",
                maximum=settings.max_race_runs,
            )
        mine = len(self.owned(owner))
        if mine >= settings.max_races_per_owner:
            raise quota_error(
                "races", "max_races_per_owner", mine + 1, settings.max_races_per_owner, 60
            )
        have, most = len(self.manager.owned(owner)), settings.max_sessions_per_owner
        if have + len(runs) > most:
            raise quota_error("runs", "max_sessions_per_owner", have + len(runs), most, 60)
        configs = []
        for i, (_, changes) in enumerate(runs):
            config = merge_config(base, changes)
            try:
                check_config(config, settings)
            except ApiError as exc:
                exc.body["field"] = f"runs[{i}].changes.{exc.body.get('field', '')}".rstrip(".")
                raise
            configs.append(config)
        trainers, shares = common_start(configs, settings)
        made: list[Session] = []
        try:
            for (run_name, _), t in zip(runs, trainers, strict=True):
                made.append(self.manager.create(owner, t.config, f"{name} · {run_name}", t))
        except BaseException:
            for s in made:
                self.manager.delete(s)
            raise
        race = Race(
            secrets.token_urlsafe(12),
            owner,
            name,
            base,
            [
                RaceRun(run_name, changes, s.id, *share)
                for (run_name, changes), s, share in zip(runs, made, shares, strict=True)
            ],
            time.time(),
        )
        self._save(race)
        with self.lock:
            self.races[race.id] = race
        return race

    def _save(self, race: Race) -> None:
        store = self.manager.store
        runs = json.dumps([r.row() for r in race.runs])
        write = store.submit(
            [
                store.put_race(
                    race.id, race.owner, race.name, json.dumps(race.config), runs, race.created
                )
            ],
            urgent=True,
        )
        self.manager._stored(write)

    def delete(self, race: Race) -> None:
        self.pause(race)
        for s in self.live(race):
            self.manager.delete(s)
        store = self.manager.store
        self.manager._stored(store.submit([store.delete_race(race.id)], urgent=True, frees=True))
        with self.lock:
            self.races.pop(race.id, None)

    # ---- driving (the race as a whole) -------------------------------------------------------

    def run(self, race: Race, steps: int | None, speed: float | None) -> None:
        runs = [s for s in self.live(race) if s.status != "diverged"]
        if not runs:
            raise Conflict("every run of the race diverged; reset it", field="status")
        self._cap(race, runs)
        for s in runs:
            self.manager.run(s, steps, speed)

    def _cap(self, race: Race, runs: list[Session]) -> None:
        """Pace ``runs`` in lock-step from one past the slowest of them and of the race's runs
        already paced (before they run: none starts ahead)."""
        with race.lock:
            live = self.live(race)
            paced = {s.id: s for s in live if s.status == "running" and s.cap is not None}
            paced.update((s.id, s) for s in runs)
            race.cap = min(s.counters.get("iteration", 0) for s in paced.values()) + WINDOW
            for s in paced.values():
                s.cap, s.pace = race.cap, lambda s, race=race: self._pace(race)
                handle = s.remote
                if handle is not None:
                    handle.post(messages.Cap(s.id, race.cap))

    def _pace(self, race: Race) -> None:
        """Raise the runs' cap to one past the slowest running run (a worker's receiver
        thread, after each batch of one of the race's runs)."""
        with race.lock:
            running = [s for s in self.live(race) if s.status == "running" and s.cap is not None]
            if not running:
                return
            cap = min(s.counters.get("iteration", 0) for s in running) + WINDOW
            if cap <= race.cap:
                return
            race.cap = cap
            for s in running:
                s.cap = cap
                handle = s.remote
                if handle is not None:
                    handle.post(messages.Cap(s.id, cap))

    def pause(self, race: Race) -> None:
        """Stop every run where it is: first the caps stop rising (no run paused first lets
        the others run ahead), then each run stops, then the caps go (a run played alone
        later is free)."""
        sessions = self.live(race)
        with race.lock:
            for s in sessions:
                s.pace = None
        for s in sessions:
            self.manager.pause(s)
        with race.lock:
            for s in sessions:
                s.cap = None

    def step(self, race: Race, count: int) -> list[dict[str, Any]]:
        sessions = self.live(race)
        if any(s.status == "running" for s in sessions):
            raise Conflict("race is running; pause it before stepping", field="status")
        return [
            self.manager.step(s, count, None, None, frozenset())["session"]
            for s in sessions
            if s.status != "diverged"
        ]

    def reset(self, race: Race) -> None:
        """Every run back to a common start (from each session's current config)."""
        self.pause(race)
        pairs = [
            (run, s) for run, s in zip(race.runs, self.sessions(race), strict=True) if s is not None
        ]
        if not pairs:
            return
        trainers, shares = common_start([s.config for _, s in pairs], self.settings)
        for (run, s), t, share in zip(pairs, trainers, shares, strict=True):
            self.manager.reset(s, trainer=t)
            run.same_start, run.same_batches, run.same_first_epoch = share
        self._save(race)

    # ---- reading ---------------------------------------------------------------------------

    def public(self, race: Race, sessions: list[Session | None] | None = None) -> dict[str, Any]:
        """The race's JSON (``sessions``: its runs' sessions, if not the ones held here)."""
        runs = []
        looked = self.sessions(race) if sessions is None else sessions
        for i, (run, s) in enumerate(zip(race.runs, looked, strict=True)):
            runs.append(
                {
                    "index": i,
                    **run.row(),
                    "difference": difference(run.changes) or "base config",
                    "status": s.public()["status"] if s is not None else "deleted",
                    "state": s.public() if s is not None else None,
                }
            )
        steps = [r["state"]["step"] for r in runs if r["state"] is not None]
        return {
            "id": race.id,
            "name": race.name,
            "created": race.created,
            "config": race.config,
            "runs": runs,
            "step_spread": (max(steps) - min(steps)) if steps else 0,
        }
