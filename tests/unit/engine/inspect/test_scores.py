"""The notes' metrics against scikit-learn on the same predictions, and in the metrics readout."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
)

from engine.inspect import readouts, scores
from engine.trainer import Trainer


def check_classification(true: np.ndarray, pred: np.ndarray, k: int) -> None:
    got = scores.classification(true, pred, k)
    labels = list(range(k))
    p, r, f, s = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0.0, average=None
    )
    np.testing.assert_allclose(got["precision"], p, rtol=1e-15)
    np.testing.assert_allclose(got["recall"], r, rtol=1e-15)
    np.testing.assert_allclose(got["f1"], f, rtol=1e-15)
    assert got["support"] == s.tolist()
    macro = f1_score(true, pred, labels=labels, average="macro", zero_division=0.0)
    assert got["f1_macro"] == pytest.approx(macro, rel=1e-15)
    assert got["confusion"] == confusion_matrix(true, pred, labels=labels).tolist()


@pytest.mark.parametrize("k", [2, 3, 10])
def test_classification_matches_sklearn(k: int) -> None:
    rng = np.random.default_rng(k)
    true = rng.integers(0, k, size=200)
    # mostly right, with mistakes biased towards class 0 so the classes differ
    pred = np.where(rng.random(200) < 0.7, true, rng.integers(0, max(1, k // 2), size=200))
    check_classification(true, pred, k)


def test_classes_never_predicted_or_absent_score_zero_as_sklearn() -> None:
    true = np.array([0, 0, 1, 1, 1, 3])  # class 2 never occurs
    pred = np.array([0, 1, 1, 1, 0, 0])  # classes 2 and 3 never predicted
    check_classification(true, pred, 4)
    got = scores.classification(true, pred, 4)
    assert got["precision"][2:] == [0.0, 0.0] and got["recall"][2:] == [0.0, 0.0]


def test_regression_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    for k in (1, 3):
        true = rng.normal(size=(50, k))
        pred = true + rng.normal(scale=0.4, size=(50, k))
        got = scores.regression(true, pred)
        assert got["mae"] == pytest.approx(mean_absolute_error(true, pred), rel=1e-14)
        rmse = math.sqrt(mean_squared_error(true, pred))
        assert got["rmse"] == pytest.approx(rmse, rel=1e-14)
        assert got["r2"] == pytest.approx(r2_score(true, pred), rel=1e-13)


def test_r2_of_a_constant_target_follows_sklearn() -> None:
    true = np.full((5, 2), 3.0)
    exact = scores.regression(true, true.copy())
    assert exact["r2"] == r2_score(true, true) == 1.0
    off = true + np.array([[0.0, 1.0]])
    assert scores.regression(true, off)["r2"] == pytest.approx(r2_score(true, off))  # (1 + 0) / 2


def test_a_big_class_count_leaves_the_matrix_out() -> None:
    k = scores.MAX_CONFUSION + 1
    got = scores.classification(np.arange(k), np.arange(k), k)
    assert got["confusion"] is None and got["f1"] == [1.0] * k


@pytest.mark.parametrize(
    ("dataset", "task"),
    [({"name": "circle"}, "binary"), ({"name": "blobs", "n_classes": 4}, "multiclass")],
)
def test_metrics_readout_carries_them_for_the_model_predictions(dataset: dict, task: str) -> None:
    t = Trainer({"dataset": dataset, "optimizer": {"name": "adam", "lr": 0.01}})
    t.step(30)
    m = json.loads(json.dumps(readouts.metrics(t), allow_nan=False))
    assert set(m) == {"train", "val", "test"}
    out = t.net.predictions(t.data.x_test)
    true = t.data.y_test.ravel().astype(int) if task == "binary" else t.data.y_test
    pred = (out[:, 0] > 0.5).astype(int) if task == "binary" else np.argmax(out, axis=1)
    k = 2 if task == "binary" else 4
    check_classification(true, pred, k)
    test = m["test"]
    assert test["confusion"] == confusion_matrix(true, pred, labels=list(range(k))).tolist()
    assert test["accuracy"] == pytest.approx(np.trace(test["confusion"]) / len(true))
    # per-class lists only on the split the page shows; the macro F1 on every split
    assert "confusion" not in m["train"] and "f1_macro" in m["train"]
    train_pred = t.net.predictions(t.data.x_train)
    train_true = t.data.y_train.ravel().astype(int) if task == "binary" else t.data.y_train
    train_cls = (train_pred[:, 0] > 0.5).astype(int) if task == "binary" else train_pred.argmax(1)
    expected = f1_score(train_true, train_cls, labels=list(range(k)), average="macro",
                        zero_division=0.0)  # fmt: skip
    assert m["train"]["f1_macro"] == pytest.approx(expected, rel=1e-14)


def test_metrics_readout_for_regression() -> None:
    t = Trainer({"dataset": {"name": "reg_plane"}, "loss": "rmse"})
    t.step(20)
    m = readouts.metrics(t)
    for split in ("train", "val", "test"):
        x, y = getattr(t.data, f"x_{split}"), getattr(t.data, f"y_{split}")
        pred = t.net.predictions(x)
        assert m[split]["mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-13)
        assert m[split]["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, pred)), rel=1e-13)
        assert m[split]["r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)
        # the rmse loss is the rmse metric: the loss readout and the score agree
        assert m[split]["loss"] == pytest.approx(m[split]["rmse"], rel=1e-13)
