"""Tests for engine.datasets.csvtable (CSV parsing, column inspection, size limits) and the csv
datasets built from it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from engine.config import normalize_config
from engine.datasets import TableLimit, csv_to_inline, inspect_csv, load_csv, make_dataset

# --------------------------------------------------------------------------- load_csv


def test_csv_with_header() -> None:
    x, y, names = load_csv("age,income,bought\n30,1.5,0\n45,2.25,1\n")
    np.testing.assert_array_equal(x, [[30.0, 1.5], [45.0, 2.25]])
    np.testing.assert_array_equal(y, [0.0, 1.0])
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert names == ["age", "income", "bought"]


def test_csv_without_header_gets_column_numbers() -> None:
    x, y, names = load_csv("1,2,3\n4,5,6\n")
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])
    assert names == ["column 1", "column 2", "column 3"]


def test_csv_target_by_name_and_index() -> None:
    text = "a,b,c\n1,2,3\n4,5,6\n"
    x, y, names = load_csv(text, target="a")
    np.testing.assert_array_equal(x, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(y, [1, 4])
    assert names == ["b", "c", "a"]
    x, y, names = load_csv(text, target=1)
    np.testing.assert_array_equal(y, [2, 5])
    assert names == ["a", "c", "b"]
    _, y, _ = load_csv(text, target=-3)
    np.testing.assert_array_equal(y, [1, 4])


def test_csv_bytes_bom_crlf_quotes_blank_lines_and_spaces() -> None:
    data = '\ufeffx,"y, in cm",label\r\n 1.5 , "2" ,1\r\n\r\n-3e2,4,0\r\n'.encode()
    x, y, names = load_csv(data)
    np.testing.assert_array_equal(x, [[1.5, 2.0], [-300.0, 4.0]])
    np.testing.assert_array_equal(y, [1.0, 0.0])
    assert names == ["x", "y, in cm", "label"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_semicolon_and_tab_separated(sep: str) -> None:
    x, y, names = load_csv(sep.join(["a", "b"]) + "\n" + sep.join(["1", "2"]) + "\n")
    np.testing.assert_array_equal(x, [[1.0]])
    np.testing.assert_array_equal(y, [2.0])
    assert names == ["a", "b"]


def test_csv_text_labels_in_the_target_column() -> None:
    text = "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n"
    x, y, _ = load_csv(text)
    assert x.shape == (3, 2)
    assert y.tolist() == ["setosa", "versicolor", "virginica"]
    # Without a header the first row is data even though its last cell is text.
    x, y, names = load_csv("5.1,1.4,setosa\n7.0,4.7,versicolor\n")
    assert x.shape == (2, 2) and y.tolist() == ["setosa", "versicolor"]
    assert names[-1] == "column 3"


CSV_ERRORS = [
    ("a,b,c,d\n1,2,3,4\n5,6,7,8\n9,10,11,12\n1,2,3\n", "row 5 has 3 columns, expected 4"),
    ("age,b\n1,2\nabc,3\n", "row 3, column 'age': 'abc' is not a number"),
    ("age,b\n1,2\n,3\n", "row 3, column 'age' is empty"),
    ("a,b\n1,nan\n", "row 2, column 'b': 'nan' is not a finite number"),
    ("a,b\n1,2\n3,-inf\n", "row 3, column 'b': '-inf' is not a finite number"),
    ("a,b,y\n1,2,3\n4,5,\n", "row 3, column 'y' is empty"),
    ("a,b,y\n1,2,3\n4,5,x\n", "row 3, column 'y': 'x' is not a number"),
    ("a,b\n1,2\n\n3,x\n", "row 4, column 'b': 'x' is not a number"),
    ("1,2\n3,oops\n", "row 2, column 2: 'oops' is not a number"),
    ("a\n1\n2\n", "at least 2 columns"),
    ("", "empty"),
    ("\n \n,,\n", "empty"),
    ("a,b\n", "no data rows"),
    ("a,a\n1,2\n", "'a' is used twice"),
    ('a,b\n"1,2\n', "row"),
]


@pytest.mark.parametrize(("text", "message"), CSV_ERRORS)
def test_csv_errors_name_row_and_column(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_csv(text)


def test_csv_limits_name_the_limit() -> None:
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(4))
    assert load_csv(text, max_rows=4)[0].shape == (4, 1)
    with pytest.raises(ValueError, match="more than 3 data rows"):
        load_csv(text, max_rows=3)
    with pytest.raises(ValueError, match="more than 3 data rows"):
        load_csv("1,2\n" * 100_000, max_rows=3)  # stops reading early
    with pytest.raises(ValueError, match="3 columns, more than the limit of 2"):
        load_csv("a,b,c\n1,2,3\n", max_cols=2)


def test_csv_limit_errors_name_the_limit_parameter() -> None:
    with pytest.raises(TableLimit) as rows:
        load_csv("a,b\n" + "1,2\n" * 4, max_rows=3)
    assert (rows.value.limit, rows.value.maximum) == ("max_rows", 3)
    with pytest.raises(TableLimit) as cols:
        inspect_csv("a,b,c\n1,2,3\n", max_cols=2)
    assert (cols.value.limit, cols.value.maximum) == ("max_cols", 2)


def test_csv_rejects_non_utf8_bytes() -> None:
    with pytest.raises(ValueError, match="not UTF-8.*0xe9"):
        load_csv("caf\u00e9,b\n1,2\n".encode("latin-1"))


@pytest.mark.parametrize(
    ("target", "message"),
    [("price", "unknown column 'price'"), (5, "index 5 is out of range"), (True, "target")],
)
def test_csv_bad_target(target: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_csv("a,b\n1,2\n", target=target)  # type: ignore[arg-type]


def test_csv_of_a_large_table_round_trips_exactly() -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(10_000, 20))
    text = "\n".join(",".join(repr(v) for v in row) for row in table.tolist())
    x, y, _ = load_csv(text)
    np.testing.assert_array_equal(x, table[:, :-1])  # repr round-trips float64 exactly
    np.testing.assert_array_equal(y, table[:, -1])


# --------------------------------------------------------------------------- inspect_csv

IRIS = (
    "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n5.0,1.3,setosa\n"
)


def test_inspect_lists_columns_targets_and_a_preview() -> None:
    info = inspect_csv(IRIS, preview=2)
    assert info["rows"] == 4 and info["header"] is True
    assert info["columns"] == [
        {"name": "sepal", "numeric": True, "distinct": 4, "task": None},
        {"name": "petal", "numeric": True, "distinct": 4, "task": None},
        {"name": "species", "numeric": False, "distinct": 3, "task": "multiclass"},
    ]
    assert info["targets"] == ["species"] and info["target"] == "species"
    assert info["preview"] == [["5.1", "1.4", "setosa"], ["7.0", "4.7", "versicolor"]]


def test_inspect_all_numeric_any_column_can_be_the_target() -> None:
    info = inspect_csv('"y, in cm",x,label\n1,2,0\n3,4,1\n')
    assert info["targets"] == ["y, in cm", "x", "label"] and info["target"] == "label"
    for target in info["targets"]:  # every listed target is one load_csv accepts
        assert load_csv('"y, in cm",x,label\n1,2,0\n3,4,1\n', target)[2][-1] == target
    info = inspect_csv("1,2,3\n4,5,6\n")
    assert info["header"] is False and info["target"] == "column 3"
    # the task each column would give as the target, as make_dataset infers it
    text = "w,k,c\n" + "".join(f"{i * 0.37:.2f},{i % 2},{i % 4}\n" for i in range(12))
    assert [c["task"] for c in inspect_csv(text)["columns"]] == [
        "regression",
        "binary",
        "multiclass",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,x\n3,oops,y\n", "row 3, column 'b': 'oops' is not a number"),
        ("a,b,c\n1,2,x\n3,4,\n", "row 3, column 'c' is empty"),
        ("a,b,c\n1,2,3\n4,,6\n", "row 3, column 'b' is empty"),
        ("a,b,c\n1,inf,3\n", "row 2, column 'b': 'inf' is not a finite number"),
        ("name,b,c\nann,2,x\nbob,4,y\n", "row 2, column 'c': 'x' is not a number; only one"),
        ("a,b\n1,2\n3\n", "row 3 has 1 columns, expected 2"),
        ("a,b\n1,x\n2,x\n", "column 'b' holds text, so it must be the target, but it has 1"),
        ("", "empty"),
    ],
)
def test_inspect_errors_name_row_and_column(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        inspect_csv(text)


# --------------------------------------------------------------------------- csv datasets


def test_csv_dataset_is_the_inline_dataset_of_its_table() -> None:
    text = IRIS + IRIS.split("\n", 1)[1] * 4
    spec = {"name": "csv", "text": text, "target": "species", "seed": 4}
    ds = make_dataset(spec)
    x, y, names = load_csv(text, "species")
    inline = {
        "name": "inline",
        "x": x.tolist(),
        "y": y.tolist(),
        "seed": 4,
        "input_names": names[:-1],
        "target_name": names[-1],
    }
    assert ds == make_dataset(inline)
    assert ds.name == "inline" and ds.task == "multiclass" and ds.n_classes == 3
    assert ds.input_names == ["sepal", "petal"] and ds.target_name == "species"
    assert make_dataset(json.loads(json.dumps(ds.to_spec()))) == ds
    assert csv_to_inline(spec)["target_name"] == "species"


def test_csv_dataset_target_task_and_common_keys() -> None:
    text = "a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40))
    ds = make_dataset(
        {
            "name": "csv",
            "text": text,
            "target": 0,
            "task": "regression",
            "split": {"train": 1.0, "val": 0.0, "test": 0.0},
        }
    )
    assert ds.task == "regression" and ds.target_name == "a" and ds.input_names == ["b", "y"]
    assert ds.x_train.shape == (40, 2) and ds.domain is not None  # 2 inputs: 2-D points


def test_config_keeps_a_csv_dataset_as_inline_data() -> None:
    config = normalize_config({"dataset": {"name": "csv", "text": IRIS, "seed": 1}})
    assert config["dataset"]["name"] == "inline" and "text" not in config["dataset"]
    assert config["dataset"]["y"] == ["setosa", "versicolor", "virginica", "setosa"]
    assert config["output_activation"] == "softmax"
    assert normalize_config(config)["dataset"] == config["dataset"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"text": None}, "text: expected the CSV file's text"),
        ({"target": "nope"}, "target: unknown column 'nope'"),
        ({"x": [[1, 2]]}, "unknown key 'x'"),
        ({"text": "a,b,c\n1,x,0\n"}, "row 2, column 'b': 'x' is not a number"),
    ],
)
def test_csv_dataset_errors(extra: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_dataset({"name": "csv", "text": "a,b\n1,2\n3,4\n", **extra})
