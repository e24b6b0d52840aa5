"""``coccinelle sandbox``: run the provider emulator alone and say where it listens."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from core.config.settings import Settings
from core.i18n import t

SANDBOX_GROUP = "coccinelle.sandbox"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sandbox``."""
    parser = subparsers.add_parser(
        "sandbox",
        help=t("sandbox.help"),
        description=t("sandbox.description"),
        epilog=t("sandbox.epilog"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--relay-url", default=None, help=t("sandbox.relay_url_help"))
    parser.add_argument("--host", default="127.0.0.1", help=t("sandbox.host_help"))
    parser.add_argument("--port", type=int, default=0, help=t("sandbox.port_help"))
    parser.add_argument(
        "--flush-every", type=float, default=1.0, help=t("sandbox.flush_every_help")
    )
    parser.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="KIND[:CHANNEL][@RATE]",
        help=t("sandbox.fail_help"),
    )
    parser.add_argument(
        "--timeout-completes",
        type=float,
        default=0.5,
        metavar="P",
        help=t("sandbox.timeout_completes_help"),
    )
    parser.add_argument(
        "--webhook-target",
        action="append",
        default=[],
        metavar="[PROVIDER=]URL",
        help=t("sandbox.webhook_target_help"),
    )
    parser.set_defaults(handler=sandbox_command)


def _targets(values: list[str]) -> dict[str, str]:
    """``[PROVIDER=]URL`` values as provider (``*`` for all) → URL."""
    targets = {}
    for value in values:
        provider, sep, url = value.partition("=")
        if not sep or "://" in provider:
            provider, url = "*", value
        if not url.startswith(("http://", "https://")):
            raise ValueError(t("sandbox.bad_target", value=value))
        targets[provider] = url
    return targets


def sandbox_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until Ctrl-C."""
    from core.channels.registry import load_plugin

    try:
        targets = _targets(args.webhook_target)
        if not 0.0 <= args.timeout_completes <= 1.0:
            raise ValueError(t("sandbox.bad_probability", value=args.timeout_completes))
    except ValueError as exc:
        print(t("sandbox.bad_option", reason=str(exc)))
        return 2
    start = load_plugin(SANDBOX_GROUP, "default")

    async def main() -> int:
        try:
            sandbox = await start(
                args.relay_url,
                host=args.host,
                port=args.port,
                auto_flush=args.flush_every,
                failures=args.fail,
                webhook_targets=targets,
                timeout_completes=args.timeout_completes,
            )
        except ValueError as exc:  # a --fail rule that does not parse; nothing started
            print(t("sandbox.bad_option", reason=str(exc)))
            return 2
        rules = sandbox.rules
        try:
            print(t("sandbox.started"))
            for provider, url in sandbox.base_urls.items():
                names = ", ".join(sandbox.credentials.get(provider, {}))
                print(t("sandbox.base_url", provider=provider, url=url, credentials=names))
            relay = args.relay_url or t("sandbox.no_relay")
            print(t("sandbox.relay", relay=relay))
            for provider, url in targets.items():
                print(t("sandbox.target", provider=provider, url=url))
            for rule in rules:
                channel = rule.channel or t("sandbox.every_channel")
                print(t("sandbox.failing", kind=rule.kind, channel=channel, rate=rule.rate))
            print(t("sandbox.event_key", key=sandbox.sendgrid.public_key_b64))
            print(t("sandbox.stop_hint"))
            await asyncio.Event().wait()
        finally:
            await sandbox.stop()
        return 0

    code = 0
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(main())
    if code == 0:
        print(t("sandbox.stopped"))
    return code
