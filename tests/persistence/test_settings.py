"""Configuration from ANNOGRAPH_* variables; a wrong value names the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from persistence.settings import SettingsError, load_settings


def test_defaults_live_under_the_var_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("VAR_DIR", "DATABASE_URL", "DATA_ROOTS", "BROADCAST_URL", "PORT", "HOST", "LOG_LEVEL"):
        monkeypatch.delenv(f"ANNOGRAPH_{name}", raising=False)
    settings = load_settings()
    assert settings.var_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'annograph.db'}"
    assert settings.data_roots == [tmp_path / "var" / "datasets"]
    assert settings.broadcast_url == "memory://"
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "INFO")


def test_environment_values(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOGRAPH_DATA_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("ANNOGRAPH_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("ANNOGRAPH_BROADCAST_URL", "redis://cache:6379")
    monkeypatch.setenv("ANNOGRAPH_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.data_roots == [Path(f"{tmp_path}/a"), Path(f"{tmp_path}/b")]
    assert settings.database_url == "postgresql+asyncpg://u@db/x"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://root@db/x"),
        ("BROADCAST_URL", "kafka://k:9092"),
        ("LOG_LEVEL", "LOUD"),
        ("PAGE_SIZE_MAX", "0"),
    ],
)
def test_wrong_values_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(f"ANNOGRAPH_{name}", value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"ANNOGRAPH_{name}" in str(error.value)


@pytest.mark.parametrize("name", ["AUTH", "LIMITS"])
def test_protections_may_be_off_only_on_loopback(monkeypatch, name):
    monkeypatch.setenv(f"ANNOGRAPH_{name}", "false")
    assert getattr(load_settings(), name.lower()) is False  # default host 127.0.0.1
    assert getattr(load_settings(host="::1"), name.lower()) is False
    monkeypatch.setenv("ANNOGRAPH_HOST", "0.0.0.0")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"ANNOGRAPH_{name}" in str(error.value) and "loopback" in str(error.value)


def test_limits_have_defaults():
    settings = load_settings()
    assert (settings.max_depth, settings.max_aliases, settings.max_tokens) == (15, 30, 5000)
    assert settings.max_body_bytes == 1024 * 1024 and settings.auth and settings.limits
