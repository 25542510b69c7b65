"""The registry of named data sets: each entry declares its task, parameters and defaults.

A generator is a class with ``name``, ``params`` (its own :class:`~engine.registry.Param` tuple,
e.g. ``n_samples``, ``noise``, ``n_classes``) and ``generate(rng) -> Source``: the raw inputs and
targets before any shuffling, splitting, feature expansion or standardisation (those are common
to all sets and live in ``build.py``). Besides its own parameters every spec takes the common keys

    seed         int in [0, 2**32 - 1], default 0 (np.random.default_rng(seed) drives everything)
    split        {"train", "val", "test"} fractions, default 0.7 / 0.15 / 0.15
    standardize  z-score the inputs with training statistics (default per set, see below)
    features     2-D sets only: model inputs from FEATURES, default ["x1", "x2"]
    standardize_target   regression only: z-score the target with training statistics

Defaults: Playground's sets keep Playground's raw [-6, 6] inputs (standardize false) and 500
points (1200 for regression, as Playground); digits pixels are already in [0, 1] (standardize
false); diabetes features are in mixed units, so it standardises inputs and target by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from engine.datasets import real, synthetic
from engine.datasets.features import DEFAULT_FEATURES, FEATURES
from engine.datasets.split import DEFAULT_SPLIT
from engine.registry import Param, Registry

TASKS = ("binary", "multiclass", "regression")

SEED = Param("seed", 0, "int", 0, 2**32 - 1, doc="random seed; the same spec gives the same data")
STANDARDIZE = Param("standardize", False, "bool", doc="z-score inputs with train mean/std")
SHUFFLE = Param(
    "shuffle", True, "bool", doc="shuffle rows before the split; false takes them in order"
)
STANDARDIZE_TARGET = Param(
    "standardize_target", False, "bool", doc="z-score a regression target with train mean/std"
)


@dataclass
class Source:
    """Raw data of one set: inputs ``x`` (N, D) float64 and targets ``t`` (N,) — int64 class
    indices for classification, float64 values for regression — plus names for display.
    ``domain`` (x1min, x1max, x2min, x2max) is set exactly when the inputs are 2-D points."""

    x: NDArray[np.float64]
    t: NDArray[Any]
    input_names: list[str]
    target_name: str
    class_names: list[str] | None = None
    image_shape: tuple[int, int] | None = None
    domain: tuple[float, float, float, float] | None = None


class Generator:
    """Base class of registered data sets."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    task: ClassVar[str]
    n_classes_range: ClassVar[tuple[int, int]] = (0, 0)  # (min, max); 0 for regression
    is_2d: ClassVar[bool] = True
    n_inputs: ClassVar[int] = 2
    image_shape: ClassVar[tuple[int, int] | None] = None
    standardize_default: ClassVar[bool] = False
    standardize_target_default: ClassVar[bool] = False

    def __init__(self, **config: Any) -> None:
        self.config = config  # validated by Registry.create

    def n_classes(self) -> int:
        return int(self.config.get("n_classes", self.n_classes_range[0]))

    def generate(self, rng: np.random.Generator) -> Source:
        raise NotImplementedError


class DatasetRegistry(Registry[Generator]):
    """A :class:`Registry` whose catalog describes tasks, class counts and full default specs."""

    def lookup(self, name: Any) -> Any:
        if not isinstance(name, str) or name not in self.names():
            choices = [*self.names(), "inline", "csv"]
            raise ValueError(f"unknown dataset {name!r}; choose one of {choices}")
        return super().lookup(name)

    def catalog(
        self, describe: Callable[[Any], dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        return super().catalog(describe or _describe)


DATASETS = DatasetRegistry("dataset")


def default_spec(name: str) -> dict[str, Any]:
    """The complete spec ``make_dataset`` fills in for ``{"name": name}``."""
    cls = DATASETS.lookup(name)
    spec: dict[str, Any] = {"name": name, **DATASETS.defaults(name), "seed": SEED.default}
    spec["split"] = dict(DEFAULT_SPLIT)
    spec["standardize"] = cls.standardize_default
    if cls.is_2d:
        spec["features"] = list(DEFAULT_FEATURES)
    if cls.task == "regression":
        spec["standardize_target"] = cls.standardize_target_default
    return spec


def _describe(cls: Any) -> dict[str, Any]:
    lo, hi = cls.n_classes_range
    out: dict[str, Any] = {
        "task": cls.task,
        "n_classes": {"min": lo, "max": hi},
        "is_2d": cls.is_2d,
        "n_inputs": cls.n_inputs,
        "defaults": default_spec(cls.name),
        "common_params": [
            SEED.describe(),
            {**STANDARDIZE.describe(), "default": cls.standardize_default},
            SHUFFLE.describe(),
        ],
    }
    if cls.task == "regression":
        default = cls.standardize_target_default
        out["common_params"].append({**STANDARDIZE_TARGET.describe(), "default": default})
    if cls.is_2d:
        out["features"] = list(FEATURES)
        out["domain"] = list(synthetic.DOMAIN)
    if cls.image_shape is not None:
        out["image_shape"] = list(cls.image_shape)
    return out


# --------------------------------------------------------------------------- 2-D toy sets

NOISE = Param("noise", 0.0, "float", 0.0, 1.0, doc="Playground's noise % / 100 (Playground: 0-0.5)")
N_CLASSES = Param("n_classes", 3, "int", 3, 5, doc="number of classes")


def _n_samples(default: int) -> Param:
    return Param("n_samples", default, "int", 10, 5000, doc="number of points")


class _Toy(Generator):
    """2-D set drawn by a function of :mod:`engine.datasets.synthetic`."""

    params: ClassVar[tuple[Param, ...]] = (_n_samples(500), NOISE)
    make: ClassVar[Callable[..., tuple[NDArray[np.float64], NDArray[Any]]]]

    def generate(self, rng: np.random.Generator) -> Source:
        extra = {"n_classes": self.config["n_classes"]} if "n_classes" in self.config else {}
        x, t = type(self).make(self.config["n_samples"], self.config["noise"], rng, **extra)
        k = self.n_classes()
        return Source(
            x=x,
            t=t,
            input_names=["x1", "x2"],
            target_name="label" if k else "y",
            class_names=[str(c) for c in range(k)] if k else None,
            domain=synthetic.DOMAIN,
        )


class _Binary(_Toy):
    task = "binary"
    n_classes_range = (2, 2)


@DATASETS.register
class Circle(_Binary):
    """Circle: a disc of one class inside a ring of the other (Playground)."""

    name = "circle"
    make = staticmethod(synthetic.circle)


@DATASETS.register
class Xor(_Binary):
    """Exclusive or: opposite quadrants share a class (Playground)."""

    name = "xor"
    make = staticmethod(synthetic.xor)


@DATASETS.register
class Gaussians(_Binary):
    """Two Gaussian clouds at (2, 2) and (-2, -2) (Playground)."""

    name = "gaussians"
    make = staticmethod(synthetic.gaussians)


@DATASETS.register
class Spiral(_Binary):
    """Two interleaved spirals (Playground)."""

    name = "spiral"
    make = staticmethod(synthetic.spiral)


@DATASETS.register
class Moons(_Binary):
    """Two interleaving half moons."""

    name = "moons"
    make = staticmethod(synthetic.moons)


@DATASETS.register
class Blobs(_Toy):
    """3-5 Gaussian blobs on a circle, one class each."""

    name = "blobs"
    task = "multiclass"
    n_classes_range = (3, 5)
    params = (_n_samples(500), NOISE, N_CLASSES)
    make = staticmethod(synthetic.blobs)


@DATASETS.register
class Spirals(_Toy):
    """3-5 interleaved spiral arms, one class each."""

    name = "spirals"
    task = "multiclass"
    n_classes_range = (3, 5)
    params = (_n_samples(500), NOISE, N_CLASSES)
    make = staticmethod(synthetic.spirals)


@DATASETS.register
class RegPlane(_Toy):
    """Regression on a tilted plane, target (x1 + x2) / 10 (Playground's reg-plane)."""

    name = "reg_plane"
    task = "regression"
    params = (_n_samples(1200), NOISE)
    make = staticmethod(synthetic.plane)


@DATASETS.register
class RegGauss(_Toy):
    """Regression on six signed Gaussian-like bumps (Playground's reg-gauss)."""

    name = "reg_gauss"
    task = "regression"
    params = (_n_samples(1200), NOISE)
    make = staticmethod(synthetic.gauss_bumps)


# --------------------------------------------------------------------------- real tables


class _Real(Generator):
    """A fixed table, optionally subsampled (seeded, without replacement, original order kept)."""

    is_2d = False
    load: ClassVar[Callable[[], real.Table]]

    def generate(self, rng: np.random.Generator) -> Source:
        table = type(self).load()
        x, t = table.x, table.t
        n = self.config["n_samples"]
        if n is not None and n < len(x):
            keep = np.sort(rng.permutation(len(x))[:n])
            x, t = x[keep], t[keep]
        return Source(
            x=x,
            t=t,
            input_names=list(table.input_names),
            target_name=table.target_name,
            class_names=list(table.class_names) if table.class_names else None,
            image_shape=table.image_shape,
        )


@DATASETS.register
class Digits(_Real):
    """Handwritten digits, 8x8 pixels in [0, 1], 10 classes (1797 images, UCI via scikit-learn)."""

    name = "digits"
    task = "multiclass"
    n_classes_range = (10, 10)
    n_inputs = 64
    image_shape = (8, 8)
    params = (
        Param("n_samples", None, "int", 10, 1797, nullable=True, doc="subsample size; null = all"),
    )
    load = staticmethod(real.digits)


@DATASETS.register
class Diabetes(_Real):
    """Diabetes progression from 10 clinical variables (442 patients, via scikit-learn)."""

    name = "diabetes"
    task = "regression"
    n_inputs = 10
    standardize_default = True
    standardize_target_default = True
    params = (
        Param("n_samples", None, "int", 10, 442, nullable=True, doc="subsample size; null = all"),
    )
    load = staticmethod(real.diabetes)
