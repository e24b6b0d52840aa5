"""What the app's start does and does not do before its first page is on screen (issue 18)."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from core import i18n
from core.service import InboxService
from inbox_app import app as app_module
from inbox_app import cli, commands
from inbox_app.app import InboxApp
from tests.tui.helpers import settle_until

ROOT = Path(__file__).resolve().parents[2]

#: Imported when first used, never by opening the app: what they cost is not start-up.
DEFERRED = (
    "phonenumbers",  # contact validation loads its metadata on the first number
    "alembic",  # only when the database is not at the newest revision
    "keyring",
    "sqlalchemy.dialects.postgresql",  # only with a PostgreSQL database (and its drivers)
    "core.engine",  # the relay, the outbox, the reminders start after the first paint
    "core.relay",
    "core.demo",
    "core.orchestrator.decide",  # the held messages need the quiet hours, not the router
    "core.service.abtests",
    "core.service.campaigns",
    "core.service.analytics",
    "core.service.templates",
    "core.booking.service",
    "inbox_app.screens.conversation",
    "core.html_text",  # html.parser: an HTML email's text, not the inbox list
)
#: Not imported by the time the inbox's first page is painted either (a demo start on seeded
#: data; the engine's module opens the service and the demo names its agent: the engine itself
#: starts after the paint, the seeder runs only for an empty database).
DEFERRED_AT_FIRST_PAINT = (
    *(m for m in DEFERRED if m not in ("core.engine", "core.demo")),
    "core.demo.seeder",
    "inbox_app.widgets.conversation.timeline",  # threads read ahead do not need the screen
    "core.service.attachments",
    "httpx",  # media downloads, provider SDKs
)


def _in_fresh_interpreter(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_opening_the_app_module_leaves_the_deferred_parts_unimported() -> None:
    loaded = _in_fresh_interpreter(
        "import sys, inbox_app.cli, inbox_app.launch, inbox_app.app\n"
        f"print(','.join(m for m in {DEFERRED!r} if m in sys.modules))"
    )
    assert loaded == ""


def test_domain_models_build_their_validators_on_first_use() -> None:
    """Pydantic builds a model's schema when it is first used, not when its module loads: the
    first screen uses a few of the models, the start does not pay for the others."""
    built = _in_fresh_interpreter(
        "import inbox_app.app\n"
        "from core.domain import decision, models\n"
        "from core.team.audit import AuditEntry\n"
        "print([m.__name__ for m in (models.Message, models.Conversation, models.ProspectDraft,"
        " decision.Decision, AuditEntry) if m.__pydantic_complete__])"
    )
    assert built == "[]"


def test_a_message_reads_only_its_own_catalog(monkeypatch) -> None:
    read: list[str] = []
    real_load = tomllib.load

    def load(handle):  # type: ignore[no-untyped-def]
        read.append(Path(handle.name).name)
        return real_load(handle)

    monkeypatch.setattr(i18n.tomllib, "load", load)
    i18n._area.cache_clear()
    try:
        assert i18n.message_in("fr", "ui.key.help", {}) != "ui.key.help"
        assert read == ["ui.toml"]
        assert i18n.message_in("fr", "ui.key.quit", {}) != "ui.key.quit"
        assert read == ["ui.toml"]  # read once
    finally:
        i18n._area.cache_clear()


def test_the_collector_is_held_while_the_commands_load(monkeypatch) -> None:
    seen: dict[str, bool] = {}
    real_modules = commands.modules

    def handler(args: object, settings: object) -> int:
        seen["handler"] = gc.isenabled()
        return 0

    class Probe:
        """A sub-command whose handler records the collector's state."""

        @staticmethod
        def register(subparsers) -> None:  # type: ignore[no-untyped-def]
            subparsers.add_parser("probe").set_defaults(handler=handler)

    def modules() -> list[object]:
        seen["loading"] = gc.isenabled()
        return [*real_modules(), Probe]

    monkeypatch.setattr(commands, "modules", modules)
    assert gc.isenabled()
    assert cli.main(["--language", "en", "probe"]) == 0
    assert seen == {"loading": False, "handler": True}
    assert gc.isenabled()


@pytest.mark.parametrize(
    "argv",
    [[], ["--language", "en", "--no-relay"], ["--mode=local", "--tenant", "db"], ["--no-r"]],
)
def test_opening_the_inbox_leaves_the_sub_commands_alone(monkeypatch, argv) -> None:
    """The command line that opens the inbox neither imports the sub-commands' modules nor
    builds their parsers; a sub-command word is still read as one."""
    opened: list[object] = []

    def modules() -> list[object]:
        raise AssertionError("the sub-commands were loaded to open the inbox")

    def run_app(settings: object) -> int:
        opened.append(settings)
        return 0

    monkeypatch.setattr(commands, "modules", modules)
    monkeypatch.setattr("inbox_app.launch.run_app", run_app)
    monkeypatch.setattr(cli, "_settings", lambda args: args)
    assert cli.main(argv) == 0
    [args] = opened
    assert args.handler is None  # type: ignore[attr-defined]
    if "db" in argv:
        assert args.tenant == "db"  # type: ignore[attr-defined]


@pytest.mark.parametrize("argv", [["db"], ["--help"], ["--mode", "nowhere"], ["--unknown"]])
def test_anything_else_goes_to_the_full_parser(monkeypatch, argv) -> None:
    built: list[bool] = []
    real_build = cli.build_parser

    def build_parser():  # type: ignore[no-untyped-def]
        built.append(True)
        return real_build()

    monkeypatch.setattr(cli, "build_parser", build_parser)
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert built == [True]


def test_the_collector_comes_back_when_the_arguments_are_refused() -> None:
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        cli.main(["--mode", "nowhere"])
    assert gc.isenabled()


def _demo_start(data_dir: Path, stamp: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a demo start on ``data_dir`` that exits after its first paint."""
    env = {
        **os.environ,
        "COCCINELLE_EXIT_AFTER_FIRST_PAINT": "1",
        "COCCINELLE_FIRST_PAINT_STAMP": str(stamp),
        "COCCINELLE_DATA_DIR": str(data_dir),
        "COCCINELLE_MODE": "demo",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done


OPEN_THE_INBOX = "import sys\nfrom inbox_app import cli\nsys.exit(cli.main(['--no-relay']))\n"


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose demo database is seeded (by a first start, as a user's)."""
    data = tmp_path_factory.mktemp("demo")
    _demo_start(data / "data", data / "painted", OPEN_THE_INBOX)
    return data / "data"


def test_the_first_paint_is_stamped_before_the_app_quits(demo_data: Path, tmp_path) -> None:
    """With ``COCCINELLE_FIRST_PAINT_STAMP``, the headless first-paint run writes when it was
    painted: a bench stops its clock there, not at the exit."""
    stamp = tmp_path / "painted"
    started = time.time_ns()
    _demo_start(demo_data, stamp, OPEN_THE_INBOX)
    ended = time.time_ns()
    painted = int(stamp.read_text(encoding="ascii"))
    assert started < painted < ended


def test_the_first_paint_leaves_the_deferred_parts_unimported(demo_data: Path, tmp_path) -> None:
    """What the inbox's first page does not show is not imported by the time it is painted
    (what the app does from its first frame to the stamp counts as start-up in the bench)."""
    code = (
        "import sys\n"
        "from inbox_app import launch\n"
        "stamp = launch.stamp_first_paint\n"
        "def stamped(path):\n"
        f"    loaded = [m for m in {DEFERRED_AT_FIRST_PAINT!r} if m in sys.modules]\n"
        "    print('loaded at the first paint:', ','.join(loaded))\n"
        "    stamp(path)\n"
        "launch.stamp_first_paint = stamped\n"
    ) + OPEN_THE_INBOX
    done = _demo_start(demo_data, tmp_path / "painted", code)
    assert done.stdout.strip() == "loaded at the first paint:"


def test_a_seeded_demo_opens_without_loading_the_seeder(tmp_path) -> None:
    """The first demo start seeds the database; the next ones only check that a tenant exists,
    without importing the seeder, its stories and phonenumbers."""
    opened = (
        "import asyncio, sys\n"
        "from core.config.settings import load_settings\n"
        "from core.engine import open_service\n"
        "async def main():\n"
        "    service = await open_service(load_settings(mode='demo'))\n"
        "    agent = service.ctx.agent_id\n"
        "    await service.close()\n"
        "    return agent\n"
        "agent = asyncio.run(main())\n"
        "loaded = [m for m in ('core.demo.seeder', 'phonenumbers') if m in sys.modules]\n"
        "print(agent is not None, ','.join(loaded))\n"
    )
    env = {**os.environ, "COCCINELLE_DATA_DIR": str(tmp_path / "data")}

    def start() -> str:
        done = subprocess.run(
            [sys.executable, "-c", opened],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert start() == "True core.demo.seeder,phonenumbers"  # the first start seeds
    assert start() == "True"  # the second is the demo's own agent, on the seeded data


async def test_the_engine_and_the_parked_check_start_after_the_first_page(
    service: InboxService, ids: dict[str, int], monkeypatch
) -> None:
    """Started while the inbox reads and paints its first page, the engine (the relay, the
    sandbox, the workers) delayed that paint; it starts once the page is on screen."""
    started: dict[str, bool] = {}

    def start_engine(self: InboxApp) -> None:
        started["engine"] = self.first_paint.is_set()

    def check_parked_events(self: InboxApp) -> None:
        started.setdefault("parked", self.first_paint.is_set())

    monkeypatch.setattr(InboxApp, "start_engine", start_engine)
    monkeypatch.setattr(InboxApp, "check_parked_events", check_parked_events)
    app = InboxApp(service, clock=service.ctx.clock, engine=True)
    async with app.run_test() as pilot:
        await settle_until(pilot, lambda: len(started) == 2)
        assert app.first_paint.is_set()
    assert started == {"engine": True, "parked": True}


async def test_the_conversation_screen_loads_a_moment_after_the_first_page(
    service: InboxService, ids: dict[str, int], monkeypatch
) -> None:
    """Its module is not imported before the first paint (above), nor left to the first Enter."""
    imported: list[bool] = []
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        if name == app_module.READER_MODULE:
            imported.append(app.first_paint.is_set())
        return real_import(name, package)

    monkeypatch.setattr(app_module.importlib, "import_module", import_module)
    monkeypatch.setattr(app_module, "READER_IMPORT_DELAY", 0.01)
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test() as pilot:
        await settle_until(pilot, lambda: bool(imported))
    assert imported == [True]


async def test_the_app_reads_its_sqlite_file_through_a_memory_map(tmp_path: Path) -> None:
    """The interactive app's connections map the file (``Database.open(mapped=True)``): a
    search's page reads hop between many pages of the messages table."""
    from sqlalchemy import text

    from core.config.settings import Settings
    from core.storage.database import MMAP_BYTES, Database, sqlite_url

    path = tmp_path / "inbox.db"
    await (await Database.open(sqlite_url(path))).close()
    app = InboxApp(settings=Settings(database_url=sqlite_url(path), language="en"), live=False)
    async with app.run_test() as pilot:
        await settle_until(pilot, lambda: app.service is not None)
        assert app.service is not None
        async with app.service.ctx.db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA mmap_size"))).scalar() == MMAP_BYTES
