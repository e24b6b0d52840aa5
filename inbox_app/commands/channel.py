"""``coccinelle channel list|add|set|remove|test``: set channels up on a headless server.

The same checks as the settings screen (``TenantSettingsStore.save_channel``): a provider that
carries the channel, sender numbers and addresses that are ones, no secret among the options.
Secrets only ever go through ``coccinelle credentials set`` (the keyring or the environment).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.config.settings import Settings
from core.domain.enums import Channel, Provider
from core.errors import InvalidInput
from core.i18n import t
from core.sanitize import clean_line
from inbox_app.commands.common import run_with_service

CHANNELS = [str(c) for c in Channel]
PROVIDERS = [str(p) for p in Provider if str(p) != "demo"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``channel`` and its sub-commands."""
    parser = subparsers.add_parser("channel", help=t("channelcli.help"))
    actions = parser.add_subparsers(dest="channel_action", required=True)
    actions.add_parser("list", help=t("channelcli.list_help")).set_defaults(handler=list_command)
    for name in ("add", "set"):
        sub = actions.add_parser(name, help=t(f"channelcli.{name}_help"))
        sub.add_argument("channel", choices=CHANNELS)
        sub.add_argument("--provider", choices=PROVIDERS, help=t("channelcli.provider_help"))
        sub.add_argument(
            "--option", action="append", default=[], metavar="NAME=VALUE",
            help=t("channelcli.option_help"),
        )  # fmt: skip
        sub.add_argument("--from", dest="sender", help=t("channelcli.from_help"))
        if name == "set":
            sub.add_argument(
                "--unset", action="append", default=[], metavar="NAME",
                help=t("channelcli.unset_help"),
            )  # fmt: skip
        state = sub.add_mutually_exclusive_group()
        state.add_argument("--enable", dest="enabled", action="store_true", default=None)
        state.add_argument("--disable", dest="enabled", action="store_false")
        sub.set_defaults(handler=add_command if name == "add" else set_command)
    remove = actions.add_parser("remove", help=t("channelcli.remove_help"))
    remove.add_argument("channel", choices=CHANNELS)
    remove.add_argument("--provider", choices=PROVIDERS, help=t("channelcli.which_help"))
    remove.set_defaults(handler=remove_command)
    test = actions.add_parser("test", help=t("channelcli.test_help"))
    test.add_argument("channel", choices=CHANNELS)
    test.add_argument("--provider", choices=PROVIDERS, help=t("channelcli.which_help"))
    test.set_defaults(handler=test_command)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs as a dict (a JSON value is read as JSON: lists, numbers).

    Raises:
        InvalidInput: a pair without ``=``.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput("--option", pair, "name=value")
        try:
            options[name.strip()] = json.loads(value)
        except ValueError:
            options[name.strip()] = value
    return options


def _sender_key(channel: Channel) -> str:
    return "from_email" if channel == Channel.EMAIL else "from_number"


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Every channel set up: provider, on/off, options (never secrets)."""

    async def work(service):  # type: ignore[no-untyped-def]
        return await service.tenant_settings.channels()

    channels = run_with_service(settings, work)
    if not channels:
        print(t("channelcli.none", tenant=settings.tenant))
        return 0
    for config in channels:
        state = t("channelcli.on" if config.enabled else "channelcli.off")
        options = json.dumps(config.config, ensure_ascii=False, sort_keys=True)
        print(
            t(
                "channelcli.row",
                channel=str(config.channel),
                provider=str(config.provider),
                state=state,
                options=clean_line(options, max_length=400),
            )
        )
    return 0


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    """Set a channel up; refused if it already is (use ``set``)."""
    channel = Channel(args.channel)
    options = parse_options(args.option)
    if args.sender:
        options[_sender_key(channel)] = args.sender

    async def work(service):  # type: ignore[no-untyped-def]
        store = service.tenant_settings
        existing = [c for c in await store.channels() if c.channel == channel]
        provider = Provider(args.provider) if args.provider else None
        if any(provider is None or c.provider == provider for c in existing):
            raise InvalidInput("channel", str(channel), t("channelcli.exists_hint"))
        return await store.save_channel(
            channel,
            provider=provider,
            config=options,
            enabled=True if args.enabled is None else args.enabled,
            also=bool(existing),  # a second provider (WhatsApp on Twilio and on Meta)
        )

    config = run_with_service(settings, work)
    print(t("channelcli.added", channel=str(channel), provider=str(config.provider)))
    print(t("channelcli.secrets_hint", channel=str(channel)))
    return 0


def set_command(args: argparse.Namespace, settings: Settings) -> int:
    """Change a channel's provider, options or state."""
    channel = Channel(args.channel)
    changes = parse_options(args.option)
    if args.sender:
        changes[_sender_key(channel)] = args.sender

    async def work(service):  # type: ignore[no-untyped-def]
        store = service.tenant_settings
        configs = [c for c in await store.channels() if c.channel == channel]
        wanted = Provider(args.provider) if args.provider else None
        current = next((c for c in configs if wanted in (None, c.provider)), None)
        if current is None and wanted is not None and configs:
            current = configs[0]  # switch the channel's provider
        if current is None:
            raise InvalidInput("channel", str(channel), t("channelcli.missing_hint"))
        options = {k: v for k, v in current.config.items() if k not in args.unset} | changes
        return await store.save_channel(
            channel,
            provider=Provider(args.provider) if args.provider else current.provider,
            config=options,
            enabled=args.enabled,
        )

    config = run_with_service(settings, work)
    print(t("channelcli.saved", channel=str(channel), provider=str(config.provider)))
    return 0


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a channel's set-up (conversations and secrets stay)."""
    channel = Channel(args.channel)

    async def work(service):  # type: ignore[no-untyped-def]
        provider = Provider(args.provider) if args.provider else None
        return await service.tenant_settings.remove_channel(channel, provider)

    if not run_with_service(settings, work):
        print(t("channelcli.not_set_up", channel=str(channel)))
        return 1
    print(t("channelcli.removed", channel=str(channel)))
    return 0


def test_command(args: argparse.Namespace, settings: Settings) -> int:
    """One cheap authenticated call to the provider with the stored set-up and secrets."""
    channel = Channel(args.channel)

    async def work(service):  # type: ignore[no-untyped-def]
        from core.channels.runtime import ChannelRuntime
        from core.credentials import CredentialStore

        runtime = ChannelRuntime(
            await service.tenant_settings.channels(),
            CredentialStore(settings.tenant).secrets_for,
            settings.endpoints,
        )
        try:
            adapter = runtime.adapter(channel, args.provider, even_off=True)
            await adapter.check_connection()
        finally:
            await runtime.close()

    run_with_service(settings, work)
    print(t("channelcli.test_ok", channel=str(channel)))
    return 0
