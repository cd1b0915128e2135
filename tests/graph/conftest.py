"""Fixtures shared by graph tests beyond those of tests/conftest.py."""

from tests.graph.model_setup import confident_checkpoint, models  # noqa: F401 - fixtures
