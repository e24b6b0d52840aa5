"""The relay process is SIGKILLed while webhooks arrive: nothing it answered 2xx is lost.

Every event acknowledged with a 2xx before the kill is processed after a restart, exactly once,
and provider retries after the restart change nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import func, select

from core.channels.registry import adapter_names
from core.storage import tables as t
from core.storage.database import Database, sqlite_url
from tests.conftest import PG_URL, PgSchema
from tests.relay_fakes import body, message, sign
from tests.relay_harness import PUBLIC_URL

ROOT = Path(__file__).resolve().parents[3]
PATH = "/webhooks/twilio/sms"


Start = Callable[[], Awaitable[tuple[asyncio.subprocess.Process, int]]]
Signed = Callable[[str], tuple[bytes, dict[str, str]]]


def fake_start(url: str, schema: str | None, *, ingest_process: bool = False) -> Start:
    env = {**os.environ, **({"RELAY_INGEST_PROCESS": "1"} if ingest_process else {})}

    async def start() -> tuple[asyncio.subprocess.Process, int]:
        args = [sys.executable, "-m", "tests.integration.relay.crash_relay", url]
        if schema:
            args.append(schema)
        process = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.startswith(b"PORT "), line
        return process, int(line.split()[1])

    return start


def fake_signed(key: str) -> tuple[bytes, dict[str, str]]:
    payload = body(message(key, "+33612345678", f"message {key}"))
    return payload, {"X-Fake-Signature": sign(PUBLIC_URL + PATH, payload)}


async def send(http: aiohttp.ClientSession, port: int, key: str, signed: Signed) -> int | None:
    payload, headers = signed(key)
    try:
        async with http.post(f"http://127.0.0.1:{port}{PATH}", data=payload, headers=headers) as r:
            await r.read()
            return r.status
    except (aiohttp.ClientError, OSError):
        return None


async def wait_until_ingested(db: Database) -> None:
    for _ in range(600):
        async with db.session() as session:
            pending = await session.execute(
                select(func.count())
                .select_from(t.InboundEventRow)
                .where(t.InboundEventRow.status == "pending")
            )
            if pending.scalar_one() == 0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("events still pending after the restart")


async def crash_and_recover(db: Database, start: Start, signed: Signed = fake_signed) -> None:
    answered: set[str] = set()
    process, port = await start()
    async with aiohttp.ClientSession() as http:
        keys = iter(f"SM{i:05d}" for i in range(100_000))

        async def client() -> None:
            while True:
                key = next(keys)
                code = await send(http, port, key, signed)
                if code is None:
                    return
                if code == 200:
                    answered.add(key)

        clients = [asyncio.create_task(client()) for _ in range(8)]
        while len(answered) < 150:
            await asyncio.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        await asyncio.gather(*clients)

        process, port = await start()
        try:
            await wait_until_ingested(db)
            retried = sorted(answered)[:20]  # providers retry some after the outage
            assert [await send(http, port, key, signed) for key in retried] == [200] * 20
            await wait_until_ingested(db)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()

    async with db.session() as session:
        inbound = select(t.MessageRow.provider_message_id).where(
            t.MessageRow.direction == "inbound"
        )
        ids = (await session.execute(inbound)).scalars().all()
        events = (await session.execute(select(t.InboundEventRow))).scalars().all()
        conversation = (await session.execute(select(t.ConversationRow))).scalar_one()
    assert answered <= set(ids), "an event answered 2xx was lost"
    assert len(ids) == len(set(ids)), "an event was processed twice"
    assert {e.status for e in events} == {"processed"}
    assert all(e.attempts == 1 for e in events)
    assert conversation.unread_count == len(ids)


@pytest.mark.slow
async def test_sigkill_loses_nothing_answered_on_sqlite(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "crash.db")
    db = await Database.open(url)
    try:
        await crash_and_recover(db, fake_start(url, None))
    finally:
        await db.close()


@pytest.mark.slow
@pytest.mark.postgres
async def test_sigkill_loses_nothing_answered_on_postgresql(pg_schema: PgSchema) -> None:
    assert PG_URL
    db = await pg_schema.open()
    try:
        await crash_and_recover(db, fake_start(PG_URL, pg_schema.name))
    finally:
        await db.close()


@pytest.mark.slow
async def test_sigkill_with_ingest_in_its_own_process_on_sqlite(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "crash.db")
    db = await Database.open(url)
    try:
        await crash_and_recover(db, fake_start(url, None, ingest_process=True))
    finally:
        await db.close()


@pytest.mark.slow
@pytest.mark.postgres
async def test_sigkill_with_ingest_in_its_own_process_on_postgresql(
    pg_schema: PgSchema,
) -> None:
    assert PG_URL
    db = await pg_schema.open()
    try:
        await crash_and_recover(db, fake_start(PG_URL, pg_schema.name, ingest_process=True))
    finally:
        await db.close()


@pytest.mark.slow
@pytest.mark.skipif("twilio_sms" not in adapter_names(), reason="provider adapters not installed")
async def test_sigkill_of_coccinelle_relay_with_the_twilio_adapter(tmp_path: Path) -> None:
    from twilio.request_validator import RequestValidator

    from core.domain.enums import Channel, Provider
    from core.service import InboxService

    url = sqlite_url(tmp_path / "cli.db")
    db = await Database.open(url)
    service = await InboxService.connect(db, "demo")
    await service.tenant_settings.save_channel(
        Channel.SMS, provider=Provider.TWILIO, config={"from_number": "+33700000000"}
    )
    token = "crash-test-auth-token"
    env = {
        **os.environ,
        "COCCINELLE_DATABASE_URL": url,
        "COCCINELLE_SECRET_DEMO_SMS_ACCOUNT_SID": "AC" + "0" * 32,
        "COCCINELLE_SECRET_DEMO_SMS_AUTH_TOKEN": token,
        "COCCINELLE_LANGUAGE": "en",
    }

    async def start() -> tuple[asyncio.subprocess.Process, int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inbox_app.cli", "relay", "--port", "0",
            "--public-url", PUBLIC_URL,
            cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        return process, int(line.split("127.0.0.1:")[1].split()[0])

    validator = RequestValidator(token)

    def signed(key: str) -> tuple[bytes, dict[str, str]]:
        form = {
            "MessageSid": key,
            "AccountSid": "AC" + "0" * 32,
            "From": "+33612345678",
            "To": "+33700000000",
            "Body": f"message {key}",
            "NumMedia": "0",
        }
        signature = validator.compute_signature(PUBLIC_URL + PATH, form)
        return urlencode(form).encode(), {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    try:
        await crash_and_recover(db, start, signed)
    finally:
        await db.close()
