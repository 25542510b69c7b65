"""The page's controls, computed from a session config and the catalogs.

Buttons that change the model structure (add or remove a layer, ± a unit) carry the complete
new ``hidden`` list as their JSON body (``hx-vals``), worked out here from the current config,
so a click is exactly one ``PATCH /api/sessions/{id}`` a script could send.

Classroom mode: ``?hide=a,b`` hides the named control groups (:data:`HIDEABLE`).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from app.render.palette import fmt

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
VIEWS = [
    ("weights", "weights w"),
    ("activations", "activations a (probe example)"),
    ("delta", "dL/dz = δ (probe example)"),
    ("gradients", "dL/dw (last batch)"),
    ("updates", "last update Δw"),
]
LOSS_TASKS = {
    "binary": ("bce", "mse", "mae", "huber"),
    "multiclass": ("ce",),
    "regression": ("mse", "mae", "huber"),
}


@lru_cache(maxsize=1)
def catalogs() -> dict[str, Any]:
    from app.routes.catalog import all_catalogs

    return all_catalogs()


def hidden_set(hide: str | None) -> set[str]:
    return {h for h in (hide or "").split(",") if h in HIDEABLE}


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    from engine.config import normalize_config

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
        "add_layer": _patch(hidden=plain + [{"units": 2, "activation": last_act}]),
        "remove_layer": _patch(hidden=plain[:-1]),
        "can_remove_layer": bool(plain),
    }


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
    from engine.activations import HIDDEN_ACTIVATIONS

    return {
        "sid": session["id"] if session else None,
        "session": session,
        "config": config,
        "hide": hidden,
        "hideable": HIDEABLE,
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
        "schedules": [s["name"] for s in cats["schedules"]],
        "losses": LOSS_TASKS.get(task, ("mse",)),
        "inits": [i["name"] for i in cats["initializers"]],
        "views": VIEWS,
        "task": task,
        "presets": cats["presets"],
    }
