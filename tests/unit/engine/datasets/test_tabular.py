"""Tests for engine.datasets.tabular (inline validation, task inference) and the inline datasets
built from it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from engine.datasets import load_csv, make_dataset
from engine.datasets.tabular import check_x, check_y, resolve_task

# --------------------------------------------------------------------------- inline checks


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (None, "x: expected a list of rows"),
        ([], "x: no rows"),
        ([[1, 2], [3]], "x[1] has 1 values, expected 2"),
        ([[1, 2], [3, "a"]], "x[1][1] = 'a' is not a number"),
        ([[True, False]], "x[0][0] = True is not a number"),
        ([[1, 2], [3, float("nan")]], "x[1][1] = nan is not a finite number"),
        ([1, 2], "x[0]: expected a list of numbers"),
        ([[]], "at least one row and one column"),
        ([[1, None]], "x[0][1] = None is not a number"),
    ],
)
def test_check_x_names_the_bad_cell(x: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_x(x)


def test_check_x_limits() -> None:
    with pytest.raises(ValueError, match="more than the limit of 2"):
        check_x([[1], [2], [3]], max_rows=2)
    with pytest.raises(ValueError, match="3 columns, more than the limit of 2"):
        check_x([[1, 2, 3]], max_cols=2)
    np.testing.assert_array_equal(check_x(np.arange(6).reshape(3, 2)), [[0, 1], [2, 3], [4, 5]])


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([0, 1], "y: has 2 values but x has 3 rows"),
        ([0, 1, "a"], "y[2] = 'a' is text"),
        ([0, 1, None], "y[2] = None is not a number"),
        ([0, True, 1], "y[1] = True"),
        ([0, float("inf"), 1], "y[1] = inf is not a finite number"),
        (["a", " ", "b"], "y[1] is an empty label"),
        ("abc", "y: expected a list"),
    ],
)
def test_check_y_names_the_bad_value(y: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_y(y, 3)


def test_task_inference() -> None:
    def infer(values: list) -> tuple:
        task, t, names = resolve_task(check_y(values, len(values)))
        return task, t.tolist(), names

    assert infer([0, 1, 1, 0]) == ("binary", [0, 1, 1, 0], ["0", "1"])
    assert infer([0.0, 0.0]) == ("binary", [0, 0], ["0", "1"])
    assert infer([-1, 1, 1]) == ("binary", [0, 1, 1], ["-1", "1"])
    assert infer([7, 3, 5, 3]) == ("multiclass", [2, 0, 1, 0], ["3", "5", "7"])
    assert infer(["dog", "cat", "dog"]) == ("binary", [1, 0, 1], ["cat", "dog"])
    assert infer(["b", "c", "a"]) == ("multiclass", [1, 2, 0], ["a", "b", "c"])
    assert infer([0.5, 1.5, 2.0]) == ("regression", [0.5, 1.5, 2.0], None)
    eleven = list(range(11))
    assert infer(eleven)[0] == "regression"
    task, t, names = resolve_task(check_y(eleven, 11), "multiclass")
    assert task == "multiclass" and t.tolist() == eleven and len(names or []) == 11
    task, t, _ = resolve_task(check_y([0, 1, 1], 3), "regression")
    assert task == "regression" and t.dtype == np.float64


@pytest.mark.parametrize(
    ("y", "task", "message"),
    [
        ([0, 1, 2], "binary", "'binary' needs 2 distinct labels"),
        ([0, 1, 2.5], "multiclass", "y[2] = 2.5: a multiclass label must be an integer"),
        ([1, 1, 1], "multiclass", "needs 2 to 50 classes"),
        (["a", "b", "a"], "regression", "'regression' needs numbers"),
        (["a", "a", "a"], None, "1 distinct text labels"),
        ([0, 1, 1], "classification", "task: invalid 'classification'"),
    ],
)
def test_task_errors(y: list, task: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_task(check_y(y, len(y)), task)


# --------------------------------------------------------------------------- inline datasets


def _points(n: int = 60, seed: int = 0) -> tuple[list[list[float]], list[int]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(n, 2))
    return x.tolist(), (x[:, 0] > 3.0).astype(int).tolist()


def test_inline_2d_binary_keeps_raw_points_and_a_domain() -> None:
    x, y = _points()
    ds = make_dataset({"name": "inline", "x": x, "y": y, "seed": 3})
    assert ds.task == "binary" and ds.n_classes == 2 and ds.class_names == ["0", "1"]
    assert ds.y_train.dtype == np.float64 and ds.y_train.shape == (ds.sizes["train"], 1)
    assert sum(ds.sizes.values()) == 60 and ds.feature_names == ["x1", "x2"]
    assert ds.raw_train is not None and ds.domain is not None
    x1min, x1max, x2min, x2max = ds.domain
    pts = np.array(x)
    assert x1min < pts[:, 0].min() and pts[:, 0].max() < x1max
    assert x2min < pts[:, 1].min() and pts[:, 1].max() < x2max
    # Inline data is standardised by default, with training statistics.
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    assert ds.transform(ds.raw_train).tobytes() == ds.x_train.tobytes()
    # Each raw row keeps its own label through the shuffle.
    lookup = {tuple(r): label for r, label in zip(x, y, strict=True)}
    assert [lookup[tuple(r)] for r in ds.raw_train] == ds.y_train[:, 0].tolist()


def test_inline_features_and_round_trip() -> None:
    x, y = _points()
    spec = {"name": "inline", "x": x, "y": y, "features": ["x1^2", "x1*x2"], "standardize": False}
    ds = make_dataset(spec)
    a, b = ds.raw_train.T
    np.testing.assert_array_equal(ds.x_train, np.column_stack([a * a, a * b]))
    again = make_dataset(json.loads(json.dumps(ds.to_spec())))
    assert again == ds


def test_inline_multicolumn_regression_with_names() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)) * [1.0, 10.0, 100.0]
    y = (x @ [1.0, 2.0, 3.0] + 1000.0).tolist()
    spec = {
        "name": "inline",
        "x": x.tolist(),
        "y": y,
        "input_names": ["a", "b", "c"],
        "target_name": "price",
        "split": {"train": 0.5, "val": 0.25, "test": 0.25},
    }
    ds = make_dataset(spec)
    assert ds.task == "regression" and ds.n_classes == 0 and ds.raw_train is None
    assert ds.feature_names == ["a", "b", "c"] and ds.target_name == "price"
    assert ds.sizes == {"train": 20, "val": 10, "test": 10}
    np.testing.assert_allclose(ds.y_train.mean(), 0, atol=1e-12)  # target standardised
    restored = np.concatenate([ds.y_train, ds.y_val, ds.y_test])[:, 0] * ds.target_std
    np.testing.assert_allclose(np.sort(restored + ds.target_mean), np.sort(y), rtol=1e-12)
    assert make_dataset(ds.to_spec()) == ds
    with pytest.raises(ValueError, match="features"):
        make_dataset({**spec, "features": ["x1"]})


def test_inline_text_labels_from_csv() -> None:
    text = "sepal,petal,species\n" + "".join(
        f"{5 + i % 7 * 0.1:.1f},{1 + i % 5},{['setosa', 'versicolor', 'virginica'][i % 3]}\n"
        for i in range(30)
    )
    x, y, names = load_csv(text)
    spec = {"name": "inline", "x": x.tolist(), "y": y.tolist(), "input_names": names[:-1]}
    ds = make_dataset({**spec, "target_name": names[-1]})
    assert ds.task == "multiclass" and ds.n_classes == 3
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.y_train.dtype == np.int64
    assert make_dataset(ds.to_spec()) == ds


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"task": "binary", "standardize_target": True}, "standardize_target"),
        ({"input_names": ["a"]}, "input_names: expected a list of 2 names"),
        ({"input_names": ["a", "a"]}, "input_names[1]: 'a' is used twice"),
        ({"target_name": ""}, "target_name"),
        ({"n_samples": 10}, "unknown key 'n_samples'"),
        ({"features": ["x9"]}, "x9"),
        ({"split": {"train": 0.5}}, "sum to 1"),
        ({"y": [0, 1]}, "y: has 2 values but x has 60 rows"),
    ],
)
def test_inline_errors(extra: dict, message: str) -> None:
    x, y = _points()
    with pytest.raises(ValueError, match=re.escape(message)):
        make_dataset({"name": "inline", "x": x, "y": y, **extra})
