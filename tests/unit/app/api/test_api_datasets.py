"""User CSV files over the REST API (promise 13): ``POST /api/datasets/csv`` lists a file's
columns; sessions use the file as ``{"name": "csv", "text", "target"}``. Oversize is a 413/422
naming the limit, a malformed file a 422 naming the row and the column."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apptools import ApiClient, make_settings

LIMITS = dict(max_rows=300, max_cols=4, max_upload_bytes=20_000)
URL = "/api/datasets/csv"
CSV = {"Content-Type": "text/csv"}
IRIS = "sepal,petal,species\n" + "".join(
    f"{5 + i % 7 * 0.1:.1f},{1 + i % 5},{('setosa', 'versicolor', 'virginica')[i % 3]}\n"
    for i in range(30)
)
NUMBERS = "a,b,y\n" + "".join(f"{i * 0.5},{i % 4},{i % 2}\n" for i in range(20))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    # one app for the module: uploads keep nothing, and each session made here has an owner of
    # its own (ApiClient sends no cookies), so no test sees another's
    client = ApiClient(make_settings(tmp_path_factory.mktemp("datasets"), **LIMITS))
    yield client
    client.close()


def upload(api: ApiClient, text: str | bytes) -> Any:
    return api.post(URL, content=text.encode() if isinstance(text, str) else text, headers=CSV)


def test_good_file_lists_columns_targets_and_preview(api: ApiClient) -> None:
    r = upload(api, IRIS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == 30 and body["header"] is True
    assert body["columns"] == [
        {"name": "sepal", "numeric": True, "distinct": 7, "task": None},
        {"name": "petal", "numeric": True, "distinct": 5, "task": None},
        {"name": "species", "numeric": False, "distinct": 3, "task": "multiclass"},
    ]
    assert body["targets"] == ["species"] and body["target"] == "species"
    assert body["preview"][0] == ["5.0", "1", "setosa"] and len(body["preview"]) == 5


def test_multipart_upload_gives_the_same_answer(api: ApiClient) -> None:
    r = api.post(URL, files={"file": ("iris.csv", IRIS.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json() == upload(api, IRIS).json()
    r = api.post(URL, files={"other": ("iris.csv", IRIS.encode(), "text/csv")})
    assert r.status_code == 422 and r.json()["field"] == "file"


def test_quoted_fields_with_commas(api: ApiClient) -> None:
    text = (
        '"height, cm","weight, kg",answer\n'
        '"170.5", 65 ,"yes, sure"\n'
        '180,"80.25","no, never"\n'
        '165,55,"yes, sure"\n'
    )
    body = upload(api, text).json()
    assert [c["name"] for c in body["columns"]] == ["height, cm", "weight, kg", "answer"]
    assert [c["numeric"] for c in body["columns"]] == [True, True, False]
    assert body["preview"][0] == ["170.5", "65", "yes, sure"]
    assert body["rows"] == 3 and body["target"] == "answer"


def test_headerless_numeric_file_any_column_can_be_the_target(api: ApiClient) -> None:
    body = upload(api, "1,2,0\n3,4,1\n5,6,0\n").json()
    assert body["header"] is False
    assert body["targets"] == ["column 1", "column 2", "column 3"]
    assert body["target"] == "column 3"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a,b,y\n1,2,0\n3,abc,1\n", ["row 3", "column 'b'", "'abc' is not a number"]),
        ("a,b,y\n1,2,0\n3,,1\n", ["row 3", "column 'b'", "is empty"]),
        ("a,b,y\n1,2,0\n\n3,4\n", ["row 4", "has 2 columns, expected 3"]),
        ("a,b,y\n1,nan,0\n", ["row 2", "column 'b'", "not a finite number"]),
        ('a,b,y\n1,2,0\n"3,4,1\n', ["row 3"]),
    ],
)
def test_malformed_file_is_422_naming_row_and_column(
    api: ApiClient, text: str, words: list[str]
) -> None:
    r = upload(api, text)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "body"
    for word in words:
        assert word in r.json()["detail"], (word, r.json())


@pytest.mark.parametrize("text", ["", "\n\n", " , \n"])
def test_empty_file_is_422(api: ApiClient, text: str) -> None:
    r = upload(api, text)
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_not_utf8_is_422(api: ApiClient) -> None:
    r = upload(api, "caf\u00e9,b\n1,2\n".encode("latin-1"))
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]


def test_too_many_rows_and_columns_are_422_naming_the_limit(api: ApiClient) -> None:
    rows = "a,b\n" + "1,2\n" * 300
    assert upload(api, rows).status_code == 200
    r = upload(api, rows + "3,4\n")
    assert r.status_code == 422, r.text
    assert r.json()["limit"] == "max_rows" and r.json()["max"] == 300
    assert "max_rows=300" in r.json()["detail"]
    five = "a,b,c,d,y\n1,2,3,4,5\n"  # max_cols=4 inputs plus the target
    assert upload(api, five).status_code == 200
    r = upload(api, "a,b,c,d,e,y\n1,2,3,4,5,6\n")
    assert r.status_code == 422
    assert r.json()["limit"] == "max_cols" and r.json()["max"] == 4


def test_too_many_bytes_is_413_naming_the_limit(api: ApiClient) -> None:
    text = "a,b\n" + "0.123456789,1\n" * 2000  # ~28 kB, 2000 rows
    r = upload(api, text)
    assert r.status_code == 413
    assert r.json()["limit"] == "max_upload_bytes" and r.json()["max"] == 20_000
    r = api.post(URL, files={"file": ("big.csv", text.encode(), "text/csv")})
    assert r.status_code == 413


def test_session_from_a_csv_file(api: ApiClient) -> None:
    config = {
        "dataset": {"name": "csv", "text": IRIS, "target": "species"},
        "hidden": [{"units": 3}],
    }
    sid, h = api.create(config)
    session = api.get(f"/api/sessions/{sid}", headers=h).json()
    dataset = session["config"]["dataset"]
    assert dataset["name"] == "inline" and "text" not in dataset
    assert dataset["input_names"] == ["sepal", "petal"] and dataset["target_name"] == "species"
    assert session["config"]["output_activation"] == "softmax"
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 2}, headers=h).status_code == 200
    # another file, through PATCH (the data changes: a reset); a regression target brings a
    # regression loss and output with it, as the column's task says
    assert upload(api, NUMBERS).json()["columns"][0]["task"] == "regression"
    change: dict[str, Any] = {"dataset": {"name": "csv", "text": NUMBERS, "target": "a"}}
    r = api.patch(f"/api/sessions/{sid}", json={"config": change}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["reset"] is True
    config = r.json()["session"]["config"]
    assert (config["loss"]["name"], config["output_activation"]) == ("mse", "linear")
    # a loss that does not fit, named in the change, is still refused
    change.update(loss={"name": "ce"})
    r = api.patch(f"/api/sessions/{sid}", json={"config": change}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "loss.name"
    dataset = api.get(f"/api/sessions/{sid}", headers=h).json()["config"]["dataset"]
    assert dataset["target_name"] == "a" and dataset["input_names"] == ["b", "y"]


@pytest.mark.parametrize(
    ("dataset", "field", "words"),
    [
        ({"text": "a,b,y\n1,2,0\n3,abc,1\n"}, "dataset.text", ["row 3", "column 'b'"]),
        ({"text": IRIS, "target": "nope"}, "dataset.target", ["unknown column 'nope'"]),
        ({"text": IRIS, "task": "binary"}, "dataset", ["'binary' needs 2 distinct labels"]),
        ({"text": IRIS, "target": "sepal"}, "dataset.text", ["row 2", "column 'species'"]),
        ({"text": 5}, "dataset.text", ["text"]),
    ],
)
def test_session_from_a_bad_csv_file_is_422(
    api: ApiClient, dataset: dict[str, Any], field: str, words: list[str]
) -> None:
    r = api.post("/api/sessions", json={"config": {"dataset": {"name": "csv", **dataset}}})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    for word in words:
        assert word in r.json()["detail"], (word, r.json())


def test_session_from_a_csv_file_keeps_the_limits(api: ApiClient) -> None:
    rows = "a,b\n" + "1,2\n" * 301
    r = api.post("/api/sessions", json={"config": {"dataset": {"name": "csv", "text": rows}}})
    assert r.status_code == 422 and r.json()["limit"] == "max_rows"
    assert r.json()["field"] == "dataset.text"
    wide = "a,b,c,d,e,y\n1,2,3,4,5,6\n7,8,9,10,11,12\n"
    r = api.post("/api/sessions", json={"config": {"dataset": {"name": "csv", "text": wide}}})
    assert r.status_code == 422 and r.json()["limit"] == "max_cols" and r.json()["max"] == 4
