"""``coccinelle credentials set|list|delete``: channel secrets in the OS keyring.

A secret is never taken from the command line (it would land in the shell history and in
``ps``): ``set`` reads it with getpass, or from standard input when that is not a terminal.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.config.settings import Settings
from core.domain.enums import Channel
from core.i18n import t

CHANNELS = [str(c) for c in Channel]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``credentials`` and its sub-commands."""
    parser = subparsers.add_parser("credentials", help=t("credentials.help"))
    actions = parser.add_subparsers(dest="credentials_action", required=True)

    set_parser = actions.add_parser("set", help=t("credentials.set_help"))
    set_parser.add_argument("channel", choices=CHANNELS, help=t("credentials.channel_help"))
    set_parser.add_argument("name", help=t("credentials.name_help"))
    set_parser.set_defaults(handler=set_command)

    list_parser = actions.add_parser("list", help=t("credentials.list_help"))
    list_parser.set_defaults(handler=list_command)

    delete = actions.add_parser("delete", help=t("credentials.delete_help"))
    delete.add_argument("channel", choices=CHANNELS, help=t("credentials.channel_help"))
    delete.add_argument("name", nargs="?", help=t("credentials.delete_name_help"))
    delete.set_defaults(handler=delete_command)


def _store(settings: Settings):  # -> CredentialStore, imported lazily
    from core.credentials import CredentialStore

    return CredentialStore(settings.tenant)


def read_secret(prompt: str) -> str:
    """The secret typed without echo, or the first line of standard input when piped."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(prompt)
    return (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")


def set_command(args: argparse.Namespace, settings: Settings) -> int:
    """Store one secret."""
    from core.credentials import check_name

    store = _store(settings)
    check_name(args.name)
    store.backend()  # say "no keyring" before asking for the secret
    value = read_secret(t("credentials.prompt", channel=args.channel, name=args.name))
    ref = store.set(Channel(args.channel), args.name, value)
    print(t("credentials.stored", name=args.name, channel=args.channel, ref=ref))
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Show names and masked tails, never values."""
    found = _store(settings).list()
    if not found:
        print(t("credentials.none", tenant=settings.tenant))
        return 0
    print(t("credentials.header", tenant=settings.tenant))
    for item in found:
        source = t(f"credentials.source_{item.source}")
        print(
            t(
                "credentials.row",
                channel=str(item.channel),
                name=item.name,
                masked=item.masked,
                source=source,
                ref=item.ref,
            )
        )
    return 0


def delete_command(args: argparse.Namespace, settings: Settings) -> int:
    """Remove one secret or all of a channel's."""
    removed = _store(settings).delete(Channel(args.channel), args.name)
    if removed:
        print(t("credentials.deleted", names=", ".join(removed)))
    else:
        print(t("credentials.nothing_deleted", channel=args.channel))
    return 0
