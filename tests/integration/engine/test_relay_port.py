"""Two inboxes on one machine: the second finds the relay's port taken and keeps working.

Before: the second engine's relay failed to bind, was restarted with an alert each time, and
after ten seconds the whole engine gave up (no outbox, no reminders) with an error. Now the
engine asks the process on the port who it is, runs everything but the relay, and says so once.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from core import i18n
from core.config.settings import RelaySettings, Settings
from core.engine import Engine
from core.events import Alert
from core.relay.port import SERVICE, PortHolder, holder
from core.service import InboxService
from inbox_app.cli import main

#: What an engine runs besides the relay; they must all run with or without it.
WORKERS = {"outbox", "settings", "reminders", "housekeeping", "analytics"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_for(service: InboxService, port: int, **relay: object) -> Settings:
    mode = "team" if service.db.dialect == "postgresql" else "local"
    return Settings(mode=mode, relay=RelaySettings(port=port, **relay))


def running(engine: Engine) -> set[str]:
    workers = engine.supervisor._workers
    return {w.name for w in workers if w.task is not None and not w.task.done()}


@pytest.fixture
async def first(service: InboxService) -> AsyncIterator[Engine]:
    """An inbox whose engine holds the relay's port."""
    engine = Engine(service, settings_for(service, free_port()))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


@pytest.fixture
async def second(service: InboxService) -> InboxService:
    """Another app on the same database (as a second agent's would be)."""
    return await InboxService.connect(service.db, "acme")


async def health(port: int) -> dict:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return await response.json()


async def test_the_second_inbox_runs_without_its_own_relay(first, second) -> None:
    port = first.settings.relay.port
    assert (await health(port))["service"] == SERVICE
    engine = Engine(second, settings_for(second, port))
    async with second.bus.subscribe() as events:
        status = await engine.start()
        try:
            assert status.relay_url == f"http://127.0.0.1:{port}"  # the first one's relay
            assert len(status.notices) == 1
            assert "Coccinelle" in status.notices[0] and str(port) in status.notices[0]
            assert running(engine) == WORKERS  # the relay worker ended; the others run
            assert running(first) == WORKERS | {"relay"}
            assert (await health(port))["status"] == "ok"  # the first relay is untouched
        finally:
            await engine.stop()
        alerts = [e for e in _drained(events) if isinstance(e, Alert)]
    assert alerts == [], "a taken port is not a failing worker"


async def test_a_port_held_by_another_program_is_named_as_such(service) -> None:
    port = free_port()

    async def not_a_relay(_request: web.Request) -> web.Response:
        return web.Response(text="I am not a relay")

    other = web.Application()
    other.router.add_get("/healthz", not_a_relay)
    runner = web.AppRunner(other)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    engine = Engine(service, settings_for(service, port))
    try:
        status = await engine.start()
        assert status.relay_url is None  # nothing of ours receives status callbacks
        assert len(status.notices) == 1 and "another program" in status.notices[0]
        assert running(engine) == WORKERS
    finally:
        await engine.stop()
        await runner.cleanup()


async def test_a_port_that_does_not_answer_http_is_another_program() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert await holder("0.0.0.0", port, timeout=0.5) == PortHolder.OTHER


async def test_the_notice_speaks_french(first, second) -> None:
    previous = i18n.language()
    i18n.set_language("fr")
    engine = Engine(second, settings_for(second, first.settings.relay.port))
    try:
        status = await engine.start()
        assert "Un autre relais Coccinelle" in status.notices[0]
    finally:
        i18n.set_language(previous)
        await engine.stop()


async def test_relay_disabled_starts_no_relay_and_says_nothing(service) -> None:
    port = free_port()
    public = "https://relay.example.fr"
    engine = Engine(service, settings_for(service, port, enabled=False, public_url=public))
    try:
        status = await engine.start()
        assert status.notices == () and status.relay_url == public
        assert running(engine) == WORKERS
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # the port was left alone
    finally:
        await engine.stop()


def test_no_relay_flag_sets_relay_enabled_off(monkeypatch) -> None:
    from inbox_app.cli import _settings, build_parser

    monkeypatch.setenv("COCCINELLE_RELAY__PORT", "9911")
    settings = _settings(build_parser().parse_args(["--no-relay"]))
    assert settings.relay.enabled is False and settings.relay.port == 9911
    assert _settings(build_parser().parse_args([])).relay.enabled is True


def test_the_relay_command_on_a_taken_port_says_so_in_one_line(tmp_path, capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        url = f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
        code = main(["--language", "en", "--database-url", url, "relay", "--port", str(port)])
    out, err = capsys.readouterr()
    assert code == 2
    assert f"127.0.0.1:{port}" in err and "another program uses that port" in err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) <= 2


def _drained(queue) -> list:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
