"""User data: ``POST /api/datasets/csv`` reads a CSV file and lists its columns.

The body is the file itself (``Content-Type: text/csv``; any type but multipart is read as the
file), or a multipart form with the file in a field named ``file`` (``curl -F file=@data.csv``).
The file is parsed by the engine's CSV reader (Python's ``csv`` module: quoted fields, ``,`` /
``;`` / tab separators, a byte-order mark, CRLF) within the service's limits, and nothing is
stored: the answer names the columns, says which are numeric and which can be the target, and
shows the first rows. A session then uses the file through the normal ``POST /api/sessions`` or
``PATCH /api/sessions/{id}`` with the dataset ``{"name": "csv", "text": <the file's text>,
"target": <a column>}``.

Errors: over ``max_upload_bytes`` a 413 (the body-size middleware); over ``max_rows`` or
``max_cols`` a 422 naming the limit; a malformed file a 422 whose detail names the row and the
column (``CSV: row 3, column 'age': 'abc' is not a number``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.api.deps import SettingsDep
from app.core.errors import ApiError
from app.core.limits import csv_limits, table_limit_error
from engine.datasets import TableLimit
from engine.datasets import inspect_csv as inspect

router = APIRouter(prefix="/datasets", tags=["datasets"])

PREVIEW_ROWS = 5

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV file: the raw body, or a multipart form field named `file`.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class CsvColumn(BaseModel):
    name: str = Field(description="From the header row, or `column N` without one.")
    numeric: bool = Field(description="Every cell a finite number; else every cell is text.")
    distinct: int = Field(description="Distinct values (a handful: a class label).")
    task: Literal["binary", "multiclass", "regression"] | None = Field(
        description="The task with this column as the target (null: it cannot be the target)."
    )


class CsvTable(BaseModel):
    rows: int = Field(description="Data rows (the header not counted).")
    header: bool = Field(description="Whether the first row was read as column names.")
    columns: list[CsvColumn]
    targets: list[str] = Field(
        description="Columns that can be the target: all, or the one text column."
    )
    target: str = Field(description="The suggested target: the text column, else the last.")
    preview: list[list[str]] = Field(description=f"The first {PREVIEW_ROWS} data rows, as text.")


@router.post("/csv", response_model=CsvTable, openapi_extra=_BODY)
async def inspect_csv(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Read a CSV file and list its columns, so the caller can pick the target column."""
    data, field = await _file(request)
    try:
        table: dict[str, Any] = await run_in_threadpool(
            inspect, data, preview=PREVIEW_ROWS, **csv_limits(settings)
        )
    except TableLimit as exc:
        raise table_limit_error(exc, field, settings) from None
    except ValueError as exc:
        raise ApiError(422, f"{field}: {exc}", field=field) from None
    return table


async def _file(request: Request) -> tuple[bytes, str]:
    """The uploaded bytes and the field that carried them (``body`` or ``file``)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await request.body(), "body"
    async with request.form(max_files=1, max_fields=10) as form:
        value = form.get("file")
        if isinstance(value, UploadFile):
            return await value.read(), "file"
        if isinstance(value, str):
            return value.encode(), "file"
    raise ApiError(422, "file: send the CSV file in a form field named 'file'", field="file")
