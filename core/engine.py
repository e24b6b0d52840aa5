"""The machinery behind an open inbox: relay and ingest, outbox, reminders, campaigns, snoozes.

    engine = Engine(service, settings)
    await engine.start()      # in demo mode also starts the sandbox and points the channels at it
    ...
    await engine.stop()

In demo mode everything runs in this process on loopback: the sandbox plays the providers and
their prospects, posts signed webhooks to the in-process relay, and the ingest and outbox workers
move messages along exactly as with real providers. In local and team modes the relay listens on
the configured address (the providers post to ``relay.public_url``) and secrets come from the
keyring; when another process already holds that port (a second inbox on the same machine), or
``relay.enabled`` is off, the engine runs everything else without a relay and, for a taken port,
says so once in ``EngineStatus.notices``. In remote mode the core pulls events from a relay
elsewhere instead of listening.

Housekeeping also keeps the analytics' daily rollups of the last year computed ahead of reading
(``core.analytics.warmup``), so the analytics screen opens warm.

Workers run under a ``Supervisor``: one that fails is restarted and reported on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.config.settings import ProviderEndpoints, Settings
from core.domain.enums import Channel
from core.domain.models import ChannelConfig, ProspectDraft
from core.errors import CoccinelleError
from core.events import Resync, SettingsChanged
from core.service import InboxService
from core.storage.database import Database
from core.storage.tenants import no_tenant_yet, unfinished_demo
from core.supervisor import Supervisor

if TYPE_CHECKING:  # the relay, the sandbox and the adapters load when the engine starts
    from core.channels.runtime import ChannelRuntime
    from core.relay.port import RelayPortInUse

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 30.0


async def open_service(
    settings: Settings, *, role: str = "app", mapped: bool = False
) -> InboxService:
    """Open the service the app and the CLI run on (``InboxService.open``); in demo mode, a
    database with no tenant yet is first filled with the demo agency. ``role`` sizes the
    PostgreSQL pool (``app``, ``worker``, ``relay``); ``mapped`` reads an SQLite file through
    a memory map (the interactive app)."""
    if settings.mode != "demo":
        return await InboxService.open(settings, role=role, mapped=mapped)

    async def seed(db: Database) -> None:
        # the seeder loads only for a database still empty, or one whose seeding was cut short
        if await no_tenant_yet(db) or await unfinished_demo(db):
            from core.demo import seed_if_empty

            await seed_if_empty(db, settings.tenant)

    service = await InboxService.open(settings, role=role, prepare=seed, mapped=mapped)
    if service.ctx.agent_id is None:
        await _be_the_demo_agent(service)
    return service


async def _be_the_demo_agent(service: InboxService) -> None:
    """Without ``--agent``, the demo is used as its first agent: "Mine", ``A`` and the
    templates' ``agent_name`` then work as they would for a real agent."""
    from core.demo.people import AGENTS

    agent = await service.agents.by_name(AGENTS[0][0])
    if agent is not None:
        service.ctx.agent_id = agent.id


@dataclass(frozen=True)
class EngineStatus:
    """What the engine is running, for the app's status line."""

    relay_url: str | None
    sandbox: bool
    channels: tuple[Channel, ...]
    #: Said once to the agent at start (e.g. the relay's port is taken: running without it).
    notices: tuple[str, ...] = ()


def pointed_at_sandbox(
    channels: list[ChannelConfig], options: Mapping[str, Mapping[str, Any]]
) -> list[ChannelConfig]:
    """``channels`` with each adapter's ``options`` from the sandbox (its numbers, its bot)."""
    from core.channels.runtime import adapter_name

    pointed = []
    for config in channels:
        name = adapter_name(config.channel, config.provider)
        merged = {**config.config, **options.get(name, {})}
        pointed.append(config.model_copy(update={"config": merged}))
    return pointed


def sandbox_secrets(
    credentials: Mapping[str, Mapping[str, str]], config: ChannelConfig, names: tuple[str, ...]
) -> Mapping[str, str]:
    """The secrets ``names`` of ``config``'s provider among the sandbox's ``credentials``."""
    given = credentials.get(str(config.provider), {})
    return {name: given[name] for name in names if name in given}


class Engine:
    """Starts and stops the background work of one process for one tenant."""

    def __init__(self, service: InboxService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.supervisor = Supervisor(service.bus)
        self.runtime: ChannelRuntime | None = None
        self.sandbox: Any = None
        self.relay_url: str | None = None
        self.notices: list[str] = []
        self._relay_ready = asyncio.Event()
        self._relay_clash: RelayPortInUse | None = None

    @property
    def status(self) -> EngineStatus:
        """What runs now."""
        channels = tuple(self.runtime.enabled_channels()) if self.runtime else ()
        return EngineStatus(self.relay_url, self.sandbox is not None, channels, tuple(self.notices))

    async def start(self) -> EngineStatus:
        """Start the relay (or the puller), then the sandbox in demo mode, then the workers.

        Raises:
            CoccinelleError: the relay did not start in time, or a channel cannot be set up.
        """
        if self.settings.mode == "remote":
            await self._start_puller()
        elif self.settings.mode == "demo" or self.settings.relay.enabled:
            await self._start_relay()
        else:
            self.relay_url = self.settings.relay.public_url
        from core.channels.runtime import ChannelRuntime
        from core.credentials import CredentialStore

        channels = await self.service.tenant_settings.channels()
        if self.settings.mode == "demo":
            channels = await self._start_sandbox(channels)
            secrets = self._sandbox_secrets
            endpoints = ProviderEndpoints(**self.sandbox.base_urls)
        else:
            secrets = CredentialStore(self.settings.tenant).secrets_for
            endpoints = self.settings.endpoints
        self.runtime = ChannelRuntime(channels, secrets, endpoints, callback_url=self.relay_url)
        self.service.outbound.attach_runtime(self.runtime)
        self.service.attachments.attach_runtime(self.runtime)
        if self.sandbox is not None:
            await self._point_telegram_at_relay()
        self._add_workers()
        await self.supervisor.start()
        return self.status

    async def stop(self) -> None:
        """Stop every worker, the relay and the sandbox; close the adapters."""
        await self.supervisor.stop()
        if self.runtime is not None:
            await self.runtime.close()
        if self.sandbox is not None:
            await self.sandbox.stop()
            self.sandbox = None

    # -- relay -----------------------------------------------------------------------------

    def _lookup(self, channel: Channel, provider: Any = None) -> Any:
        # The relay may start before the runtime exists (the sandbox needs the relay's URL).
        if self.runtime is None:
            return None
        from core.relay.server import runtime_lookup

        return runtime_lookup(self.runtime)(channel, provider)

    async def _start_relay(self) -> None:
        from core.relay.port import RelayPortInUse
        from core.relay.run import serve
        from core.relay.server import RelayConfig

        relay = self.settings.relay
        demo = self.settings.mode == "demo"
        host, port = ("127.0.0.1", 0) if demo else (relay.host, relay.port)

        def ready(bound_host: str, bound_port: int) -> None:
            self.relay_url = (
                relay.public_url
                if relay.public_url and not demo
                else f"http://{bound_host}:{bound_port}"
            )
            self._relay_ready.set()

        config = RelayConfig(
            tenant_id=self.service.ctx.tenant_id,
            public_url=None if demo else relay.public_url,
            max_body_bytes=relay.max_body_bytes,
            max_email_bytes=relay.max_email_bytes,
        )

        async def run(stop: asyncio.Event) -> None:
            try:
                await serve(
                    self.service,
                    self._lookup,
                    config,
                    host=host,
                    port=port,
                    stop=stop,
                    ingest_process=self._ingest_argv(),
                    on_ready=ready,
                )
            except RelayPortInUse as exc:
                if self._relay_ready.is_set():
                    raise  # lost the port after a restart: the supervisor tries again
                self._relay_clash = exc  # at start: run without it (the worker ends here)
                self._relay_ready.set()

        self.supervisor.add("relay", run)
        await self.supervisor.start()
        await self._wait_for_relay()
        if self._relay_clash is not None:
            await self._without_relay(self._relay_clash)

    def _ingest_argv(self) -> list[str] | None:
        """The command line of the relay's ingest process, or None: ingest runs in this event
        loop (the app's case; the end-to-end bench runs it apart, ``core.bench.ingest_child``)."""
        return None

    async def _without_relay(self, clash: RelayPortInUse) -> None:
        """Another process holds the relay's port: keep going without a relay, and say so."""
        from core.relay.port import PortHolder, holder, notice, probe_host

        who = await holder(clash.host, clash.port)
        log.warning(
            "relay port %s:%s taken (%s); running without a relay", clash.host, clash.port, who
        )
        public = self.settings.relay.public_url
        if who == PortHolder.COCCINELLE:
            self.relay_url = public or f"http://{probe_host(clash.host)}:{clash.port}"
        else:
            self.relay_url = public
        self.notices.append(notice(who, clash.host, clash.port))

    async def _wait_for_relay(self, timeout: float = 10.0) -> None:
        try:
            await asyncio.wait_for(self._relay_ready.wait(), timeout)
        except TimeoutError:
            relay = self.settings.relay
            raise CoccinelleError(
                f"the webhook relay could not listen on {relay.host}:{relay.port}; "
                "is another Coccinelle running? Set relay.port (COCCINELLE_RELAY__PORT)."
            ) from None

    async def _start_puller(self) -> None:
        from core.ingest.worker import IngestWorker
        from core.relay.puller import RemotePuller
        from core.relay.secrets import pull_tokens
        from core.relay.store import EventWriter

        url = self.settings.relay.pull_url
        tokens = pull_tokens(self.service.ctx.tenant_id)
        if not url or not tokens:
            raise CoccinelleError(
                "remote mode needs relay.pull_url (COCCINELLE_RELAY__PULL_URL) and the relay's "
                "token (COCCINELLE_RELAY_TOKEN, or the keyring entry coccinelle/relay pull_token)"
            )
        writer = EventWriter(self.service.db)
        worker = IngestWorker(self.service.ctx, self._lookup, booking=self.service.booking)
        writer.on_commit.append(worker.wake)
        puller = RemotePuller(writer, url, next(iter(tokens)), self.service.ctx.tenant_id)

        async def pull(stop: asyncio.Event) -> None:
            await writer.start()
            try:
                await puller.run(stop)
            finally:
                await writer.close()

        self.supervisor.add("puller", pull)
        self.supervisor.add("ingest", worker.run)

    # -- demo sandbox ----------------------------------------------------------------------

    async def _start_sandbox(self, channels: list[ChannelConfig]) -> list[ChannelConfig]:
        from core.channels.registry import SANDBOX_GROUP, load_plugin

        start_sandbox = load_plugin(SANDBOX_GROUP, "default")
        self.sandbox = await start_sandbox(self.relay_url, auto_flush=1.0)
        await self._ensure_personas()
        return self._pointed_at_sandbox(channels)

    def _pointed_at_sandbox(self, channels: list[ChannelConfig]) -> list[ChannelConfig]:
        return pointed_at_sandbox(channels, self.sandbox.options)

    def _sandbox_secrets(self, config: ChannelConfig, names: tuple[str, ...]) -> Mapping[str, str]:
        return sandbox_secrets(self.sandbox.credentials, config, names)

    async def _ensure_personas(self) -> None:
        """The sandbox's simulated prospects exist in the demo, so agents can write to them."""
        for persona in getattr(self.sandbox, "personas", ()):
            if await self.service.prospects.find(Channel.SMS, persona.phone):
                continue
            await self.service.prospects.create(
                ProspectDraft(
                    display_name=persona.name,
                    phone=persona.phone,
                    whatsapp=persona.phone,
                    email=persona.email,
                    telegram_chat_id=persona.chat_id,
                )
            )

    async def _point_telegram_at_relay(self) -> None:
        assert self.runtime is not None
        if Channel.TELEGRAM not in self.runtime.enabled_channels():
            return
        try:
            adapter = self.runtime.adapter(Channel.TELEGRAM)
            bot_id = adapter.config.options.get("bot_id")
            await adapter.set_webhook(f"{self.relay_url}/webhooks/telegram/{bot_id}")
        except CoccinelleError as exc:
            log.warning("telegram webhook not set: %s", exc)

    # -- workers ---------------------------------------------------------------------------

    def _add_workers(self) -> None:
        from core.analytics.warmup import RollupWarmer
        from core.outbox.worker import OutboxWorker

        assert self.runtime is not None
        outbox = OutboxWorker(self.service.ctx, self.runtime, self.settings.orchestrator)
        self.supervisor.add("settings", self._follow_settings)
        # Once-per-tenant jobs: in team mode only the process holding each job's lease runs it.
        # The outbox too: an agent's own reply is sent at once by its app (``process_now``);
        # the worker retries and sends what is scheduled, and fifty of them woken by every
        # queued message would only contend for the same rows.
        once = self.service.team.lease.exclusive
        self.supervisor.add("outbox", once("outbox", outbox.run_forever))
        self.supervisor.add("reminders", once("reminders", self.service.outbound.reminders.follow))
        self.supervisor.add("housekeeping", once("housekeeping", self._housekeeping))
        self.supervisor.add("analytics", once("analytics", RollupWarmer(self.service.ctx).run))

    async def _follow_settings(self, stop: asyncio.Event) -> None:
        """Apply the Settings screen's changes while running: a channel turned off is neither
        served by the relay nor sent on (so nothing answers there), one turned on receives at
        once, new secrets are read on next use. Quiet hours are read by every decision."""
        async with self.service.bus.subscribe() as queue:
            while not stop.is_set():
                getter = asyncio.ensure_future(queue.get())
                stopping = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {getter, stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in (getter, stopping):
                    if task not in done:
                        task.cancel()
                event = getter.result() if getter in done else None
                if isinstance(event, SettingsChanged | Resync):
                    await self.apply_settings(event)

    async def apply_settings(self, event: SettingsChanged | Resync) -> None:
        """Bring the channel runtime in line with the stored set-up (and secrets)."""
        assert self.runtime is not None
        if isinstance(event, SettingsChanged) and event.what == "credentials":
            await self.runtime.forget_adapters()
            return
        if isinstance(event, SettingsChanged) and event.what != "channels":
            return
        channels = await self.service.tenant_settings.channels()
        if self.sandbox is not None:
            channels = self._pointed_at_sandbox(channels)
        turned_on = await self.runtime.replace(channels)
        log.info("channel set-up applied; turned on: %s", [str(c) for c in turned_on])
        if Channel.TELEGRAM in turned_on and self.sandbox is not None:
            await self._point_telegram_at_relay()

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Wake snoozed conversations and run due campaign steps, every half minute."""
        while not stop.is_set():
            await self.service.conversations.wake_snoozed()
            await self.service.campaigns.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HOUSEKEEPING_SECONDS)
