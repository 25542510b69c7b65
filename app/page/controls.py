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
from app.page.i18n import N_
from app.sessions.catalog import all_catalogs
from engine.activations import HIDDEN_ACTIVATIONS
from engine.config import normalize_config
from engine.datasets import make_dataset

# the classroom checkboxes' words: catalog message ids, shown in the page's language
HIDEABLE = {
    "data": N_("data panel"),
    "features": N_("feature toggles"),
    "layers": N_("layer buttons"),
    "optimizer": N_("optimizer and its parameters"),
    "lr": N_("learning rate"),
    "batch": N_("batch size"),
    "loss": N_("loss, init and regularization"),
    "tricks": N_("batch norm, dropout and seed"),
    "phase": N_("phase stepper"),
    "surface": N_("loss surface panel"),
}
LOSS_TASKS = {
    "binary": ("bce", "mse", "rmse", "mae", "huber"),
    "multiclass": ("ce",),
    "regression": ("mse", "rmse", "mae", "huber"),
}


# the learning-rate slider's ends, as log10: 1e-5 … 10 (a typed rate may go past them)
LR_LOG_ENDS = (-5, 1)
# iterations a second of the page's play: a pace a person can follow (a lesson's run shows
# its story); "full" is one choice away in the speed menu
DEFAULT_SPEED = 30


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


def split_rows(spec: dict[str, Any]) -> dict[str, int] | None:
    """Rows of each part of data set ``spec`` (train, val, test, and n: all of them), for the
    train : test slider's words; None when the spec does not build (its error is shown
    elsewhere)."""
    try:
        data = make_dataset(spec)
    except ValueError:
        return None
    parts = {
        "train": int(data.x_train.shape[0]),
        "val": int(data.x_val.shape[0]),
        "test": int(data.x_test.shape[0]),
    }
    return {**parts, "n": sum(parts.values())}


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
        "datasets": cats["datasets"],
        "dataset": entry,
        "dataset_params": params,
        "train_ratio": split.get("train", 0.7),
        "rows": split_rows(ds),
        "default_speed": DEFAULT_SPEED,
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


# the page's own settings a share link carries besides the config (``&view=…&show_test=1``)
SHARED_UI = ("view", "show_test", "discretize", "log_scale")


def ui_query(ui: Any) -> str:
    """``&key=value`` of the page settings (``words.UiState``) that differ from the defaults."""
    out = ""
    if ui.view != "weights":
        out += f"&view={ui.view}"
    for key in SHARED_UI[1:]:
        if getattr(ui, key):
            out += f"&{key}=1"
    return out


def apply_ui_query(ui: Any, params: Any, offered: list[str]) -> None:
    """Set the page settings a link carries (``params``: the request's query) on ``ui``; a view
    the session's optimizer does not offer, or a value that is not 0/1, is ignored."""
    view = params.get("view")
    if view in offered:
        ui.view = view
    for key in SHARED_UI[1:]:
        value = params.get(key)
        if value in ("0", "1"):
            setattr(ui, key, value == "1")

