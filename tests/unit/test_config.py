"""Configuration precedence (flag > environment > file > default) and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigurationError


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    monkeypatch.setenv("COCCINELLE_CONFIG_FILE", str(path))


def test_defaults_are_the_seeds() -> None:
    s = load_settings().orchestrator
    assert (str(s.quiet_hours_start), str(s.quiet_hours_end)) == ("22:00:00", "08:00:00")
    assert s.enable_fallback and s.max_fallback_attempts == 2
    assert str(s.max_cost_per_message) == "0.10" and s.budget_alert_threshold == 0.80
    assert s.retry_delays == [60, 300, 900]
    assert load_settings().mode == "demo"


def test_flag_beats_environment_beats_file_beats_default(tmp_path, monkeypatch) -> None:
    write_config(
        tmp_path, monkeypatch, 'tenant = "from-file"\n[orchestrator]\nquiet_hours_start = "21:00"\n'
    )
    assert load_settings().tenant == "from-file"
    monkeypatch.setenv("COCCINELLE_TENANT", "from-env")
    assert load_settings().tenant == "from-env"
    assert load_settings(tenant="from-flag").tenant == "from-flag"
    assert load_settings(tenant=None).tenant == "from-env"
    assert load_settings().orchestrator.quiet_hours_start.hour == 21
    monkeypatch.setenv("ORCHESTRATOR_QUIET_HOURS_START", "20:30")
    assert load_settings().orchestrator.quiet_hours_start.minute == 30


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ORCHESTRATOR_QUIET_HOURS_START", "25:00", "quiet_hours_start"),
        ("ORCHESTRATOR_MAX_FALLBACK_ATTEMPTS", "many", "max_fallback_attempts"),
        ("ORCHESTRATOR_MAX_COST_PER_MESSAGE", "-1", "max_cost_per_message"),
        ("COCCINELLE_MODE", "party", "mode"),
        ("COCCINELLE_LANGUAGE", "de", "language"),
        ("COCCINELLE_RELAY__PORT", "70000", "relay.port"),
    ],
)
def test_a_bad_value_names_the_setting_the_value_and_what_is_allowed(
    monkeypatch, variable, value, named
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message and value in message
    assert "Traceback" not in message


def test_a_broken_file_is_named(tmp_path, monkeypatch) -> None:
    write_config(tmp_path, monkeypatch, "[orchestrator\n")
    with pytest.raises(ConfigurationError, match=r"config\.toml"):
        load_settings()


def test_unknown_settings_in_the_file_are_refused(tmp_path, monkeypatch) -> None:
    write_config(tmp_path, monkeypatch, "colour = 'red'\n")
    with pytest.raises(ConfigurationError, match="colour"):
        load_settings()


def test_a_configured_database_is_not_a_demo(monkeypatch) -> None:
    assert load_settings(database_url="sqlite+aiosqlite:////tmp/x.db").mode == "local"
    monkeypatch.setenv("COCCINELLE_DATABASE_URL", "sqlite+aiosqlite:////tmp/x.db")
    assert load_settings().mode == "local"
    assert load_settings(mode="demo").mode == "demo"
