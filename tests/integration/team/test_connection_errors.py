"""A wrong PostgreSQL URL gives a clear error naming the host and the database."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.errors import StorageError
from core.storage.database import Database, _explain_postgres
from inbox_app.cli import main
from tests.conftest import PG_URL


def _url(**parts) -> str:
    return make_url(PG_URL).set(**parts).render_as_string(hide_password=False)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="COCCINELLE_TEST_PG_URL is not set")
@pytest.mark.parametrize(
    ("parts", "says"),
    [
        ({"port": 1}, "nothing answers"),
        ({"database": "no_such_coccinelle_db"}, "no database 'no_such_coccinelle_db'"),
        ({"username": "no_such_coccinelle_user"}, "refused user 'no_such_coccinelle_user'"),
    ],
)
async def test_wrong_port_database_or_user_is_explained(parts, says) -> None:
    url = make_url(_url(**parts))
    with pytest.raises(StorageError) as caught:
        await Database.open(str(url.render_as_string(hide_password=False)))
    message = str(caught.value)
    assert says in message
    assert f"{url.host}:{url.port or 5432}" in message and str(url.database) in message


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="COCCINELLE_TEST_PG_URL is not set")
def test_the_command_prints_one_line_and_no_traceback(capsys) -> None:
    url = _url(database="no_such_coccinelle_db", password="hunter2")
    assert main(["--database-url", url, "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "no_such_coccinelle_db" in err and "createdb" in err
    assert "Traceback" not in err and "hunter2" not in err


def test_a_wrong_password_is_named_without_showing_it() -> None:
    # The local test server trusts every connection, so the server's answer is built here.
    url = make_url("postgresql+asyncpg://claire:hunter2@db.example.fr:6543/agence")
    refused = asyncpg.exceptions.InvalidPasswordError('password authentication failed for "claire"')
    message = str(_explain_postgres(url, refused))
    assert "db.example.fr:6543" in message and "agence" in message and "password" in message
    assert "hunter2" not in message


@pytest.mark.postgres
async def test_postgres_engines_check_connections_before_use(pg_schema) -> None:
    db = await pg_schema.open()
    try:
        assert db.engine.pool._pre_ping is True
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "is not a URL"),
        (
            "postgresql://claire:hunter2@db.example.fr/agence",
            "write it postgresql+asyncpg://claire:***@db.example.fr/agence",
        ),
        ("postgres://claire@db.example.fr/agence", "write it postgresql+asyncpg://"),
        ("sqlite:///tmp/coccinelle.db", "write it sqlite+aiosqlite:///tmp/coccinelle.db"),
        ("mysql+aiomysql://claire:hunter2@db.example.fr/agence", "works with PostgreSQL"),
    ],
)
@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["agent", "list"], ["relay", "--port", "0"]]
)
def test_a_url_that_is_no_database_url_is_one_clear_line(url, says, command, capsys) -> None:
    assert main(["--language", "en", "--database-url", url, *command]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "hunter2" not in err


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="COCCINELLE_TEST_PG_URL is not set")
@pytest.mark.parametrize("command", [["agent", "add", "Claire"], ["relay", "--port", "0"]])
def test_every_command_names_the_server_and_database_it_cannot_open(command, capsys) -> None:
    url = make_url(_url(database="no_such_coccinelle_db", password="hunter2"))
    argv = ["--language", "en", "--database-url", url.render_as_string(False), *command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{url.host}:{url.port or 5432}" in err and "no_such_coccinelle_db" in err
    assert "Traceback" not in err and "hunter2" not in err
