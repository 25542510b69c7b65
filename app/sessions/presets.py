"""Named example configs for lessons and the catalog ("presets").

Each preset is a partial config the engine completes with its defaults; creating a session with
``{"preset": name, "config": {...}}`` merges the caller's keys over the preset's
(``engine.config.merge_config``).
"""

from __future__ import annotations

import copy
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "xor-no-hidden": {
        "doc": "XOR with no hidden layer: a linear boundary cannot pass 75 % accuracy.",
        "doc_ko": "은닉층 없는 XOR: 직선 하나로는 정확도 75 %를 넘지 못합니다.",
        "config": {
            "dataset": {"name": "xor", "n_samples": 200, "noise": 0.0},
            "hidden": [],
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "xor-2-4-1": {
        "doc": "XOR with one small tanh hidden layer: solvable.",
        "doc_ko": "작은 tanh 은닉층 하나를 둔 XOR: 풀 수 있습니다.",
        "config": {
            "dataset": {"name": "xor", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 4, "activation": "tanh"}],
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "circle-playground": {
        "doc": "TensorFlow Playground's default: circle data, 4-2 tanh hidden layers.",
        "doc_ko": "TensorFlow Playground의 기본 설정: 원형 데이터, tanh 은닉층 4-2.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "tanh"}],
            "optimizer": {"name": "sgd", "lr": 0.03},
            "batch_size": 10,
        },
    },
    "spiral-deep": {
        "doc": "Two interleaved spirals need depth, extra features or Adam.",
        "doc_ko": "서로 감긴 두 나선: 깊은 신경망, 추가 특성 또는 Adam이 필요합니다.",
        "config": {
            "dataset": {"name": "spiral", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "tanh"}] * 3,
            "optimizer": {"name": "adam", "lr": 0.01},
            "batch_size": 10,
        },
    },
    "digits-mlp": {
        "doc": "The Keras MLP: Dense 32-64-128-10 ReLU + softmax on 8x8 digits, "
        "35/15/50 split in order.",
        "doc_ko": "Keras MLP: 8×8 숫자 이미지에 Dense 32-64-128-10 ReLU + 소프트맥스, "
        "35/15/50 순서대로 분할.",
        "config": {
            # the notes' split: Keras's take/skip, rows in their order
            "dataset": {
                "name": "digits",
                "split": {"train": 0.35, "val": 0.15, "test": 0.5},
                "shuffle": False,
            },
            "hidden": [
                {"units": 32, "activation": "relu"},
                {"units": 64, "activation": "relu"},
                {"units": 128, "activation": "relu"},
            ],
            # Keras Dense's default (glorot_uniform = torch's xavier_uniform_, zero biases):
            # with it SGD 0.01 for 20 epochs is as under-trained as the notes say (~64 %)
            "init": {"name": "xavier_uniform"},
            "optimizer": {"name": "sgd", "lr": 0.01},
            "batch_size": 32,
        },
    },
    "vanishing-sigmoid": {
        "doc": "A deep sigmoid net: the first layer's gradients are orders of magnitude smaller.",
        "doc_ko": "깊은 시그모이드 신경망: 첫 층의 기울기가 몇 자릿수나 작아집니다.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "sigmoid"}] * 6,
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "lr-too-large": {
        "doc": "A learning rate that blows up: the run stops as 'diverged', never NaN.",
        "doc_ko": "너무 큰 학습률: 학습이 발산하면 NaN 대신 '발산' 상태로 멈춥니다.",
        "config": {
            "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 10.0},
            "batch_size": 10,
        },
    },
}


def preset_config(name: str) -> dict[str, Any] | None:
    entry = PRESETS.get(name)
    return None if entry is None else copy.deepcopy(entry["config"])


def catalog() -> list[dict[str, Any]]:
    return [
        {"name": k, "doc": v["doc"], "doc_ko": v["doc_ko"], "config": copy.deepcopy(v["config"])}
        for k, v in PRESETS.items()
    ]
