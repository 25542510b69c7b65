"""Run every benchmark and print its table: ``python -m bench [engine|sessions|memory]``."""

import sys

from bench import bench_engine


def main() -> None:
    which = sys.argv[1:] or ["engine", "sessions", "memory"]
    del sys.argv[1:]  # the sessions benchmark reads its own options from the command line
    if "engine" in which:
        bench_engine.main()
    if "sessions" in which:
        from bench import bench_sessions

        bench_sessions.main()
    if "memory" in which:
        from bench import bench_memory

        bench_memory.main()


main()
