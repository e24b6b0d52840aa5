"""The ``coccinelle`` command: the inbox by default, sub-commands for what is not interactive.

No traceback reaches the terminal: the core's errors are printed as one clear message, and
anything unexpected is summarised with a pointer to the log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from core import i18n
from core.errors import CoccinelleError
from core.i18n import t
from inbox_app import commands
from inbox_app.memory import hold_collector, release_collector

if TYPE_CHECKING:
    from core.config.settings import Settings


class _NotTheInbox(Exception):
    """The command line asks for more than the inbox (a sub-command, help, or a mistake)."""


class _InboxOnlyParser(argparse.ArgumentParser):
    """The options of the inbox alone; anything it cannot read is left to the full parser."""

    def error(self, message: str) -> NoReturn:
        raise _NotTheInbox(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="coccinelle", description=t("cli.description"))
    _add_options(parser)
    subparsers = parser.add_subparsers(title=t("cli.commands"), metavar="COMMAND")
    for module in commands.modules():
        module.register(subparsers)  # type: ignore[attr-defined]
    return parser


def _inbox_arguments(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The arguments when the command line only opens the inbox, else None.

    Opening the inbox is what a user waits for: it does not import the sub-commands' modules
    nor build their parsers (and read their help texts). Help, a sub-command or a mistake goes
    to the full parser, which prints what it prints.
    """
    parser = _InboxOnlyParser(prog="coccinelle", add_help=False)
    _add_options(parser, helped=False)
    try:
        args, rest = parser.parse_known_args(argv)
    except _NotTheInbox:
        return None
    return None if rest else args


def _add_options(parser: argparse.ArgumentParser, *, helped: bool = True) -> None:
    """The inbox's options; ``helped``: with their help texts (only ``--help`` shows them)."""

    def say(key: str) -> str | None:
        return t(key) if helped else None

    parser.add_argument("--database-url", help=say("cli.database_url_help"))
    parser.add_argument("--language", choices=i18n.LANGUAGES, help=say("cli.language_help"))
    parser.add_argument("--tenant", help=say("cli.tenant_help"))
    parser.add_argument("--agent", help=say("cli.agent_help"))
    parser.add_argument(
        "--mode", choices=["demo", "local", "remote", "team"], help=say("cli.mode_help")
    )
    parser.add_argument("--no-relay", action="store_true", help=say("relayport.no_relay_help"))
    parser.set_defaults(handler=None)


def _settings(args: argparse.Namespace) -> Settings:
    from core.config.settings import load_settings

    return load_settings(
        database_url=args.database_url,
        language=args.language,
        tenant=args.tenant,
        agent=args.agent,
        mode=args.mode,
        relay={"enabled": False} if args.no_relay else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``coccinelle`` console script.

    The garbage collector is held while the commands, the settings and (for the inbox) the app
    are imported: collecting then only slows the start. A sub-command gets it back before it
    runs; the app lets it run again once its first page is on screen (``inbox_app.memory``).
    """
    was_running = hold_collector()
    try:
        return _main(argv, was_running)
    finally:
        release_collector(was_running)


def _main(argv: Sequence[str] | None, was_running: bool) -> int:
    i18n.set_language(_language_hint(argv))
    args = _inbox_arguments(argv)
    if args is None:
        args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        i18n.set_language(settings.language)
        if args.handler is None:
            from inbox_app.launch import run_app

            return run_app(settings)
        release_collector(was_running)
        return int(args.handler(args, settings) or 0)
    except CoccinelleError as exc:
        print(t("cli.error", message=str(exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _language_hint(argv: Sequence[str] | None) -> str | None:
    """The --language flag, read early so that --help itself is translated."""
    words = list(sys.argv[1:] if argv is None else argv)
    for index, word in enumerate(words):
        if word == "--language" and index + 1 < len(words) and words[index + 1] in i18n.LANGUAGES:
            return words[index + 1]
        if word.startswith("--language="):
            value = word.split("=", 1)[1]
            return value if value in i18n.LANGUAGES else None
    import os

    env = os.environ.get("COCCINELLE_LANGUAGE")
    return env if env in i18n.LANGUAGES else None


if __name__ == "__main__":
    raise SystemExit(main())
