"""The page's controls, computed from a session config and the catalogs.

Buttons that change the model structure (add or remove a layer, ± a unit) carry the complete
new ``hidden`` list as their JSON body (``hx-vals``), worked out here from the current config,
so a click is exactly one ``PATCH /api/sessions/{id}`` a script could send.

Classroom mode: ``?hide=a,b`` hides the named control groups (:data:`HIDEABLE`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from functools import lru_cache
from typing import Any

from app.page.draw import views
from app.page.draw.palette import fmt
from app.sessions.catalog import all_catalogs
from engine.activations import HIDDEN_ACTIVATIONS
from engine.config import normalize_config

HIDEABLE = {
    "data": "data panel",
    "features": "feature toggles",
    "layers": "layer buttons",
    "optimizer": "optimizer and its parameters",
    "lr": "learning rate",
    "batch": "batch size",
    "loss": "loss, init and regularization",
    "tricks": "batch norm, dropout and seed",
    "phase": "phase stepper",
    "surface": "loss surface panel",
}
# Korean shown beside the English (a <span lang="ko">, or "English · 한국어" in a title):
# the classroom checkboxes, the numbers a data set or an optimizer takes (symbols such as
# beta1 or eps have none), and the thumbnails' descriptions of the 2-D data sets.
HIDEABLE_KO = {
    "data": "데이터 패널",
    "features": "입력 특성 선택",
    "layers": "층 버튼",
    "optimizer": "옵티마이저와 그 파라미터",
    "lr": "학습률",
    "batch": "배치 크기",
    "loss": "손실 함수, 초기화, 정규화",
    "tricks": "배치 정규화, 드롭아웃, 시드",
    "phase": "단계별 실행",
    "surface": "손실 지형 패널",
}
PARAM_KO = {
    "noise": "노이즈",
    "n_samples": "샘플 수",
    "n_classes": "클래스 수",
    "momentum": "모멘텀",
    "dampening": "댐프닝",
    "weight_decay": "가중치 감쇠",
    "lr_decay": "학습률 감쇠",
    "initial_accumulator_value": "누산기 초깃값",
    "centered": "중심화",
}
DATASET_KO = {
    "circle": "원: 한 클래스의 원판을 다른 클래스의 고리가 둘러쌉니다.",
    "xor": "배타적 논리합(XOR): 마주 보는 사분면끼리 같은 클래스입니다.",
    "gaussians": "(2, 2)와 (-2, -2)에 모인 두 가우시안 분포.",
    "spiral": "서로 맞물린 두 나선.",
    "moons": "서로 맞물린 두 반달.",
    "blobs": "원 위에 놓인 3~5개의 가우시안 덩어리, 덩어리마다 한 클래스.",
    "spirals": "서로 맞물린 3~5개의 나선 팔, 팔마다 한 클래스.",
    "reg_plane": "기울어진 평면의 회귀, 목표값 (x1 + x2) / 10.",
    "reg_gauss": "부호가 있는 가우시안 모양 봉우리 여섯 개의 회귀.",
}
LOSS_TASKS = {
    "binary": ("bce", "mse", "rmse", "mae", "huber"),
    "multiclass": ("ce",),
    "regression": ("mse", "rmse", "mae", "huber"),
}


# the learning-rate slider's ends, as log10: 1e-5 … 10 (a typed rate may go past them)
LR_LOG_ENDS = (-5, 1)


def lr_past(lr: float) -> str:
    """Which end of the slider ``lr`` is past ("above", "below"), or "" if it can show it."""
    if lr > 10.0 ** LR_LOG_ENDS[1]:
        return "above"
    if lr < 10.0 ** LR_LOG_ENDS[0]:
        return "below"
    return ""


@lru_cache(maxsize=1)
def catalogs() -> dict[str, Any]:
    return all_catalogs()


def hidden_set(hide: str | None) -> set[str]:
    return {h for h in (hide or "").split(",") if h in HIDEABLE}


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    return normalize_config(config)


def _dataset_entry(name: str) -> dict[str, Any]:
    for d in catalogs()["datasets"]:
        if d["name"] == name:
            return dict(d)
    return {"name": name, "params": [], "defaults": {}, "task": "binary", "is_2d": False}


def _hidden_plain(hidden: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"units": h["units"], "activation": h["activation"]} for h in hidden]


def _patch(**config: Any) -> str:
    return json.dumps({"config": config})


def layer_buttons(hidden: list[dict[str, Any]]) -> dict[str, Any]:
    """hx-vals bodies of the structure buttons, per layer and for the whole net."""
    plain = _hidden_plain(hidden)
    last_act = plain[-1]["activation"] if plain else "tanh"
    layers = []
    for i, h in enumerate(plain):
        more = [dict(x) for x in plain]
        more[i]["units"] = h["units"] + 1
        less = [dict(x) for x in plain]
        less[i]["units"] = max(1, h["units"] - 1)
        layers.append(
            {
                "index": i,
                "units": h["units"],
                "activation": h["activation"],
                "add": _patch(hidden=more),
                "remove": _patch(hidden=less),
                "can_remove": h["units"] > 1,
                "base": _patch(hidden=plain),
            }
        )
    return {
        "layers": layers,
        "all_activation": all_activation(plain),
        "add_layer": _patch(hidden=plain + [{"units": 2, "activation": last_act}]),
        "remove_layer": _patch(hidden=plain[:-1]),
        "can_remove_layer": bool(plain),
    }


# activations He initialisation is derived for (zero or small slope below 0; He et al. derived
# it for PReLU itself)
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu", "gelu", "silu")


def all_activation(plain: list[dict[str, Any]]) -> dict[str, Any]:
    """The "activation for all layers" control: the activation every hidden layer shares
    (None when they differ) and, per activation, the one PATCH body that sets it on every
    hidden layer with He initialisation for the ReLU family, Xavier (the default) otherwise."""
    acts = {h["activation"] for h in plain}
    bodies = {
        a: {
            "config": {
                "hidden": [{"units": h["units"], "activation": a} for h in plain],
                "init": {"name": "he_normal" if a in RELU_FAMILY else "xavier_uniform"},
            }
        }
        for a in HIDDEN_ACTIVATIONS
    }
    return {"current": acts.pop() if len(acts) == 1 else None, "bodies": json.dumps(bodies)}


def page_context(
    session: dict[str, Any] | None, config: dict[str, Any], hidden: set[str]
) -> dict[str, Any]:
    """Everything the page template needs besides the live regions."""
    cats = catalogs()
    ds = config["dataset"]
    entry = _dataset_entry(ds["name"])
    defaults = entry.get("defaults", {})
    values = {**defaults, **ds}
    params = [
        {**p, "value": values.get(p["name"], p.get("default"))}
        for p in entry.get("params", [])
        if p["name"] != "n_samples" or entry.get("is_2d")
    ]
    split = values.get("split") or {"train": 0.7}
    opt = config["optimizer"]
    opt_entry = next(o for o in cats["optimizers"] if o["name"] == opt["name"])
    opt_params = [
        {**p, "value": opt.get(p["name"], p.get("default"))}
        for p in opt_entry["params"]
        if p["name"] != "lr"
    ]
    task = entry.get("task", "binary")
    return {
        "sid": session["id"] if session else None,
        "session": session,
        "config": config,
        "hide": hidden,
        "hideable": HIDEABLE,
        "ko": {"hideable": HIDEABLE_KO, "param": PARAM_KO, "dataset": DATASET_KO},
        "datasets": cats["datasets"],
        "dataset": entry,
        "dataset_params": params,
        "train_ratio": split.get("train", 0.7),
        "is_2d": bool(entry.get("is_2d")),
        "all_features": entry.get("features") or [],
        "features": values.get("features") or ["x1", "x2"],
        "activations": list(HIDDEN_ACTIVATIONS),
        "structure": layer_buttons(config["hidden"]),
        "optimizers": [o["name"] for o in cats["optimizers"]],
        "optimizer": opt,
        "optimizer_params": opt_params,
        "lr": opt["lr"],
        "lr_log": round(math.log10(opt["lr"]), 3) if opt["lr"] > 0 else -3,
        "lr_text": fmt(opt["lr"], 4),
        "lr_ends": LR_LOG_ENDS,
        "lr_past": lr_past(opt["lr"]),
        "schedules": [s["name"] for s in cats["schedules"]],
        "losses": LOSS_TASKS.get(task, ("mse",)),
        "relu_family": RELU_FAMILY,
        "inits": [i["name"] for i in cats["initializers"]],
        "views": views.menu(opt),  # the optimizer's state views only where it keeps them
        "task": task,
        "presets": cats["presets"],
    }


MAX_C = 8000  # characters of a ?c= config


def decode_config(text: str) -> dict[str, Any]:
    """A ``?c=`` value: base64url (padding optional) of a JSON object, as the share link makes."""
    if len(text) > MAX_C:
        raise ValueError(f"c: the config link is over {MAX_C} characters")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("c: not a base64url JSON config") from None
    if not isinstance(value, dict):
        raise ValueError("c: the config must be a JSON object")
    return value


def encode_config(config: dict[str, Any]) -> str:
    text = json.dumps(config, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
