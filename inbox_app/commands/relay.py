"""``coccinelle relay``: the webhook relay (and its ingest worker) as a server process."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.config.settings import RelaySettings, Settings
from core.errors import CoccinelleError
from core.i18n import t
from inbox_app.memory import settle_collector

if TYPE_CHECKING:
    from core.channels.runtime import ChannelRuntime
    from core.domain.enums import Channel


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``relay`` and its options."""
    parser = subparsers.add_parser("relay", help=t("relay.help"))
    parser.add_argument("--host", help=t("relay.host_help"))
    parser.add_argument("--port", type=int, help=t("relay.port_help"))
    parser.add_argument("--public-url", help=t("relay.public_url_help"))
    parser.add_argument("--no-ingest", action="store_true", help=t("relay.no_ingest_help"))
    parser.add_argument("--no-send", action="store_true", help=t("relay.no_send_help"))
    parser.add_argument(
        "--ingest-in-loop", action="store_true", help=t("relay.ingest_in_loop_help")
    )
    # The relay's own ingest process (``core.relay.ingest_process``), not for people to run.
    parser.add_argument("--ingest-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--poll",
        action="append",
        choices=["telegram", "sms", "whatsapp"],
        default=[],
        help=t("relay.poll_help"),
    )
    parser.set_defaults(handler=relay_command)


def relay_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the relay until interrupted (SIGINT/SIGTERM)."""
    relay = settings.relay.model_copy(
        update={
            k: v
            for k, v in {
                "host": args.host,
                "port": args.port,
                "public_url": args.public_url,
            }.items()
            if v is not None
        }
    )
    ingest = not args.no_ingest
    from core.logs import configure_logging
    from core.relay.loop import run

    if args.ingest_child:
        configure_logging(settings.data_dir, stderr=True, name="relay-ingest")
        run(_ingest_child(settings, args.public_url or settings.relay.public_url))
        return 0
    log_file = configure_logging(settings.data_dir, stderr=True, name="relay")

    run(
        _main(
            settings,
            relay,
            ingest=ingest,
            send=ingest and not args.no_send,
            in_loop=args.ingest_in_loop,
            poll=args.poll,
            log_file=str(log_file),
        )
    )
    print(t("relay.stopped"), flush=True)
    return 0


async def _main(
    settings: Settings,
    relay: RelaySettings,
    *,
    ingest: bool,
    send: bool,
    poll: list[str],
    log_file: str = "",
    in_loop: bool = False,
) -> None:
    """Serve; with ``send``, an outbox worker also sends what is queued (Sara's replies even
    when no agent's app is open), sharing the queue with the apps' workers."""
    from core.channels.runtime import ChannelRuntime
    from core.credentials import CredentialStore
    from core.domain.enums import Channel
    from core.engine import open_service
    from core.outbox.worker import OutboxWorker
    from core.relay.run import serve
    from core.relay.secrets import pull_tokens, tenant_tokens
    from core.relay.server import RelayConfig, runtime_lookup

    service = await open_service(settings, role="relay")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tokens = pull_tokens(service.ctx.tenant_id) | await tenant_tokens(service.db)
    if not tokens:
        print(t("relay.pull_disabled"), file=sys.stderr, flush=True)
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        CredentialStore(settings.tenant).secrets_for,
        settings.endpoints,
        callback_url=relay.public_url,
    )
    config = RelayConfig(
        tenant_id=service.ctx.tenant_id,
        public_url=relay.public_url,
        max_body_bytes=relay.max_body_bytes,
        max_email_bytes=relay.max_email_bytes,
        pull_tokens=tokens,
        trusted_proxies=tuple(relay.trusted_proxies),
    )

    sender = None
    if send:
        # Only the channels this relay holds the secrets of; the apps send the others.
        sendable = [
            channel for channel in runtime.enabled_channels() if _can_send(runtime, channel)
        ]
        sender = OutboxWorker(service.ctx, runtime, settings.orchestrator, channels=sendable)
    sending = asyncio.create_task(sender.run_forever(stop)) if sender is not None else None
    try:
        await serve(
            service,
            runtime_lookup(runtime),
            config,
            host=relay.host,
            port=relay.port,
            stop=stop,
            ingest=ingest,
            ingest_process=None if in_loop else ingest_argv(settings, relay.public_url),
            poll=[runtime.adapter(Channel(name)) for name in poll],
            on_ready=announce_ready(relay.public_url, log_file),
        )
    finally:
        stop.set()
        if sending is not None:
            await sending
        await runtime.close()
        await service.close()


def announce_ready(public_url: str | None, log_file: str) -> Callable[[str, int], None]:
    """What the relay does once it listens: say where, then keep the collector out of the way.

    Start-up leaves ~130k long-lived objects (modules, the service, the adapters); with the
    default thresholds a full collection walked them all every 1–3 s under load, a 75–100 ms
    stall of every request in flight (the relay's p99). They are frozen out of its reach and
    the thresholds raised, as the app does after its first paint (``inbox_app.memory``).
    """

    def ready(host: str, port: int) -> None:
        public = public_url or f"http://{host}:{port}"
        print(t("relay.listening", host=host, port=port, public_url=public), flush=True)
        if log_file:
            print(t("relay.log_file", path=log_file), flush=True)
        settle_collector()

    return ready


def ingest_argv(settings: Settings, public_url: str | None = None) -> list[str]:
    """The command line of the relay's ingest process, on the same settings as this one."""
    argv = [sys.executable, "-m", "inbox_app.cli", "--tenant", settings.tenant]
    argv += ["--mode", settings.mode]
    if settings.database_url:
        argv += ["--database-url", settings.database_url]
    if settings.language:
        argv += ["--language", settings.language]
    argv += ["relay", "--ingest-child"]
    return argv + (["--public-url", public_url] if public_url else [])


async def _ingest_child(settings: Settings, public_url: str | None) -> None:
    """The relay's ingest process: the ingest worker, woken through standard input, until
    that input ends (``core.relay.ingest_process``)."""
    from core.channels.runtime import ChannelRuntime
    from core.credentials import CredentialStore
    from core.engine import open_service
    from core.relay.ingest_process import ingest_until_closed

    service = await open_service(settings, role="worker")
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        CredentialStore(settings.tenant).secrets_for,
        settings.endpoints,
        callback_url=public_url,
    )
    try:
        await ingest_until_closed(service, runtime)
    finally:
        await service.close()


def _can_send(runtime: ChannelRuntime, channel: Channel) -> bool:
    try:
        runtime.adapter(channel)
    except CoccinelleError:
        return False
    return True
