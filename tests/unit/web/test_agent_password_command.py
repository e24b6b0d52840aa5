"""``coccinelle agent password NAME``: a salted hash stored, the password nowhere."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from core.storage.database import sqlite_url
from core.team.passwords import verify_password
from inbox_app.cli import main


@pytest.fixture
def url(tmp_path) -> str:
    return sqlite_url(tmp_path / "team.db")


def _stored(tmp_path) -> str | None:
    import sqlite3

    with sqlite3.connect(tmp_path / "team.db") as connection:
        row = connection.execute(text("SELECT password_hash FROM agents").text).fetchone()
    return row[0]


def test_the_password_is_stored_as_a_hash(url, tmp_path, monkeypatch, capsys) -> None:
    assert main(["--database-url", url, "agent", "add", "Claire Martin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough secret\n"))
    assert main(["--database-url", url, "agent", "password", "claire martin", "--stdin"]) == 0
    assert "Claire Martin" in capsys.readouterr().out
    stored = _stored(tmp_path)
    assert stored and "long enough secret" not in stored
    assert verify_password("long enough secret", stored)
    assert main(["--database-url", url, "agent", "password", "Claire Martin", "--clear"]) == 0
    assert _stored(tmp_path) is None


def test_a_short_password_or_an_unknown_agent_is_refused(url, monkeypatch, capsys) -> None:
    assert main(["--database-url", url, "agent", "add", "Claire Martin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--database-url", url, "agent", "password", "Claire Martin", "--stdin"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough secret\n"))
    assert main(["--database-url", url, "agent", "password", "Nobody", "--stdin"]) == 2
    err = capsys.readouterr().err
    assert "short" not in err and "long enough secret" not in err
