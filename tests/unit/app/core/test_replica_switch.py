"""Web replicas (app/sessions/replicas.py) are on only with the cluster's three services
together, and the embedded default never imports what they use (redis-py, httpx); a replica's
URL comes from the server's own ``--host``/``--port``; the page settings kept for the other
replicas come back as they were set."""

from __future__ import annotations

from app.core.settings import Settings
from app.page import ui_store
from app.page.words import UiState
from app.serve import replica_url

PG = "postgresql://u@127.0.0.1:5433/bpp"
REDIS = "redis://127.0.0.1:6380/0"
RAY = {"backend": "ray", "ray_address": "127.0.0.2:6390"}


def test_replicas_need_the_store_the_fanout_and_the_backend_of_a_cluster() -> None:
    assert not Settings().replicas
    assert Settings(database_url=PG, fanout=REDIS, **RAY).replicas
    assert not Settings(database_url=PG, fanout=REDIS).replicas
    assert not Settings(fanout=REDIS, **RAY).replicas
    assert not Settings(database_url=PG, **RAY).replicas


def test_a_replicas_url_is_its_host_and_port_unless_a_wildcard() -> None:
    assert replica_url(["--host", "127.0.0.1", "--port", "8001"]) == "http://127.0.0.1:8001"
    assert replica_url(["--port", "9000"]) == "http://127.0.0.1:9000"
    assert replica_url(["--host", "::1", "--port", "8001"]) == "http://[::1]:8001"
    assert replica_url(["--host", "0.0.0.0", "--port", "8001"]) is None


def test_kept_page_settings_come_back_as_set() -> None:
    ui = UiState(view="gradients", log_scale=True, show_test=True, fixed_scale=True,
                 frozen={"weights": (1.0, 2.0, 0.5)}, edge=(1, 0, 2),
                 surface={"kind": "2d", "directions": "pca"}, surface_version=3)
    ui.lesson = object()  # not kept: a lesson starts again from its step
    back = UiState()
    ui_store.apply(back, ui_store.encode_kept(ui))
    assert (back.view, back.log_scale, back.show_test, back.fixed_scale) == (
        "gradients", True, True, True)
    assert back.frozen == {"weights": (1.0, 2.0, 0.5)} and back.edge == (1, 0, 2)
    assert (back.surface, back.surface_version) == ({"kind": "2d", "directions": "pca"}, 3)
    assert back.lesson is None and back.discretize is False
