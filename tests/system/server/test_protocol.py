"""Connections that never finish their request headers are closed (app/api/http.py), against a
real server (``python -m app.serve``, the flags of ``make run``): 300 sockets that send
nothing, a few that dribble a header a byte at a time (slowloris), before their first request
and after a response, while ``/api/healthz`` keeps answering; a slow but timely request and a
stream open for longer than the timeout are not touched."""

from __future__ import annotations

import contextlib
import re
import resource
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from apptools import FAST, ROOT, Server

from app import serve

TIMEOUT = 2.0  # BPP_HEADER_TIMEOUT_SECONDS for this server
SLACK = 8.0  # a busy 2-core machine may run the timer late
IDLE = 300
DRIBBLING = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("protocol"), header_timeout_seconds=TIMEOUT,
                ping_seconds=0.5) as srv:
        yield srv


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setblocking(False)
    return sock


def answered(sock: socket.socket, request: bytes) -> socket.socket:
    """``sock`` after sending the rest of a request and reading its whole 200 answer."""
    sock.settimeout(10)
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or pytest.fail(f"closed before an answer: {data[:200]!r}")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    match = re.search(rb"content-length: (\d+)", head.lower())
    assert match, head
    while len(body) < int(match.group(1)):
        body += sock.recv(65536) or pytest.fail("closed mid-answer")
    sock.setblocking(False)
    return sock


HEALTHZ = b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.slow
def test_connections_without_request_headers_are_closed(server: Server) -> None:
    opened = time.monotonic()
    idle = [connect(server) for _ in range(IDLE)]
    # slowloris: a request line, then one header byte at a time; before any request and
    # after an answered one (uvicorn's keep-alive timer stops at the first byte)
    dribbling = [connect(server) for _ in range(DRIBBLING)]
    dribbling += [answered(connect(server), HEALTHZ) for _ in range(DRIBBLING)]
    for sock in dribbling:
        sock.send(b"GET /api/healthz HTTP/1.1\r\nX-Slow: ")
    selector = selectors.DefaultSelector()
    for sock in idle + dribbling:
        selector.register(sock, selectors.EVENT_READ)
    closed_after: dict[socket.socket, float] = {}
    health: list[int] = []
    deadline = opened + TIMEOUT + SLACK
    while len(closed_after) < len(idle) + len(dribbling) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b"", data[:200]  # closed, not answered
            closed_after[sock] = time.monotonic() - opened
            selector.unregister(sock)
        for sock in dribbling:
            if sock not in closed_after:
                # (once closed, the selector sees it next)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    sock.send(b"x")
        health.append(httpx.get(server.url + "/api/healthz", timeout=5).status_code)
    still_open = len(idle) + len(dribbling) - len(closed_after)
    for sock in idle + dribbling:
        sock.close()
    assert still_open == 0, f"{still_open} connections still open {TIMEOUT + SLACK} s on"
    assert min(closed_after.values()) >= TIMEOUT * 0.9  # by the timeout, not before
    assert health and set(health) == {200}


def test_a_slow_but_timely_request_is_answered(server: Server) -> None:
    sock = connect(server)
    sock.send(HEALTHZ[:10])
    time.sleep(TIMEOUT / 2)  # the pace of a slow client: half the allowance, then the rest
    answered(sock, HEALTHZ[10:])
    sock.close()


@pytest.mark.slow
def test_a_stream_outlives_the_header_timeout(server: Server) -> None:
    """The timer stops when the headers are in: a stream stays open (pings keep coming)."""
    r = httpx.post(server.url + "/api/sessions", json={"config": FAST})
    sid, token = r.json()["id"], r.json()["owner_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{server.url}/api/sessions/{sid}/events", headers=headers,
                      params={"follow": "true"}, timeout=10) as stream:
        assert stream.status_code == 200
        start = time.monotonic()
        pings = 0
        for line in stream.iter_lines():
            pings += line.startswith(":")
            if time.monotonic() - start > 2 * TIMEOUT and pings >= 2:
                break
        assert time.monotonic() - start > 2 * TIMEOUT


def test_the_server_may_open_a_file_for_every_connection_it_allows() -> None:
    """Started under Debian's default open-files limit (1024), app/serve.py raises it to hold
    its concurrency limit of connections plus its own files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = serve.LIMIT_CONCURRENCY + serve.SPARE_FILES
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the hard limit here ({hard}) is below {needed}")
    code = ("import resource; from app.serve import raise_open_files_limit; "
            "raise_open_files_limit(); print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)),
    )
    assert int(done.stdout) >= needed
