"""Web replicas (app/sessions/replicas.py) are on only with the cluster's three services
together, and the embedded default never imports what they use (redis-py, httpx); a replica's
URL comes from the server's own ``--host``/``--port``; the page settings kept for the other
replicas (the view, a followed lesson, the last gradient check) come back as they were set."""

from __future__ import annotations

from app.core.settings import Settings
from app.lessons.progress import LessonState
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
    back = UiState()
    ui_store.apply(back, ui_store.encode_kept(ui))
    assert (back.view, back.log_scale, back.show_test, back.fixed_scale) == (
        "gradients", True, True, True)
    assert back.frozen == {"weights": (1.0, 2.0, 0.5)} and back.edge == (1, 0, 2)
    assert (back.surface, back.surface_version) == ({"kind": "2d", "directions": "pca"}, 3)
    assert back.lesson is None and back.discretize is False


def test_a_followed_lesson_and_the_last_gradient_check_come_back_as_set() -> None:
    ui = UiState()
    ui.lesson = LessonState("learning-rate", 1, {"tiny": {"train_loss": 0.25}},
                            (0, 40, "update", None, "paused"))
    ui.gradients_checked = (2, 40, {"ok": True, "max_rel_error": 1e-7, "step": 40})
    back = UiState()
    ui_store.apply(back, ui_store.encode_kept(ui))
    assert isinstance(back.lesson, LessonState)
    assert back.lesson == ui.lesson and isinstance(back.lesson.mark, tuple)
    assert back.gradients_checked == ui.gradients_checked
    assert isinstance(back.gradients_checked, tuple)
    # a lesson no longer known is dropped: the page follows none
    ui.lesson = LessonState("a-lesson-since-renamed", 2)
    gone = UiState()
    ui_store.apply(gone, ui_store.encode_kept(ui))
    assert gone.lesson is None
