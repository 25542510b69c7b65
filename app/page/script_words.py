"""The words the page's scripts show, and API errors in the page's language.

The scripts (static/*.js) write no words of their own: the page hands them this table,
translated, as a JSON block (``<script type="application/json" id="page-words">``, read by
static/words.js). Keys are stable; values are catalog message ids (the English), written with
``%(name)s`` placeholders that static/words.js fills.

API errors keep their English ``detail`` for scripts; the page says them by ``code`` and
``field`` (app/core/errors.py): :func:`error_text` here, ``bppError`` in static/words.js, from
the same entries. English pages show the API's own ``detail``, which says the most.
"""

from __future__ import annotations

from typing import Any

from app.page import i18n
from app.page.i18n import N_

SCRIPT = {
    # app.js, data.js, explain.js: requests
    "request_failed": N_("The request failed (%(status)s)."),
    "import_failed": N_("The import failed."),
    "no_answer": N_("The server did not answer."),
    # data.js: points and CSV
    "adding_point": N_("adding a point…"),
    "removing_point": N_("removing the nearest point…"),
    "added_point": N_("Added a point (%(n)s points now, an inline data set): the network was "
                      "reset."),
    "removed_point": N_("Removed a point (%(n)s points now, an inline data set): the network "
                        "was reset."),
    "no_point": N_("There is no point to remove."),
    "no_points": N_("This data set has no points to edit."),
    "reading_file": N_("reading the file…"),
    "creating_data": N_("creating the data set…"),
    "csv_columns": N_(
        "%(rows)s rows · columns: %(columns)s. Pick the target column, then “use this data” "
        "(the network resets)."
    ),
    "csv_using": N_("Using %(rows)s rows: inputs %(inputs)s → target %(target)s. The network "
                    "was reset."),
    # explain.js
    "tracing": N_("Tracing training example #%(index)s."),
    "pause_to_step": N_("pause to step by hand"),
    # replay.js
    "replay_now": N_("Showing now: step %(step)s."),
    "replay_step": N_("Showing step %(step)s of %(last)s (re-trained from step %(keyframe)s)."),
    "replay_pause": N_("Pause to scrub back through the steps."),
    "replay_failed": N_("That step cannot be shown."),
    "fork_failed": N_("Training cannot continue from there."),
    # tooltip.js
    "tip_pending": N_("not computed yet in this iteration (step on to compute it)"),
    "tip_edge": N_("%(quantity)s = %(value)s for w[%(layer)s][%(i)s][%(j)s] (%(from)s → %(to)s)"),
    "tip_bias": N_("bias b[%(layer)s][%(j)s] (%(unit)s) = %(value)s"),
    "tip_input": N_("input x_%(k)s (%(feature)s) of the traced example"),
    "tip_input_value": N_("input x_%(k)s (%(feature)s) = %(value)s of the traced example"),
    "tip_node": N_("%(quantity)s for %(unit)s"),
    "tip_node_value": N_("%(quantity)s = %(value)s for %(unit)s"),
    "tip_alpha": N_("; PReLU α = %(alpha)s (its learned slope below 0)"),
    "unit_of": N_("%(column)s · unit %(k)s"),
    "layer_n": N_("layer %(n)s"),
    "input_n": N_("input %(n)s"),
    "bias": N_("bias"),
    "q_weights": N_("weight"),
    "q_activations": N_("activation × weight"),
    "q_delta": N_("loss gradient (one example)"),
    "q_gradients": N_("gradient (last batch)"),
    "q_updates": N_("update"),
    "q_velocity": N_("velocity (momentum)"),
    "q_second_moment": N_("mean of squared gradients"),
    "q_effective_step": N_("actual step per gradient"),
    "node_weights": N_("bias b_k"),
    "node_activations": N_("activation a_k"),
    "node_delta": N_("δ_k = dL/dz_k"),
    # race.js, race_surface.js
    "race_failed": N_("The race could not be made: %(why)s"),
    "not_yet": N_("not yet"),
    "step_n": N_("step %(n)s"),
    "steps": N_("steps"),
    "step_axis": N_("step"),
    "race_diverged": N_("diverged: stopped, the others go on"),
    "no_loss_yet": N_("no loss yet: step or play"),
    "text_column": N_("text"),
    "computing": N_("computing…"),
    "race_reset": N_("the race was reset: compute again"),
    "status_running": N_("running"),
    "status_paused": N_("paused"),
    "status_diverged": N_("diverged"),
    "status_finished": N_("finished"),
    "status_creating": N_("creating"),
}

# API errors by code (app/core/errors.py); %(field)s is the field's name in words
ERRORS = {
    "invalid": N_("%(field)s: this value is not accepted."),
    "over_limit": N_("%(field)s: over the limit (%(max)s)."),
    "quota": N_("Too many requests for now: try again in a moment."),
    "not_found": N_("Not found: %(field)s."),
    "conflict": N_("Not possible right now: %(field)s."),
    "forbidden": N_("Not allowed: %(field)s."),
    "busy": N_("The server is busy: try again in a moment."),
    "full": N_("The server has no room for more sessions right now."),
    "too_large": N_("Too large: at most %(max)s bytes."),
    "bad_request": N_("The request was not understood."),
    "error": N_("Something went wrong on the server."),
}

# the fields errors name, in words (a field not here is said as the API names it)
FIELDS = {
    "": N_("this request"),
    "c": N_("the config link"),
    "preset": N_("preset"),
    "session": N_("session"),
    "race": N_("race"),
    "body": N_("the upload"),
    "optimizer.lr": N_("learning rate"),
    "lr": N_("learning rate"),
    "optimizer": N_("optimizer"),
    "optimizer.name": N_("optimizer"),
    "optimizer.momentum": N_("momentum"),
    "optimizer.weight_decay": N_("weight decay"),
    "batch_size": N_("batch size"),
    "hidden": N_("hidden layers"),
    "dataset": N_("dataset"),
    "dataset.name": N_("dataset"),
    "dataset.noise": N_("noise"),
    "dataset.n_samples": N_("number of samples"),
    "dataset.split": N_("train : test ratio"),
    "dataset.features": N_("input features"),
    "dropout": N_("dropout"),
    "regularization": N_("regularization"),
    "regularization.rate": N_("regularization rate"),
    "clip_norm": N_("clip gradient norm"),
    "seed": N_("seed"),
    "loss": N_("loss function"),
    "init": N_("initialization"),
    "view": N_("view"),
    "edge": N_("weight"),
    "weight": N_("weight"),
    "value": N_("new value"),
    "step": N_("step"),
    "steps": N_("steps"),
    "step_axis": N_("step"),
    "count": N_("count"),
    "points": N_("points"),
    "csv": N_("CSV file"),
    "text": N_("CSV file"),
    "target": N_("target column"),
    "surface": N_("loss surface"),
    "sessions": N_("sessions"),
}


def words(lang: str) -> dict[str, Any]:
    """The table static/words.js reads: the scripts' words, the error templates and the
    field names, in ``lang``."""
    tr = i18n.translations(lang)
    return {
        "lang": i18n.valid(lang) or i18n.DEFAULT_LANG,
        "words": {key: tr.gettext(msgid) for key, msgid in SCRIPT.items()},
        "errors": {code: tr.gettext(msgid) for code, msgid in ERRORS.items()},
        "fields": {name: tr.gettext(msgid) for name, msgid in FIELDS.items()},
    }


def field_words(field: str | None, lang: str) -> str:
    """A field an error names, in words (its last known prefix: ``hidden.0.units`` →
    hidden layers)."""
    name = (field or "").removeprefix("config.").removeprefix("body.")
    while True:
        if name in FIELDS:
            return i18n.gettext(lang, FIELDS[name])
        if "." not in name:
            return field or ""
        name = name.rsplit(".", 1)[0]


def error_text(body: dict[str, Any], lang: str) -> str:
    """An API error body (``detail``, ``code``, ``field``, ``max``) as the page says it: the
    English ``detail`` itself on an English page, else the code's sentence in ``lang``."""
    if (i18n.valid(lang) or i18n.DEFAULT_LANG) == "en":
        return str(body.get("detail", ""))
    code = str(body.get("code") or "invalid")
    sentence = i18n.gettext(lang, ERRORS.get(code, ERRORS["invalid"]))
    return sentence % {
        "field": field_words(body.get("field"), lang),
        "max": body.get("max", ""),
    }
