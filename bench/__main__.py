"""Run every benchmark and print its table:
``python -m bench [engine|sessions|classroom|disk|memory|render|replay|race|store|ray|fanout|
capacity]`` (``store``, ``ray``, ``fanout`` and ``capacity``: only when named; they start
PostgreSQL, a Ray cluster, a redis-server)."""

import sys

from bench import bench_engine


def main() -> None:
    which = sys.argv[1:] or [
        "engine", "sessions", "classroom", "disk", "memory", "render", "replay", "race"
    ]
    del sys.argv[1:]  # the sessions benchmark reads its own options from the command line
    if "engine" in which:
        bench_engine.main()
    if "sessions" in which:
        from bench import bench_sessions

        bench_sessions.main()
    if "classroom" in which:
        from bench import bench_classroom

        bench_classroom.main()
    if "disk" in which:
        from bench import bench_disk

        bench_disk.main()
    if "memory" in which:
        from bench import bench_memory

        bench_memory.main()
    if "render" in which:
        from bench import bench_render

        bench_render.main()
    if "replay" in which:
        from bench import bench_replay

        bench_replay.main()
    if "race" in which:
        from bench import bench_race

        bench_race.main()
    if "ray" in which:  # asked for by name only: it starts a Ray cluster (the cluster extra)
        from bench import bench_ray

        bench_ray.main()
    if "store" in which:  # by name only: it starts PostgreSQL (Debian's, make services)
        from bench import bench_store

        bench_store.main()
    if "fanout" in which:  # by name only: it starts a redis-server (Debian's, make services)
        from bench import bench_fanout

        bench_fanout.main()
    if "capacity" in which:  # by name only: all three services, and several minutes
        from bench import bench_capacity

        bench_capacity.main()


main()
