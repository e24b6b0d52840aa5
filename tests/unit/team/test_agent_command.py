"""``coccinelle agent add/list`` and choosing who you are with ``--agent``."""

from __future__ import annotations

import pytest

from core.config.settings import load_settings
from core.engine import open_service
from core.errors import ConfigurationError
from core.storage.database import sqlite_url
from inbox_app.cli import main


@pytest.fixture
def url(tmp_path) -> str:
    return sqlite_url(tmp_path / "team.db")


def test_agents_are_added_and_listed(url, capsys) -> None:
    assert main(["--database-url", url, "agent", "add", "Claire Martin", "--email", "c@ex.fr"]) == 0
    assert f"coccinelle --database-url {url} --agent 'Claire Martin'" in capsys.readouterr().out
    assert main(["--database-url", url, "agent", "add", "Marc"]) == 0
    capsys.readouterr()
    assert main(["--database-url", url, "agent", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "Claire Martin" in out[0] and "c@ex.fr" in out[0] and "Marc" in out[1]


def test_the_suggested_command_reuses_the_options_given(url, capsys) -> None:
    argv = ["--database-url", url, "--tenant", "acme", "agent", "add", "Claire Martin"]
    assert main(argv) == 0
    suggested = capsys.readouterr().out.split(": ", 1)[1].strip()
    assert suggested == f"coccinelle --database-url {url} --tenant acme --agent 'Claire Martin'"
    # The suggestion works: the same options open the tenant as that agent.
    settings = load_settings(database_url=url, tenant="acme", agent="Claire Martin")
    assert settings.agent == "Claire Martin" and settings.tenant == "acme"


def test_the_suggested_command_never_shows_the_database_password() -> None:
    from argparse import Namespace

    from inbox_app.commands.agent import open_as_command

    args = Namespace(database_url="postgresql+asyncpg://app:s3cret@db:5432/inbox", tenant=None)
    command = open_as_command(args, "Marc")
    assert "s3cret" not in command
    assert (
        command == "coccinelle --database-url postgresql+asyncpg://app@db:5432/inbox --agent Marc"
    )


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["agent", "add", "claire"], "agent name"),  # taken, whatever the case
        (["agent", "add", "   "], "agent name"),
        (["agent", "add", "Paul", "--email", "paul@"], "email"),
    ],
)
def test_bad_agents_are_refused_clearly(url, capsys, argv, named) -> None:
    main(["--database-url", url, "agent", "add", "Claire"])
    capsys.readouterr()
    assert main(["--database-url", url, *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    main(["--database-url", url, "agent", "list"])
    assert capsys.readouterr().out.count("\n") == 1  # nothing else was created


def test_an_empty_team_says_how_to_add_someone(url, capsys) -> None:
    assert main(["--database-url", url, "agent", "list"]) == 0
    assert "agent add" in capsys.readouterr().out


def test_agents_can_be_managed_before_the_configured_agent_exists(url, capsys) -> None:
    assert main(["--database-url", url, "--agent", "Claire", "agent", "add", "Claire"]) == 0


async def test_an_unknown_agent_stops_the_app_with_how_to_create_it(url) -> None:
    service = await open_service(load_settings(database_url=url))
    await service.agents.add("Claire")
    await service.close()
    with pytest.raises(ConfigurationError) as caught:
        await open_service(load_settings(database_url=url, agent="Clara"))
    message = str(caught.value)
    assert "'Clara'" in message and "Claire" in message and "agent add" in message
    service = await open_service(load_settings(database_url=url, agent="claire"))
    assert service.ctx.agent_id is not None
    await service.close()


def test_team_mode_on_sqlite_is_refused_with_what_to_set(url, capsys) -> None:
    assert main(["--mode", "team", "--database-url", url, "agent", "list"]) == 2
    err = capsys.readouterr().err
    assert "postgresql+asyncpg://" in err and "--database-url" in err
