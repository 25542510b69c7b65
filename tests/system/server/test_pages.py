"""The page routes: the npm files they serve, the security headers of every HTML answer, and
the refusal to start without the npm files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ROOT, ApiClient, make_settings
from fastapi import routing
from fastapi.responses import HTMLResponse

from app.api.middleware import CSP
from app.page import routes as pages

UNSAFE = re.compile(r"'unsafe-|'wasm-unsafe-")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("pages")))
    yield client
    client.close()


def test_every_vendor_file_the_pages_load_is_served(api: ApiClient) -> None:
    """The templates' /static/vendor/ URLs are exactly the files the route serves."""
    loaded = {
        m for t in (ROOT / "templates").glob("*.html")
        for m in re.findall(r'"/static/vendor/([^/"]+/[^/"]+)"', t.read_text())
    }
    assert loaded == {f"{p}/{f}" for p, f in pages.VENDOR_FILES}
    for name in loaded:
        package, file = name.split("/")
        r = api.get(f"/static/vendor/{name}")
        assert r.status_code == 200, name
        assert r.content == pages.VENDOR_FILES[package, file].read_bytes(), name


@pytest.mark.parametrize(
    "name",
    [
        "htmx.org/" + "a" * 5000,  # longer than a file name may be: OSError, a 500
        "htmx.org/" + "é" * 3000,
        "htmx.org/%00",
        "htmx.org/htmx.js",  # in the package, but not a file the pages load
        "swagger-ui-dist/package.json",
        "swagger-ui-dist/index.html",  # Swagger UI's own page would load the petstore
        "nothing/htmx.min.js",
        "a" * 5000 + "/x",
    ],
)
def test_any_other_vendor_name_is_a_404(api: ApiClient, name: str) -> None:
    r = api.get(f"/static/vendor/{name}")
    assert r.status_code == 404 and r.json()["detail"] == "file not found"


def html_routes(api: ApiClient) -> list[str]:
    return sorted(
        c.path for c in routing.iter_route_contexts(api.app.routes)
        if getattr(c.original_route, "response_class", None) is HTMLResponse
    )


def test_every_html_answer_has_the_page_security_headers(api: ApiClient) -> None:
    """Each route that answers HTML, its error answer, and a static SVG carry the CSP (no
    unsafe keywords), nosniff and the referrer policy."""
    assert html_routes(api) == [
        "/",
        "/api/races/{race_id}/multiples.html",
        "/api/races/{race_id}/surface.html",
        "/api/sessions/{session_id}/gradcheck.html",
        "/api/sessions/{session_id}/surface.html",
        "/docs",
        "/lessons",
        "/lessons/{name}",
        "/race",
        "/race/{race_id}",
    ]
    sid, owner = api.create()
    made = api.post("/api/races", json={"config": FAST, "runs": [{"name": "a"}, {"name": "b"}]})
    assert made.status_code == 201, made.text
    race = made.json()["race"]["id"]
    racer = {"Authorization": f"Bearer {made.json()['owner_token']}"}
    urls = {
        f"/race/{race}": racer,
        f"/api/races/{race}/multiples.html": racer,
        f"/api/races/{race}/surface.html?directions=random": racer,  # (PCA needs steps)
        "/race?preset=optimizers": {},
        "/": {},
        "/?c=not-base64-json": {},  # the page with its error, a 422
        f"/?s={sid}": owner,
        f"/api/sessions/{sid}/surface.html": owner,
        f"/api/sessions/{sid}/gradcheck.html": owner,
        "/docs": {},
        "/lessons": {},
        "/lessons/counting?lang=ko": {},
        "/lessons/no-such-lesson": {},  # the list, with its 404
        "/static/favicon.svg": {},  # an SVG document can hold scripts too
    }
    assert not UNSAFE.search(CSP) and "default-src 'self'" in CSP
    for url, headers in urls.items():
        r = api.get(url, headers=headers)
        assert r.headers["content-type"].startswith(("text/html", "image/svg+xml")), url
        assert r.headers.get("content-security-policy") == CSP, url
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["referrer-policy"] == "same-origin", url


def test_the_api_docs_load_nothing_from_elsewhere(api: ApiClient) -> None:
    """/docs is our page (Swagger UI from npm, started by a static script); FastAPI's CDN pages
    (/redoc, the OAuth redirect) are gone."""
    html = api.get("/docs").text
    assert "<script>" not in html and "http" not in html
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert api.get("/static/docs.js").status_code == 200
    for gone in ("/redoc", "/docs/oauth2-redirect"):
        assert api.get(gone).status_code == 404, gone


@pytest.mark.slow
def test_without_the_npm_files_the_server_refuses_to_start(tmp_path: Path) -> None:
    """A checkout where `npm ci` never ran: uvicorn exits at once, naming the missing files and
    the command that installs them (it used to serve a page whose scripts 404)."""
    checkout = tmp_path / "checkout"
    for folder in ("app", "engine", "templates", "static"):
        shutil.copytree(ROOT / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "BPP_DATA_DIR": str(tmp_path / "data"), "BPP_WARM_WORKERS": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    for path in pages.VENDOR_FILES.values():
        assert str(path.relative_to(ROOT)) in message, message
    assert "`npm ci`" in message and str(checkout) in message
