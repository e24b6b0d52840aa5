"""``coccinelle serve``: the inbox served to web browsers, each agent signed in first."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

from core.config.settings import Settings
from core.i18n import t

if TYPE_CHECKING:
    from core.service import InboxService
    from inbox_app.web.server import Account, ServeConfig


LINK_MINUTES = 15


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and its options."""
    parser = subparsers.add_parser("serve", help=t("web.serve_help"))
    parser.add_argument("--host", default="127.0.0.1", help=t("web.host_help"))
    parser.add_argument("--port", type=int, default=8080, help=t("web.port_help"))
    parser.add_argument("--public-url", help=t("web.public_url_help"))
    parser.add_argument("--max-sessions", type=int, default=20, help=t("web.max_sessions_help"))
    parser.add_argument("--idle-minutes", type=float, default=30.0, help=t("web.idle_help"))
    parser.add_argument(
        "--trusted-proxy", action="append", default=[], help=t("web.trusted_proxy_help")
    )
    parser.add_argument(
        "--link",
        action="append",
        default=[],
        metavar="AGENT",
        help=t("web.link_help", minutes=LINK_MINUTES),
    )
    parser.set_defaults(handler=serve_command)


class ServiceDirectory:
    """Agents and their password hashes, from the service."""

    def __init__(self, service: InboxService) -> None:
        self.service = service

    async def find(self, name: str) -> Account | None:
        from inbox_app.web.server import Account

        agent = await self.service.agents.by_name(name)
        if agent is None:
            return None
        stored = await self.service.agents.password_hash(agent.id)
        return Account(agent.id, agent.name, agent.active, stored)


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    from core.logs import configure_logging
    from inbox_app.web.server import ServeConfig

    configure_logging(settings.data_dir, stderr=True, name="serve")
    config = ServeConfig(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        max_sessions=max(1, args.max_sessions),
        idle_minutes=max(1.0, args.idle_minutes),
        link_minutes=LINK_MINUTES,
        trusted_proxies=tuple(args.trusted_proxy or settings.relay.trusted_proxies),
    )
    asyncio.run(_serve(settings, config, links=list(args.link or [])))
    print(t("web.stopped"), flush=True)
    return 0


async def _serve(settings: Settings, config: ServeConfig, links: list[str] | None = None) -> None:
    from aiohttp import web

    from core.engine import open_service
    from inbox_app.web.server import WebServer, load_secret

    service = await open_service(settings.model_copy(update={"agent": None}), role="worker")
    try:
        if not any([await service.agents.password_hash(a.id) for a in await service.agents.list()]):
            print(t("web.no_password_yet"), flush=True)
        secret = load_secret(settings.data_dir / "serve-secret")
        directory = ServiceDirectory(service)
        server = WebServer(settings, config, directory, secret)
        runner = web.AppRunner(server.make_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        print(t("web.serving", url=config.url), flush=True)
        for name in links or []:
            account = await directory.find(name)
            if account is None or not account.active:
                print(t("web.link_unknown", name=name), flush=True)
                continue
            url = server.issue_link(account)
            print(
                t("web.link_printed", name=account.name, minutes=LINK_MINUTES, url=url), flush=True
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
    finally:
        await service.close()
