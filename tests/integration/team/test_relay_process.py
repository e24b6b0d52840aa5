"""The README's three steps on a fresh PostgreSQL database, with the real commands: ``db
upgrade``, ``agent add``, then ``coccinelle relay`` as a process. A prospect's SMS posted by the
sandbox to that relay reaches an agent's app core (another process) through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from core.channels.registry import adapter_names
from core.config.settings import load_settings
from core.credentials import env_name
from core.domain.enums import Channel, Provider
from core.events import MessageChanged
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from providers.sandbox import start_sandbox
from tests.conftest import PG_URL
from tests.integration.team.helpers import next_event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="COCCINELLE_TEST_PG_URL is not set"),
    pytest.mark.skipif(
        "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
    ),
]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database (dropped afterwards)."""
    assert PG_URL
    name = f"coccinelle_t_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "inbox_app.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_readme_steps_and_a_relay_process_reaching_an_open_app(
    fresh_database: str, tmp_path: Path
) -> None:
    url = fresh_database
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COCCINELLE_LANGUAGE": "en",
        "COCCINELLE_DATA_DIR": str(tmp_path / "relay-data"),
    }
    assert "up to date" in await _cli(env, "--database-url", url, "db", "upgrade")
    assert "Claire" in await _cli(env, "--database-url", url, "agent", "add", "Claire")

    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    sandbox = await start_sandbox(public)
    db = await Database.open(url)
    app = await InboxService.connect(db, "demo", settings=load_settings(agent="Claire"))
    relay: asyncio.subprocess.Process | None = None
    try:
        options = {"base_url": sandbox.base_urls["twilio"], **sandbox.options["twilio_sms"]}
        await app.tenant_settings.save_channel(
            Channel.SMS, provider=Provider.TWILIO, config=options
        )
        await app.team.start()
        assert app.team.online is True
        secrets = {
            env_name("demo", Channel.SMS, name): value
            for name, value in sandbox.credentials["twilio"].items()
        }
        relay = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inbox_app.cli", "--mode", "team", "--database-url", url,
            "relay", "--port", str(port), "--public-url", public,
            env={**env, **secrets},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert relay.stdout is not None
        async with asyncio.timeout(60):
            while "listening" not in (await relay.stdout.readline()).decode():
                pass

        async with app.bus.subscribe() as events:
            box = sandbox.twilio
            box.enqueue_inbound("+33612345678", box.sms_number, "Bonjour, le T3 est libre ?")
            [posted] = await sandbox.flush()
            assert posted.status == 200, posted.error
            heard = await next_event(events, lambda e: isinstance(e, MessageChanged), timeout=60)
        async with db.session() as session:
            message = await session.get(t.MessageRow, heard.message_id)
            prospects = (await session.execute(select(t.ProspectRow))).scalars().all()
        assert message is not None and message.content == "Bonjour, le T3 est libre ?"
        assert [p.phone for p in prospects] == ["+33612345678"]

        relay.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(relay.communicate(), 60)
        assert relay.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
    finally:
        if relay is not None and relay.returncode is None:
            relay.kill()
            await relay.wait()
        await app.close()
        await sandbox.stop()
