"""Run every benchmark and print its table: ``python -m bench [engine|sessions]``."""

import sys

from bench import bench_engine


def main() -> None:
    which = sys.argv[1:] or ["engine", "sessions"]
    if "engine" in which:
        bench_engine.main()
    if "sessions" in which:
        try:
            from bench import bench_sessions
        except ImportError:
            print("sessions benchmark not available")
        else:
            bench_sessions.main()


main()
