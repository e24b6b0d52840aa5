"""Team mode in the app on a real shared PostgreSQL database: two agents' services, the real
live link (LISTEN/NOTIFY) and presence, a listener killed, the server going away mid-action.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.config.settings import Settings
from core.service import InboxService
from core.storage.database import Database
from inbox_app.app import InboxApp
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.widgets.team.presence_line import PresenceLine
from tests.integration.team.helpers import open_core, until
from tests.tui.helpers import settle, static_text
from tests.tui.scenario import build, fixed_now

pytestmark = pytest.mark.postgres


async def eventually(pilot, check: Callable[[], bool], tries: int = 200) -> None:
    """Let the app run until ``check()`` holds (events cross processes through the server)."""
    for _ in range(tries):
        await pilot.pause(0.05)
        if check():
            return
    raise AssertionError("the app never showed it")


@pytest.fixture
async def team(pg_schema) -> AsyncIterator[tuple[InboxService, InboxService, dict[str, int]]]:
    """Claire's and Marc's services on one schema holding the scenario."""
    first = await open_core(pg_schema)
    ids = await build(first)
    for name in ("Claire", "Marc"):
        ids[name] = (await first.agents.add(name)).id
    await first.close()
    claire = await open_core(pg_schema, "Claire")
    marc = await open_core(pg_schema, "Marc")
    try:
        yield claire, marc, ids
    finally:
        await marc.close()
        await claire.close()


def team_app(service: InboxService) -> InboxApp:
    return InboxApp(service, Settings(mode="team", agent="Claire"), clock=fixed_now)


async def test_two_agents_see_each_other_and_assignments_live(team) -> None:
    claire, marc, ids = team
    conversation = ids["marie_sms"]
    app = team_app(claire)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(conversation))
        await settle(pilot)
        line = app.screen.query_one(PresenceLine)
        assert not line.has_class("-others")
        await until(lambda: marc.team.presence.others_in(conversation) == ["Claire"])

        await marc.team.presence.viewing(conversation)
        await eventually(pilot, lambda: line.has_class("-others"))
        assert str(line.render()) == "Also here: Marc"

        await marc.conversations.assign(conversation, ids["Marc"])  # Marc takes it
        await eventually(pilot, lambda: static_text(app, "#title").endswith("· Marc · Paris time"))

        await pilot.press("A")  # Claire takes it back
        await settle(pilot)
        assert static_text(app, "#title").endswith("· Claire · Paris time")
        await until(lambda: marc.team.presence.others_in(conversation) == ["Claire"])

        await marc.team.presence.viewing(None)
        await eventually(pilot, lambda: not line.has_class("-others"))
        await pilot.press("q")
        await settle(pilot)
        await until(lambda: marc.team.presence.others_in(conversation) == [])
    trail = await marc.audit.recent(5, ("conversation", conversation))
    assert [(e.agent_name, e.details["to"]) for e in trail if e.action == "assign"][:2] == [
        ("Claire", ids["Claire"]),
        ("Marc", ids["Marc"]),
    ]


async def test_a_killed_live_link_shows_reconnecting_then_reloads(team, pg_schema) -> None:
    claire, marc, _ids = team
    app = team_app(claire)
    states: list[bool] = []
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.watch(app, "link_online", lambda online: states.append(online), init=False)
        pid = claire.team.bridge._connection.get_server_pid()
        async with marc.db.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await eventually(pilot, lambda: states[-2:] == [False, True])
        assert app.link_online
        assert any("back" in n.message for n in app._notifications)


class _Proxy:
    """A TCP relay in front of the PostgreSQL server, that the test can pull out."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The server "goes away": connections cut, new ones refused."""
        assert self.server is not None
        self.server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


async def test_the_server_going_away_mid_action_is_a_notice(team, pg_schema) -> None:
    _claire, _marc, ids = team
    url = make_url(pg_schema.base_url)
    proxy = _Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    db = await Database.open(through, **pg_schema.engine_options)
    service = await InboxService.connect(db, "acme", settings=Settings(agent="Claire"))
    app = InboxApp(service, Settings(mode="team", agent="Claire"), clock=fixed_now)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            app.push_screen(ConversationScreen(ids["jean_email"]))
            await settle(pilot)
            title = static_text(app, "#title")
            await proxy.stop()
            await pilot.press("x")
            await settle(pilot)
            assert isinstance(app.screen, ConversationScreen)
            assert static_text(app, "#title") == title
            errors = [n.message for n in app._notifications if n.severity == "error"]
            assert errors and f"127.0.0.1:{proxy.port}" in errors[-1], errors
            assert "Traceback" not in errors[-1]

            await proxy.start()  # the server is back, on the same address
            await pilot.press("x")
            await settle(pilot)
            assert "Closed" in static_text(app, "#title")
    finally:
        await db.close()
        if proxy.server is not None:
            proxy.server.close()
