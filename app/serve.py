"""``python -m app.serve [uvicorn options]``: uvicorn on ``app.main:app`` with the connection
limits the service is run with. ``make run`` and the tests' ``Server`` both start it, so the
flags live here once; options given on the command line come after them (``--host``,
``--port``, ``--log-level``, …).

- ``--http app.api.http:HeaderTimeoutProtocol``: request headers within
  ``BPP_HEADER_TIMEOUT_SECONDS`` (10 s) or the connection is closed;
- ``--timeout-keep-alive 5``: an idle kept-alive connection is closed after 5 s;
- ``--limit-concurrency 2048``: over 2048 connections (or running requests) the server answers
  503. A classroom needs far fewer: each open page holds one SSE stream and makes a few short
  requests (100 pages: about 100 streams and at most 600 connections at a time, the
  browser's 6 per host); connections that send nothing now close within 10 s, so the bound
  only caps memory and file descriptors in a flood;
- ``--timeout-graceful-shutdown 3``: on SIGTERM, connections still open (streams) are cut
  after 3 s, so the process exits in bounded time.

The open-files limit is raised (up to the hard limit) to hold that many connections besides
the database, the worker pipes and the files being served: Debian's default is 1024.
"""

from __future__ import annotations

import os
import resource
import sys

from uvicorn.main import main as uvicorn_main

LIMIT_CONCURRENCY = 2048
FLAGS = [
    "--http", "app.api.http:HeaderTimeoutProtocol",
    "--timeout-keep-alive", "5",
    "--limit-concurrency", str(LIMIT_CONCURRENCY),
    "--timeout-graceful-shutdown", "3",
]  # fmt: skip
SPARE_FILES = 512  # open files besides connections: SQLite, worker pipes, static files


def raise_open_files_limit(needed: int = LIMIT_CONCURRENCY + SPARE_FILES) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def replica_url(args: list[str]) -> str | None:
    """``http://<--host>:<--port>`` from the command line: how the other web replicas reach this
    one (``BPP_REPLICA_URL``, when not set), unless the host is a wildcard."""
    named = dict(zip(args, args[1:], strict=False))
    host, port = named.get("--host", "127.0.0.1"), named.get("--port", "8000")
    if host in ("0.0.0.0", "::", ""):
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main(args: list[str]) -> None:
    raise_open_files_limit()
    url = replica_url(args)
    if url is not None:
        os.environ.setdefault("BPP_REPLICA_URL", url)
    uvicorn_main(["app.main:app", *FLAGS, *args], prog_name="uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])
