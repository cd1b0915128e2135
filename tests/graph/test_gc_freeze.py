"""`annograph serve` (create_app(freeze_gc=True)) moves what startup made out of the collector's sight
and gives it back when the app stops; apps made for tests (the default) leave the collector alone."""

from __future__ import annotations

import gc

import pytest
from starlette.testclient import TestClient

from graph.app import create_app


@pytest.fixture(autouse=True)
def _freeze_again():
    """These tests thaw the collector; the suite's modules go back out of its sight afterwards
    (tests/conftest.py freezes them once collected)."""
    yield
    gc.collect()
    gc.freeze()


def test_serving_freezes_startup_objects_and_thaws_on_stop(settings):
    gc.unfreeze()
    with TestClient(create_app(settings, freeze_gc=True), base_url="http://localhost") as client:
        frozen = gc.get_freeze_count()
        assert client.get("/health").status_code == 200
    assert frozen > 10_000  # the modules, the schema, the runtime
    assert gc.get_freeze_count() == 0


def test_apps_left_to_the_caller_do_not_freeze(settings):
    gc.unfreeze()
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
