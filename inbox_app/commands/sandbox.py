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
    parser = subparsers.add_parser("sandbox", help=t("sandbox.help"))
    parser.add_argument("--relay-url", default=None, help=t("sandbox.relay_url_help"))
    parser.add_argument("--host", default="127.0.0.1", help=t("sandbox.host_help"))
    parser.add_argument("--port", type=int, default=0, help=t("sandbox.port_help"))
    parser.add_argument(
        "--flush-every", type=float, default=1.0, help=t("sandbox.flush_every_help")
    )
    parser.set_defaults(handler=sandbox_command)


def sandbox_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until Ctrl-C."""
    from core.channels.registry import load_plugin

    start = load_plugin(SANDBOX_GROUP, "default")

    async def main() -> None:
        sandbox = await start(
            args.relay_url, host=args.host, port=args.port, auto_flush=args.flush_every
        )
        try:
            print(t("sandbox.started"))
            for provider, url in sandbox.base_urls.items():
                names = ", ".join(sandbox.credentials.get(provider, {}))
                print(t("sandbox.base_url", provider=provider, url=url, credentials=names))
            relay = args.relay_url or t("sandbox.no_relay")
            print(t("sandbox.relay", relay=relay))
            print(t("sandbox.stop_hint"))
            await asyncio.Event().wait()
        finally:
            await sandbox.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    print(t("sandbox.stopped"))
    return 0
