"""Data sets for the playground: 2-D toy sets, small real tables and user data.

    from engine.datasets import Dataset, make_dataset, DATASETS, FEATURES, load_csv

    ds = make_dataset({"name": "spiral", "n_samples": 500, "noise": 0.1, "seed": 3,
                       "split": {"train": 0.7, "val": 0.15, "test": 0.15},
                       "features": ["x1", "x2", "sin_x1", "sin_x2"], "standardize": False})
    ds.x_train            # (350, 4) float64
    ds.y_train            # (350, 1) float64 in {0, 1}
    make_dataset(ds.to_spec()) == ds

Registered sets (``DATASETS.catalog()`` lists tasks, parameters and full default specs):

* binary, 2-D (y (N, 1) float 0/1): ``circle``, ``xor``, ``gaussians``, ``spiral`` (Playground)
  and ``moons``; params ``n_samples`` (10..5000, default 500), ``noise`` (0..1, default 0).
* multiclass, 2-D (y (N,) int64): ``blobs``, ``spirals``; plus ``n_classes`` (3..5, default 3).
* regression, 2-D (y (N, 1) float): ``reg_plane``, ``reg_gauss`` (Playground's reg-plane and
  reg-gauss); ``n_samples`` default 1200 as in Playground.
* ``digits`` (multiclass, 64 pixel inputs in [0, 1], image_shape (8, 8)) and ``diabetes``
  (regression, 10 inputs; inputs and target standardised by default); ``n_samples`` optional.
* ``inline``: user rows ``{"name": "inline", "x": [[...], ...], "y": [...], "task": optional,
  "input_names": optional, "target_name": optional}``; standardises inputs (and a regression
  target) by default; 2-column data keeps raw points and a padded bounding-box domain.
* ``csv``: a user's CSV file ``{"name": "csv", "text": "...", "target": optional column name or
  index (default: the last), "task": optional}``, parsed by ``load_csv`` and built as the
  equivalent ``inline`` spec (``csv_to_inline``); ``inspect_csv`` lists a file's columns first.

Common keys: ``seed`` (default 0), ``split`` (default train 0.7 / val 0.15 / test 0.15; each
fraction in [0, 1], summing to 1; val or test may be 0), ``standardize`` (train statistics only),
``features`` (2-D sets; non-empty distinct subset of FEATURES, default ["x1", "x2"]),
``standardize_target`` (regression only).
"""

from engine.datasets.build import csv_to_inline, make_dataset
from engine.datasets.csvtable import TableLimit, inspect_csv, load_csv
from engine.datasets.dataset import Dataset
from engine.datasets.features import FEATURES
from engine.datasets.generators import DATASETS, TASKS, Generator, Source, default_spec
from engine.datasets.tabular import MAX_COLS, MAX_ROWS

__all__ = [
    "DATASETS",
    "FEATURES",
    "MAX_COLS",
    "MAX_ROWS",
    "TASKS",
    "Dataset",
    "Generator",
    "Source",
    "TableLimit",
    "csv_to_inline",
    "default_spec",
    "inspect_csv",
    "load_csv",
    "make_dataset",
]
