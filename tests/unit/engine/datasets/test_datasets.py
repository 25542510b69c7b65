"""Tests for engine.datasets: generators, splits, features, standardisation, specs, catalog."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.datasets import DATASETS, FEATURES, Dataset, default_spec, make_dataset

TOY = [
    "circle",
    "xor",
    "gaussians",
    "spiral",
    "moons",
    "blobs",
    "spirals",
    "reg_plane",
    "reg_gauss",
]
ALL = [*TOY, "digits", "diabetes"]
ALL_TRAIN = {"train": 1.0, "val": 0.0, "test": 0.0}


def whole(name: str, **params: object) -> Dataset:
    """The whole set in the training part (unshuffled content, shuffled order)."""
    return make_dataset({"name": name, "split": ALL_TRAIN, **params})


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ALL)
def test_same_spec_gives_bit_identical_arrays(name: str) -> None:
    spec = {"name": name, "seed": 7}
    a, b = make_dataset(spec), make_dataset(spec)
    assert a == b
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert getattr(a, part).tobytes() == getattr(b, part).tobytes()


@pytest.mark.parametrize("name", ALL)
def test_different_seed_gives_different_data(name: str) -> None:
    a = make_dataset({"name": name, "seed": 1})
    b = make_dataset({"name": name, "seed": 2})
    assert a != b
    assert not np.array_equal(a.x_train, b.x_train)


# --------------------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_dtypes_follow_the_task(name: str) -> None:
    ds = make_dataset({"name": name})
    n = {"digits": 1797, "diabetes": 442}.get(name, DATASETS.defaults(name).get("n_samples"))
    assert sum(ds.sizes.values()) == n
    f = len(ds.feature_names)
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == f
        assert len(y) == len(x)
        if ds.task == "binary":
            assert y.dtype == np.float64 and y.shape == (len(x), 1)
            assert set(np.unique(y)) <= {0.0, 1.0}
        elif ds.task == "multiclass":
            assert y.dtype == np.int64 and y.shape == (len(x),)
            assert y.min() >= 0 and y.max() < ds.n_classes
        else:
            assert y.dtype == np.float64 and y.shape == (len(x), 1)
    assert ds.n_classes == {"binary": 2, "regression": 0}.get(ds.task, ds.n_classes)
    if name in TOY:
        assert ds.domain == (-6.0, 6.0, -6.0, 6.0)
        assert ds.raw_train is not None and ds.raw_train.shape == (ds.sizes["train"], 2)
        assert ds.input_names == ["x1", "x2"]
    else:
        assert ds.raw_train is None and ds.domain is None


@pytest.mark.parametrize("name", ["circle", "gaussians", "spiral", "moons"])
def test_playground_binary_sets_are_balanced(name: str) -> None:
    ds = whole(name, n_samples=301)
    assert int(ds.y_train.sum()) in (150, 151)


def test_xor_is_roughly_balanced() -> None:
    y = whole("xor", n_samples=2000).y_train
    assert 0.45 < y.mean() < 0.55


# --------------------------------------------------------------------------- split and scaling


def test_split_sizes_add_up_and_parts_are_disjoint() -> None:
    ds = make_dataset({"name": "gaussians", "n_samples": 500})
    assert ds.sizes == {"train": 350, "val": 75, "test": 75}
    rows = [tuple(r) for part in (ds.raw_train, ds.raw_val, ds.raw_test) for r in part]
    assert len(set(rows)) == 500
    whole_set = {tuple(r) for r in whole("gaussians", n_samples=500).raw_train}
    assert set(rows) == whole_set


def test_split_rounding() -> None:
    split = {"train": 0.35, "val": 0.15, "test": 0.5}  # the curriculum's Keras split
    ds = make_dataset({"name": "xor", "n_samples": 101, "split": split})
    # val = floor(15.15 + 0.5) = 15, test = floor(50.5 + 0.5) = 51, train = the rest
    assert ds.sizes == {"train": 35, "val": 15, "test": 51}


@pytest.mark.parametrize("name", ["circle", "blobs", "reg_plane", "digits"])
def test_empty_parts_keep_their_second_dimension(name: str) -> None:
    ds = make_dataset({"name": name, "split": {"train": 0.8, "val": 0.0, "test": 0.2}})
    assert ds.x_val.shape == (0, ds.n_features)
    assert ds.y_val.shape == ((0,) if ds.task == "multiclass" else (0, 1))
    if ds.raw_val is not None:
        assert ds.raw_val.shape == (0, 2)


def test_standardisation_uses_training_statistics_only() -> None:
    features = ["x1", "x2", "x1^2", "x1*x2", "sin_x2"]
    ds = make_dataset(
        {"name": "spiral", "noise": 0.2, "standardize": True, "features": features, "seed": 4}
    )
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-12)

    def expand(raw: np.ndarray) -> np.ndarray:
        x1, x2 = raw[:, 0], raw[:, 1]
        return np.column_stack([x1, x2, x1**2, x1 * x2, np.sin(x2)])

    e = expand(ds.raw_train)
    mean, std = e.mean(axis=0), e.std(axis=0)
    np.testing.assert_allclose(ds.x_val, (expand(ds.raw_val) - mean) / std, atol=1e-12)
    np.testing.assert_allclose(ds.x_test, (expand(ds.raw_test) - mean) / std, atol=1e-12)
    assert not np.allclose(ds.x_val.mean(axis=0), 0, atol=1e-9)  # val has its own mean


def test_constant_columns_keep_scale_one() -> None:
    ds = make_dataset({"name": "digits", "standardize": True})
    assert ds.std is not None
    constant = ds.x_train.std(axis=0) == 0
    assert constant.any()  # some corner pixels are always blank
    assert np.all(ds.std[constant] == 1.0)
    assert np.all(np.isfinite(ds.x_val)) and np.all(np.isfinite(ds.x_test))


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("features", [None, ["x1*x2"], list(FEATURES), ["sin_x2", "x1"]])
def test_transform_of_raw_train_is_exactly_x_train(standardize: bool, features: object) -> None:
    spec = {"name": "moons", "noise": 0.3, "standardize": standardize, "features": features}
    ds = make_dataset(spec)
    for raw, x in ((ds.raw_train, ds.x_train), (ds.raw_val, ds.x_val), (ds.raw_test, ds.x_test)):
        out = ds.transform(raw)
        assert out.tobytes() == x.tobytes() and out.shape == x.shape
        assert out is not x


def test_transform_rejects_the_wrong_shape() -> None:
    ds = make_dataset({"name": "circle"})
    with pytest.raises(ValueError, match=r"\(M, 2\)"):
        ds.transform(np.zeros((4, 3)))


def test_features_expand_as_named() -> None:
    ds = make_dataset({"name": "xor", "features": ["x1*x2", "x1", "x2^2", "sin_x1"]})
    assert ds.feature_names == ["x1*x2", "x1", "x2^2", "sin_x1"]
    x1, x2 = ds.raw_train.T
    expected = np.column_stack([x1 * x2, x1, x2 * x2, np.sin(x1)])
    np.testing.assert_array_equal(ds.x_train, expected)
    full = make_dataset({"name": "xor", "features": list(FEATURES)})
    a, b = full.raw_test.T
    np.testing.assert_array_equal(
        full.x_test, np.column_stack([a, b, a**2, b**2, a * b, np.sin(a), np.sin(b)])
    )


# --------------------------------------------------------------------------- real tables


def test_digits_are_the_8x8_images_scaled_to_unit_range() -> None:
    from sklearn.datasets import load_digits

    ds = whole("digits")
    assert ds.x_train.shape == (1797, 64) and ds.n_classes == 10
    assert ds.image_shape == (8, 8) and ds.class_names == [str(d) for d in range(10)]
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    ref = load_digits()
    # The same rows (in shuffled order): compare both tables sorted by all columns.
    ours = np.column_stack([ds.x_train, ds.y_train])
    theirs = np.column_stack([ref.data / 16.0, ref.target])
    assert np.array_equal(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)])
    assert np.array_equal(np.bincount(ds.y_train), np.bincount(ref.target))


def test_digits_subsample_is_seeded() -> None:
    a = make_dataset({"name": "digits", "n_samples": 100, "seed": 5})
    b = make_dataset({"name": "digits", "n_samples": 100, "seed": 5})
    assert sum(a.sizes.values()) == 100 and a == b
    c = make_dataset({"name": "digits", "n_samples": 100, "seed": 6})
    assert not np.array_equal(a.x_train, c.x_train)


def test_diabetes_standardises_inputs_and_target_by_default() -> None:
    from sklearn.datasets import load_diabetes

    ds = make_dataset({"name": "diabetes"})
    assert ds.n_features == 10 and ds.task == "regression" and ds.n_classes == 0
    assert ds.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.y_train.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(ds.y_train.std(), 1, atol=1e-12)
    ref = load_diabetes(scaled=False)
    restored = np.concatenate([ds.y_train, ds.y_val, ds.y_test])[:, 0] * ds.target_std
    restored += ds.target_mean
    np.testing.assert_allclose(np.sort(restored), np.sort(ref.target), atol=1e-9)
    raw = make_dataset({"name": "diabetes", "standardize": False, "standardize_target": False})
    assert raw.target_mean == 0.0 and raw.target_std == 1.0
    assert set(np.concatenate([raw.y_train, raw.y_val, raw.y_test])[:, 0]) == set(ref.target)


# --------------------------------------------------------------------------- specs and catalog


@pytest.mark.parametrize("name", ALL)
def test_to_spec_round_trips_through_json(name: str) -> None:
    ds = make_dataset({"name": name, "seed": 11, "split": {"train": 0.6, "val": 0.2, "test": 0.2}})
    spec = json.loads(json.dumps(ds.to_spec()))
    assert make_dataset(spec) == ds
    assert make_dataset({"name": name}).to_spec() == default_spec(name)


def test_to_spec_is_a_copy() -> None:
    ds = make_dataset({"name": "circle", "features": ["x1", "x2"]})
    spec = ds.to_spec()
    spec["features"].append("x1^2")
    spec["split"]["train"] = 0.0
    assert ds.to_spec()["features"] == ["x1", "x2"]
    assert ds.to_spec()["split"]["train"] == 0.7


def test_defaults() -> None:
    spec = make_dataset({"name": "spiral"}).to_spec()
    assert spec == {
        "name": "spiral",
        "n_samples": 500,
        "noise": 0.0,
        "seed": 0,
        "split": {"train": 0.7, "val": 0.15, "test": 0.15},
        "standardize": False,
        "features": ["x1", "x2"],
    }
    assert default_spec("blobs")["n_classes"] == 3
    assert default_spec("reg_gauss")["n_samples"] == 1200
    assert default_spec("reg_gauss")["standardize_target"] is False
    assert default_spec("digits") == {
        "name": "digits",
        "n_samples": None,
        "seed": 0,
        "split": {"train": 0.7, "val": 0.15, "test": 0.15},
        "standardize": False,
    }


def test_catalog_describes_every_set() -> None:
    entries = {e["name"]: e for e in DATASETS.catalog()}
    assert list(entries) == ALL
    json.dumps(entries)
    assert entries["circle"]["task"] == "binary" and entries["circle"]["is_2d"] is True
    assert entries["circle"]["n_classes"] == {"min": 2, "max": 2}
    assert entries["circle"]["features"] == list(FEATURES)
    assert entries["blobs"]["n_classes"] == {"min": 3, "max": 5}
    assert entries["spirals"]["defaults"]["n_classes"] == 3
    assert entries["digits"]["is_2d"] is False and entries["digits"]["image_shape"] == [8, 8]
    assert entries["digits"]["n_classes"] == {"min": 10, "max": 10}
    assert entries["reg_plane"]["task"] == "regression"
    flags = {p["name"]: p["default"] for p in entries["diabetes"]["common_params"]}
    assert flags == {"seed": 0, "standardize": True, "shuffle": True, "standardize_target": True}
    for entry in entries.values():
        assert entry["defaults"] == default_spec(entry["name"]) and entry["doc"]
        assert {p["name"] for p in entry["params"]} <= {"n_samples", "noise", "n_classes"}
    assert FEATURES == ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin_x1", "sin_x2")


# --------------------------------------------------------------------------- bad specs

BAD = [
    ({"name": "nope"}, "nope"),
    ({"noise": 0.1}, "unknown dataset None"),
    ({"name": "circle", "n_samples": 5}, "n_samples"),
    ({"name": "circle", "n_samples": 5001}, "n_samples"),
    ({"name": "circle", "n_samples": 10.5}, "n_samples"),
    ({"name": "circle", "noise": -0.1}, "noise"),
    ({"name": "circle", "noise": 1.5}, "noise"),
    ({"name": "circle", "noise": "high"}, "noise"),
    ({"name": "circle", "noise": float("nan")}, "noise"),
    ({"name": "circle", "seed": -1}, "seed"),
    ({"name": "circle", "seed": 2.5}, "seed"),
    ({"name": "circle", "seed": True}, "seed"),
    ({"name": "circle", "split": [0.7, 0.3]}, "split"),
    ({"name": "circle", "split": {"train": 0.5, "val": 0.2}}, "sum to 1"),
    ({"name": "circle", "split": {"train": 1.2, "val": -0.2}}, r"split\.train"),
    ({"name": "circle", "split": {"train": 0.5, "valid": 0.5}}, "valid"),
    ({"name": "circle", "split": {"train": "0.5", "test": 0.5}}, r"split\.train"),
    ({"name": "circle", "split": {"train": 0.5, "val": float("nan")}}, r"split\.val"),
    ({"name": "circle", "split": {"train": 0.0, "test": 1.0}}, r"split\.train"),
    ({"name": "circle", "n_samples": 10, "split": {"train": 0.04, "test": 0.96}}, r"split\.train"),
    ({"name": "circle", "features": []}, "features"),
    ({"name": "circle", "features": ["x3"]}, "x3"),
    ({"name": "circle", "features": ["x1", "x1"]}, "twice"),
    ({"name": "circle", "features": "x1"}, "features"),
    ({"name": "digits", "features": ["x1"]}, "features"),
    ({"name": "circle", "standardize": "yes"}, "standardize"),
    ({"name": "circle", "standardize_target": True}, "standardize_target"),
    ({"name": "diabetes", "standardize_target": 1}, "standardize_target"),
    ({"name": "circle", "n_classes": 3}, "n_classes"),
    ({"name": "circle", "colour": "red"}, "colour"),
    ({"name": "digits", "noise": 0.1}, "noise"),
    ({"name": "digits", "n_samples": 5}, "n_samples"),
    ({"name": "diabetes", "n_samples": 443}, "n_samples"),
]


@pytest.mark.parametrize(("spec", "match"), BAD)
def test_bad_specs_raise_value_errors_naming_the_field(spec: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dataset(spec)


def test_spec_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="spec"):
        make_dataset(["circle"])  # type: ignore[arg-type]


def test_shuffle_off_takes_rows_in_order() -> None:
    """The study notes' Keras split: the first 35 % train, the next 15 % validation, the rest
    test, in the data's own order; the default shuffles; the normalised spec names it only
    when off."""
    from engine.datasets.real import digits

    split = {"train": 0.35, "val": 0.15, "test": 0.5}
    ordered = make_dataset({"name": "digits", "split": split, "shuffle": False})
    raw = digits().x
    n_train, n_val = ordered.x_train.shape[0], ordered.x_val.shape[0]
    assert np.array_equal(ordered.x_train, raw[:n_train])
    assert np.array_equal(ordered.x_val, raw[n_train : n_train + n_val])
    assert np.array_equal(ordered.x_test, raw[n_train + n_val :])
    shuffled = make_dataset({"name": "digits", "split": split})
    assert not np.array_equal(shuffled.x_train, raw[:n_train])
    with pytest.raises(ValueError, match="shuffle"):
        make_dataset({"name": "digits", "shuffle": "no"})
