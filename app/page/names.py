"""The names the page shows for the engine's names: data sets, tasks, parameters, option
values (optimizers, losses, initializations, activations, schedules), statuses, quantities.

The *values* the page sends stay the engine's names (``config.loss.name = "bce"``); what the
learner reads is the catalog entry of the English written here, in the page's language (the
template globals ``dataset_name``, ``option_name``… of app/page/templating.py, rendered under
:func:`app.page.i18n.using`). A name with no entry is shown as the engine writes it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import escape

from app.page import i18n, words
from app.page.draw import views
from app.page.i18n import N_, t

DATASETS = {
    "circle": N_("circle"),
    "xor": N_("xor"),
    "gaussians": N_("gaussians"),
    "spiral": N_("spiral"),
    "moons": N_("moons"),
    "blobs": N_("blobs"),
    "spirals": N_("spirals"),
    "reg_plane": N_("tilted plane"),
    "reg_gauss": N_("Gaussian bumps"),
    "digits": N_("digits"),
    "diabetes": N_("diabetes"),
    "csv": N_("CSV"),
    "inline": N_("inline"),
}
# the data sets' one-line descriptions: the engine's docs are the message ids
DATASET_DOCS = (
    N_("Circle: a disc of one class inside a ring of the other (Playground)."),
    N_("Exclusive or: opposite quadrants share a class (Playground)."),
    N_("Two Gaussian clouds at (2, 2) and (-2, -2) (Playground)."),
    N_("Two interleaved spirals (Playground)."),
    N_("Two interleaving half moons."),
    N_("3-5 Gaussian blobs on a circle, one class each."),
    N_("3-5 interleaved spiral arms, one class each."),
    N_("Regression on a tilted plane, target (x1 + x2) / 10 (Playground's reg-plane)."),
    N_("Regression on six signed Gaussian-like bumps (Playground's reg-gauss)."),
    N_("Handwritten digits, 8x8 pixels in [0, 1], 10 classes (1797 images, UCI via "
       "scikit-learn)."),
    N_("Diabetes progression from 10 clinical variables (442 patients, via scikit-learn)."),
)
# the race presets' descriptions (app/sessions/race_presets.py), the race page's list
RACE_DOCS = (
    N_("SGD, Momentum 0.9, RMSProp and Adam at lr 0.01 on an ill-conditioned regression."),
    N_("A regression net at learning rates 1e-3, 1e-1 and 10: too small, good, too large."),
    N_("Batch 1 (noisy steps), 16, and the full training set (one step per epoch)."),
    N_("A 6-layer net: sigmoid (its gradients vanish) vs ReLU with He init."),
    N_("A wide net on 60 noisy points: none (overfits), L2 1e-3, dropout 0.3."),
    N_("A 4-layer ReLU net at a high rate (lr 1): batch norm off (stuck) and on."),
    N_("base config"),
)
# the race presets' names and their runs' names (app/sessions/race_presets.py)
RACE_NAMES = {
    "optimizers": N_("optimizers"),
    "learning-rate": N_("learning rate"),
    "batch-size": N_("batch size"),
    "activations": N_("activation functions"),
    "regularization": N_("regularization"),
    "batch-norm": N_("batch norm"),
}
RUN_NAMES = {
    "full batch": N_("full batch"),
    "sigmoid": N_("sigmoid"),
    "none": N_("none"),
    "no batch norm": N_("no batch norm"),
    "batch norm": N_("batch norm"),
    "ReLU + He": N_("ReLU + He"),
}
RUN_PREFIXES = {  # a word and a number: "lr 0.1"
    "Momentum": N_("Momentum %(value)s"),
    "lr": N_("lr %(value)s"),
    "batch": N_("batch %(value)s"),
    "dropout": N_("dropout %(value)s"),
}
TASKS = {
    "binary": N_("binary"),
    "multiclass": N_("multiclass"),
    "regression": N_("regression"),
}
PARAMS = {
    "noise": N_("noise"),
    "n_samples": N_("n samples"),
    "n_classes": N_("n classes"),
    "momentum": N_("momentum"),
    "dampening": N_("dampening"),
    "weight_decay": N_("weight decay"),
    "nesterov": N_("nesterov"),
    "lr_decay": N_("lr decay"),
    "initial_accumulator_value": N_("initial accumulator value"),
    "eps": N_("eps"),
    "alpha": N_("alpha"),
    "centered": N_("centered"),
    "beta1": N_("beta1"),
    "beta2": N_("beta2"),
    "amsgrad": N_("amsgrad"),
    "max_iter": N_("max iter"),
    "max_eval": N_("max eval"),
    "tolerance_grad": N_("tolerance grad"),
    "tolerance_change": N_("tolerance change"),
    "history_size": N_("history size"),
    "line_search_fn": N_("line search"),
    "damping": N_("damping λ"),
    "damping_factor": N_("damping factor ρ"),
    "max_tries": N_("max tries"),
}
OPTIONS = {
    # losses
    "bce": N_("binary cross-entropy (bce)"),
    "ce": N_("cross-entropy (ce)"),
    "mse": N_("mean squared error (mse)"),
    "mae": N_("mean absolute error (mae)"),
    "huber": N_("Huber (huber)"),
    "rmse": N_("root mean squared error (rmse)"),
    # regularization
    "none": N_("none"),
    "l1": N_("L1"),
    "l2": N_("L2"),
    # optimizers
    "sgd": N_("SGD"),
    "adagrad": N_("Adagrad"),
    "rmsprop": N_("RMSprop"),
    "adam": N_("Adam"),
    "adamw": N_("AdamW"),
    "lbfgs": N_("L-BFGS"),
    "newton": N_("Newton (damped)"),
    "strong_wolfe": N_("strong Wolfe"),
    # schedules
    "constant": N_("constant"),
    "step": N_("step decay"),
    "exponential": N_("exponential decay"),
    "cosine": N_("cosine"),
    # initializations
    "zeros": N_("zeros"),
    "uniform": N_("uniform"),
    "normal": N_("normal"),
    "xavier_uniform": N_("Xavier uniform"),
    "xavier_normal": N_("Xavier normal"),
    "he_uniform": N_("He uniform"),
    "he_normal": N_("He normal"),
    "torch_default": N_("PyTorch default"),
    # activations
    "linear": N_("linear"),
    "sigmoid": N_("sigmoid"),
    "tanh": N_("tanh"),
    "relu": N_("ReLU"),
    "leaky_relu": N_("Leaky ReLU"),
    "prelu": N_("PReLU (learned slope)"),
    "thresholded_relu": N_("thresholded ReLU"),
    "elu": N_("ELU"),
    "softplus": N_("softplus"),
    "gelu": N_("GELU"),
    "silu": N_("SiLU"),
    "softmax": N_("softmax"),
    # loss-surface directions (the race's map)
    "pca": N_("PCA"),
    "random": N_("random"),
    "weights": N_("weights"),
}
STATUSES = {
    "paused": N_("paused"),
    "running": N_("running"),
    "diverged": N_("diverged"),
    "finished": N_("finished"),
    "creating": N_("creating a session…"),
}
# the gradient check's verdicts (app/page/gradcheck_panel.py)
VERDICTS = {
    "within rounding": N_("within rounding"),
    "excellent": N_("excellent"),
    "good": N_("good"),
    "doubtful": N_("doubtful"),
    "wrong": N_("wrong"),
}
# what the network legend and tooltips call the numbers (app/page/draw/views.py QUANTITY)
QUANTITIES = (
    N_("dL/dw (last batch)"),
    N_("dL/db (last batch)"),
    N_("%(name)s of w"),
    N_("%(name)s of b"),
)


def _said(table: dict[str, str], name: object) -> str:
    key = str(name)
    return t(table[key]) if key in table else key


def dataset_name(name: object) -> str:
    return _said(DATASETS, name)


def dataset_doc(name: object, doc: str) -> str:
    """A data set's description: the engine's English ``doc`` is the message id."""
    return t(doc) if doc else dataset_name(name)


def task_name(task: object) -> str:
    return _said(TASKS, task)


def param_name(name: object) -> str:
    key = str(name)
    return t(PARAMS[key]) if key in PARAMS else key.replace("_", " ")


def option_name(name: object) -> str:
    return _said(OPTIONS, name)


def status_name(status: object) -> str:
    return _said(STATUSES, status)


def race_name(name: object) -> str:
    return _said(RACE_NAMES, name)


def run_name(name: object) -> str:
    """A race run's name (``lr 0.1``, ``full batch``) in the page's language."""
    key = str(name)
    if key in RUN_NAMES:
        return t(RUN_NAMES[key])
    word, _, value = key.partition(" ")
    if word in RUN_PREFIXES and value:
        return t(RUN_PREFIXES[word]) % {"value": value}
    return key


VIEWS = {
    **views.LABELS,
    "velocity": N_("velocity (momentum)"),
    "second_moment": N_("mean of squared gradients"),
}


def view_name(view: object) -> str:
    """A view of the network drawing in words (the "show" menu's, without the optimizer's
    state names)."""
    return _said(VIEWS, view)


@lru_cache(maxsize=512)
def network_words(
    lang: str, view: str, edge: str, node: str, labels: tuple[str, ...]
) -> dict[str, Any]:
    """The network region's words in ``lang`` (its legend, the columns' names, "bias"), made
    once per language, view and net shape: the region is drawn up to 30 times a second per
    session, and a template's call of a global costs a few µs each. Escaped here, once (the
    fixed-scale sentences keep their %(scale)s for the template's format)."""
    with i18n.using(lang):
        said = {
            "aria": t("network drawing, view %(view)s") % {"view": view_name(view)},
            "orange": t("orange"),
            "blue": t("blue"),
            "sign": t("the colour is the sign"),
            "lines": t("lines"),
            "boxes": t("boxes"),
            "edge": quantity_words(edge),
            "node": quantity_words(node),
            "fixed": t("fixed scale: widths relative to |value| %(scale)s, frozen when ticked"),
            "widths": t("widths relative to the largest |value| in this view: %(scale)s"),
            "bias": t("bias"),
        }
        columns = tuple(escape(words.layer_text(label)) for label in labels)
    return {**{key: escape(value) for key, value in said.items()}, "columns": columns}


def verdict(word: object) -> str:
    return _said(VERDICTS, word)


def quantity_words(words: str) -> str:
    """A quantity of the network legend (``views.quantity``): ``velocity (…) of w`` and
    ``dL/dw (last batch)`` in the page's language, symbols as they are."""
    for end, sentence in ((" of w", QUANTITIES[2]), (" of b", QUANTITIES[3])):
        if words.endswith(end):
            return t(sentence) % {"name": t(words[: -len(end)])}
    return t(words)
