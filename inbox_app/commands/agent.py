"""``coccinelle agent add NAME [--email]`` and ``coccinelle agent list``: the company's agents."""

from __future__ import annotations

import argparse
import shlex

from core.config.settings import Settings
from core.i18n import t


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``agent`` and its sub-commands."""
    parser = subparsers.add_parser("agent", help=t("team.agent_help"))
    actions = parser.add_subparsers(dest="agent_action", required=True)
    add = actions.add_parser("add", help=t("team.agent_add_help"))
    add.add_argument("name", help=t("team.agent_name_help"))
    add.add_argument("--email", help=t("team.agent_email_help"))
    add.set_defaults(handler=add_command)
    listing = actions.add_parser("list", help=t("team.agent_list_help"))
    listing.set_defaults(handler=list_command)
    password = actions.add_parser("password", help=t("web.password_help"))
    password.add_argument("name", help=t("team.agent_name_help"))
    password.add_argument("--clear", action="store_true", help=t("web.password_clear_help"))
    password.add_argument("--stdin", action="store_true", help=t("web.password_stdin_help"))
    password.set_defaults(handler=password_command)


def _without_agent(settings: Settings) -> Settings:
    # Managing agents must work before the agent named by --agent or the config exists.
    return settings.model_copy(update={"agent": None})


def open_as_command(args: argparse.Namespace, name: str) -> str:
    """The command that opens the inbox as ``name``, with the options this one was run with.

    The database URL is given without its password, which stays where it came from
    (the environment, ``~/.pgpass``, the config file), never on screen.
    """
    words = ["coccinelle"]
    if getattr(args, "database_url", None):
        words += ["--database-url", _without_password(args.database_url)]
    for option in ("tenant", "mode", "language"):
        value = getattr(args, option, None)
        if value:
            words += [f"--{option}", value]
    return shlex.join([*words, "--agent", name])


def _without_password(url: str) -> str:
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.password is None:
        return url
    bare = URL.create(
        parsed.drivername,
        parsed.username,
        None,
        parsed.host,
        parsed.port,
        parsed.database,
        parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    """Create an agent; refuses a name already taken and a malformed e-mail address."""
    from core.domain.contact import normalize_email
    from core.errors import InvalidInput
    from core.service import InboxService
    from inbox_app.commands.common import run_with_service

    email = normalize_email(args.email) if args.email else None

    async def work(service: InboxService) -> str:
        if await service.agents.by_name(args.name) is not None:
            raise InvalidInput("agent name", args.name, t("team.agent_name_free"))
        agent = await service.agents.add(args.name, email)
        command = open_as_command(args, agent.name)
        return t("team.agent_added", name=agent.name, id=agent.id, command=command)

    print(run_with_service(_without_agent(settings), work))
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print every agent of the tenant."""
    from core.service import InboxService
    from inbox_app.commands.common import run_with_service

    async def work(service: InboxService) -> list[str]:
        return [
            t(
                "team.agent_line",
                id=agent.id,
                name=agent.name,
                email=agent.email or "-",
                state=t("team.agent_active" if agent.active else "team.agent_inactive"),
            )
            for agent in await service.agents.list()
        ]

    lines = run_with_service(_without_agent(settings), work)
    print("\n".join(lines) if lines else t("team.agent_none"))
    return 0


def password_command(args: argparse.Namespace, settings: Settings) -> int:
    """Set (or with ``--clear`` remove) the password an agent signs in to ``coccinelle serve``
    with; read twice without echo, or once from standard input with ``--stdin``. Only a salted
    scrypt hash is stored."""
    from core.errors import InvalidInput
    from core.service import InboxService
    from core.team.passwords import MIN_LENGTH, hash_password
    from inbox_app.commands.common import run_with_service

    stored = None if args.clear else hash_password(_read_password(args.stdin, MIN_LENGTH))

    async def work(service: InboxService) -> str:
        agent = await service.agents.by_name(args.name)
        if agent is None:
            raise InvalidInput("agent name", args.name, t("web.password_known_agent"))
        await service.agents.set_password_hash(agent.id, stored)
        return t("web.password_cleared" if stored is None else "web.password_set", name=agent.name)

    print(run_with_service(_without_agent(settings), work))
    return 0


def _read_password(from_stdin: bool, min_length: int) -> str:
    import getpass
    import sys

    from core.errors import InvalidInput

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(t("web.password_prompt"))
        if getpass.getpass(t("web.password_again")) != password:
            raise InvalidInput("password", "…", t("web.password_same_twice"))
    if len(password) < min_length:
        raise InvalidInput("password", "…", t("web.password_too_short", count=min_length))
    return password
