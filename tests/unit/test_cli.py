"""The ``coccinelle`` command as a person runs it: help, db, demo, credentials, bad input."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.storage.database import sqlite_url
from inbox_app.cli import main

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "f3c1b2a9d8e7c6b5a4f3e2d1c0b9a1b2"


def coccinelle(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the command in a fresh interpreter, with no terminal on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "inbox_app.cli", "--language", "en", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def assert_clear_failure(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ")


def test_help_lists_the_sub_commands() -> None:
    result = coccinelle("--help")
    assert result.returncode == 0, result.stderr
    for command in ("db", "demo", "credentials"):
        assert f"    {command} " in result.stdout


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("coccinelle")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0 and "credentials" in result.stdout


def test_db_upgrade_creates_and_migrates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = coccinelle("--database-url", sqlite_url(path), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "messages", "conversations"} <= tables


def test_demo_reset_creates_then_recreates_the_demo(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "demo.db")
    for _ in range(2):
        result = coccinelle("--database-url", url, "demo", "reset")
        assert result.returncode == 0, result.stderr
        assert "60 prospects" in result.stdout


def test_demo_reset_refuses_a_database_that_is_not_demo(tmp_path: Path) -> None:
    path = tmp_path / "agency.db"
    assert coccinelle("--database-url", sqlite_url(path), "db", "upgrade").returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO tenants (name, slug, settings, created_at) "
            "VALUES ('Agence Réelle', 'reelle', '{}', '2026-01-01 00:00:00')"
        )
    before = dump(path)
    result = coccinelle("--database-url", sqlite_url(path), "demo", "reset")
    assert_clear_failure(result)
    assert "not a demo database" in result.stderr
    assert dump(path) == before


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = coccinelle(
        "db", "upgrade", env={"COCCINELLE_ORCHESTRATOR__MAX_FALLBACK_ATTEMPTS": "9"}
    )
    assert_clear_failure(result)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "orchestrator.max_fallback_attempts" in result.stderr and "'9'" in result.stderr


def test_a_bad_configuration_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('mode = "production"\n', encoding="utf-8")
    result = coccinelle("db", "upgrade", env={"COCCINELLE_CONFIG_FILE": str(config)})
    assert_clear_failure(result)
    assert "mode" in result.stderr and "'production'" in result.stderr


def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 a photo, not a database " * 200)
    before = path.read_bytes()
    for command in (("db", "upgrade"), ("demo", "reset")):
        result = coccinelle("--database-url", sqlite_url(path), *command)
        assert_clear_failure(result)
        assert str(path) in result.stderr and "not a Coccinelle database" in result.stderr
        assert path.read_bytes() == before


def test_credentials_without_a_keyring_say_how_to_fix_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inbox_app.cli", "credentials", "set", "sms", "auth_token"],
        cwd=ROOT,
        input=TOKEN + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        timeout=60,
        check=False,
    )
    assert_clear_failure(result)
    assert "Secret Service" in result.stderr and "COCCINELLE_SECRET_" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def run_main(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--language", "en", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_credentials_set_list_delete(monkeypatch, capsys, memory_keyring) -> None:
    code, out, _ = run_main(
        monkeypatch, capsys, "credentials", "set", "sms", "auth_token", stdin=TOKEN + "\n"
    )
    assert code == 0 and "coccinelle:demo:sms" in out and TOKEN not in out
    assert memory_keyring.entries[("coccinelle:demo:sms", "auth_token")] == TOKEN
    code, out, _ = run_main(monkeypatch, capsys, "credentials", "list")
    assert code == 0 and "auth_token" in out and "••••a1b2" in out and TOKEN not in out
    code, out, _ = run_main(monkeypatch, capsys, "credentials", "delete", "sms")
    assert code == 0 and "auth_token" in out
    assert memory_keyring.entries == {}
    code, out, _ = run_main(monkeypatch, capsys, "credentials", "list")
    assert code == 0 and "No secrets" in out


def test_credentials_set_refuses_an_empty_secret(monkeypatch, capsys, memory_keyring) -> None:
    code, _, err = run_main(monkeypatch, capsys, "credentials", "set", "sms", "auth_token")
    assert code == 2 and err.startswith("error: secret")
    assert memory_keyring.entries == {}


def test_the_secret_is_never_an_argument(monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        run_main(monkeypatch, capsys, "credentials", "set", "sms", "auth_token", TOKEN)
    assert exited.value.code == 2
