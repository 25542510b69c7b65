"""The study notes' evaluation metrics, from a model's predictions on one split.

Classification (binary and multi-class), with C the confusion matrix of K classes, C[i, j] =
the number of examples of true class i predicted as class j (rows true, columns predicted, as
scikit-learn's ``confusion_matrix``)::

    precision_k = C[k, k] / Σ_i C[i, k]     (of the examples predicted k, the share that are k)
    recall_k    = C[k, k] / Σ_j C[k, j]     (of the examples that are k, the share found)
    F1_k        = 2 precision_k recall_k / (precision_k + recall_k)
    support_k   = Σ_j C[k, j]

A ratio with a zero denominator (no example predicted k, or none of class k) is 0, which is
scikit-learn's ``zero_division`` result (it warns too; here the count of 0 says so). The
macro F1 is the plain mean of F1_k over the K classes (``f1_score(average="macro")``).

Regression, over the N examples and K outputs of ``pred`` and ``true`` (N, K)::

    MAE  = (1/NK) Σ |ŷ − y|          RMSE = sqrt((1/NK) Σ (ŷ − y)²)
    R²   = mean over outputs k of 1 − Σ_n (ŷ_nk − y_nk)² / Σ_n (y_nk − ȳ_k)²

with scikit-learn's conventions for a constant target (Σ (y − ȳ)² = 0): R² = 1 when the
predictions are exact, else 0. All counts are ints and all ratios plain floats, so a record
holding them is JSON as it is (a diverged regression's non-finite scores become None); the
K × K matrix is what bounds its size: K ≤ 10 for the built-in data, and a user's table of
more than :data:`MAX_CONFUSION` classes gets None instead of the matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.numbers import finite

Array = NDArray[np.float64]
MAX_CONFUSION = 20  # classes up to which a record carries the K × K matrix (400 counts)


def confusion_matrix(true: NDArray[Any], pred: NDArray[Any], k: int) -> NDArray[np.int64]:
    """C (k, k) of int counts: C[i, j] = #{n : true_n = i and pred_n = j}, labels 0..k−1."""
    idx = np.asarray(true, dtype=np.int64).ravel() * k + np.asarray(pred, dtype=np.int64).ravel()
    return np.bincount(idx, minlength=k * k).reshape(k, k)


def _ratio(num: NDArray[Any], den: NDArray[Any]) -> Array:
    """num / den elementwise, 0 where den = 0."""
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def classification(true: NDArray[Any], pred: NDArray[Any], k: int) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, their macro F1, and the confusion matrix
    of class labels ``true`` and ``pred`` (N,) in 0..k−1."""
    c = confusion_matrix(true, pred, k)
    hits = np.diag(c).astype(np.float64)
    precision = _ratio(hits, c.sum(axis=0))
    recall = _ratio(hits, c.sum(axis=1))
    f1 = _ratio(2.0 * precision * recall, precision + recall)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": c.sum(axis=1).tolist(),
        "f1_macro": float(f1.mean()),
        "confusion": c.tolist() if k <= MAX_CONFUSION else None,
    }


def regression(true: Array, pred: Array) -> dict[str, float]:
    """MAE, RMSE and R² (uniform mean over outputs) of ``pred`` against ``true``, (N, K)."""
    d = np.asarray(pred, dtype=np.float64) - true
    res = np.einsum("nk,nk->k", d, d)
    centred = true - true.mean(axis=0)
    tot = np.einsum("nk,nk->k", centred, centred)
    r2 = np.where(tot > 0, 1.0 - _ratio(res, tot), np.where(res == 0, 1.0, 0.0))
    return {
        "mae": float(np.abs(d).mean()),
        "rmse": math.sqrt(float(res.sum()) / d.size),
        "r2": float(r2.mean()),
    }


def scores(task: str, out: Array, true: NDArray[Any]) -> dict[str, Any]:
    """The metrics of ``task`` from the network's output ``out`` (N, K): P(class 1) (binary,
    class 1 where it is > 0.5), class scores (multi-class, the arg-max class), or values."""
    if task == "regression":  # a diverged model's inf or NaN outputs give None
        return dict(finite(regression(np.asarray(true, dtype=np.float64), out)))
    if task == "binary":
        pred = (out[:, 0] > 0.5).astype(np.int64)
        return classification(np.asarray(true).ravel() > 0.5, pred, 2)
    return classification(np.asarray(true), np.argmax(out, axis=1), out.shape[1])
