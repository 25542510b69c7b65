"""Schemathesis over the OpenAPI schema against a real server: no input — valid or invalid —
gives a 5xx, and no response carries NaN/Infinity (promises 8 and 14). The routes kept out of
the API schema (the page, its npm files, the docs, the static files) are described here and
fuzzed too. Bounded: a fixed number of examples per operation, derandomized, about half a
minute in all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from apptools import FAST, Server
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.core.settings import Settings
from app.main import create_app
from app.page import routes as pages

EXAMPLES = 30
PATH_PARAM = {"in": "path", "required": True, "schema": {"type": "string"}}


def with_page_routes(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` plus the routes left out of it: the page router's (described by FastAPI from
    their signatures, as the API's are), the static files and the schema itself."""
    described = FastAPI()
    for route in pages.router.routes:
        described.add_api_route(route.path, route.endpoint, methods=sorted(route.methods),
                                response_class=route.response_class)
    plain = {"responses": {"200": {"description": "OK"}}}
    return {**schema, "paths": {
        **schema["paths"],
        **described.openapi()["paths"],
        "/static/{path}": {"get": {**plain, "parameters": [{"name": "path", **PATH_PARAM}]}},
        "/openapi.json": {"get": plain},
    }}


SCHEMA = schemathesis.openapi.from_dict(with_page_routes(create_app(Settings()).openapi()))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# DELETE last, so the pinned session lives through every other operation
OPERATIONS.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # generous quotas: a create refused for its rate (429) would not test what it generated
    with Server(tmp_path_factory.mktemp("fuzz"), max_sessions_per_owner=500,
                max_new_owners_per_address=10_000) as srv:
        yield srv


@pytest.fixture(scope="module")
def owned(server: Server) -> tuple[str, dict[str, str]]:
    r = httpx.post(server.url + "/api/sessions", json={"config": FAST})
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def reject_constant(name: str) -> None:
    raise AssertionError(f"non-finite number {name} in a response")


def check(response: Any, label: str, case: Any) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code} for {case!r}"
    ctype = response.headers.get("content-type", [""])
    ctype = ctype[0] if isinstance(ctype, list) else ctype
    if ctype.startswith("application/json") and response.text:
        body = json.loads(response.text, parse_constant=reject_constant)
        if response.status_code >= 400:
            assert "detail" in body, label


@pytest.mark.parametrize(
    "operation",
    # GET / renders the whole page for each of its examples (~6 s)
    [pytest.param(op, marks=pytest.mark.slow) if (op.method, op.path) == ("get", "/") else op
     for op in OPERATIONS],
    ids=lambda op: f"{op.method} {op.path}",
)
def test_no_server_errors(operation: Any, server: Server,
                          owned: tuple[str, dict[str, str]]) -> None:
    sid, headers = owned
    pinned: dict[str, Any] = {"headers": headers}
    if "{session_id}" in operation.path:
        pinned["path_parameters"] = {"session_id": sid}
    label = f"{operation.method.upper()} {operation.path}"
    streaming = operation.path.endswith("events")  # /events and the page helper's /page-events

    @hsettings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        case = data.draw(operation.as_strategy(mode, **pinned))
        if streaming:  # the stream never ends by itself: check the status line, then hang up
            query = {k: v for k, v in (case.query or {}).items() if v is not None}
            with httpx.stream("GET", server.url + case.formatted_path, params=query,
                              headers={**headers, **(case.headers or {})}, timeout=10) as r:
                assert r.status_code < 500, (label, case.query, r.status_code)
            return
        response = case.call(base_url=server.url, timeout=20)
        check(response, label, case)

    run()
    # the server is still answering after the barrage
    assert httpx.get(server.url + "/api/healthz").status_code == 200
