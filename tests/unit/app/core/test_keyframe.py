"""A replay keyframe's encoding (bit-exact, no objects allowed back in) and its interval."""

from __future__ import annotations

import math
import pickle

import pytest
from apptools import FAST

from app.training import keyframe
from engine.trainer import Trainer


def test_a_keyframe_restores_the_trainer_bit_for_bit() -> None:
    t = Trainer(dict(FAST, optimizer={"name": "adam", "lr": 0.01}, dropout=0.3))
    t.step(13)
    state = keyframe.decode(keyframe.encode(t))
    assert state == t.checkpoint()
    twin = Trainer.restore(state)
    t.step(9)
    twin.step(9)
    assert [la.W.tobytes() for la in twin.net.layers] == [la.W.tobytes() for la in t.net.layers]
    assert twin.loss == t.loss and not math.isnan(t.loss)


def test_a_keyframe_holding_an_object_is_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="no objects"):
        keyframe.decode(pickle.dumps({"params": [Trainer]}))
    with pytest.raises(pickle.UnpicklingError, match="checkpoint dict"):
        keyframe.decode(pickle.dumps([1, 2]))


def test_interval_by_hand() -> None:
    """Half of a 1 MiB budget (524,288 bytes) must hold the keyframes of 50·K steps. 2 kB
    keyframes every 200 steps: 50 of them, 100,000 bytes: K stays. 600 kB ones: 50·600,000 /
    2^j <= 524,288 needs 2^j >= 57.2, so 64·200 = 12,800 steps."""
    assert keyframe.interval(200, 2_000, 2**20) == 200
    assert keyframe.interval(200, 600_000, 2**20) == 12_800
    assert keyframe.interval(200, 10_486, 2**20) == 400  # 50 · 10,486 = 524,300: just over
    assert keyframe.interval(200, 10_485, 2**20) == 200
