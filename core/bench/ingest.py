"""Relay ingest under load: signed Twilio SMS webhooks posted on loopback to ``coccinelle relay``
(SQLite, each event committed before its 2xx), against a bare aiohttp handler that answers 200
without storing (the reference), with the same load generator.

The relay runs on a copy of the dataset, so the reused dataset is left as generated; afterwards
the stored events are counted: every 2xx must have its row.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from core.bench.context import BenchContext, Unavailable
from core.bench.load import LoadResult, post_load, sid_of, twilio_sms
from core.bench.results import Result, Summary, Target
from core.credentials import env_name
from core.domain.enums import Channel
from core.storage.database import Database, sqlite_url

PATH = "/webhooks/twilio/sms"
PUBLIC_URL = "https://relay.bench.invalid"
CONNECTIONS = 64
AUTH_TOKEN = "bench-auth-token-not-a-secret"
BARE_SERVER = """
import asyncio
from aiohttp import web


async def ok(request):
    await request.read()
    return web.Response(text="ok")


async def main():
    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}/", flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
"""
SID = re.compile(r"SM\d{32}")


def _port_of(process: subprocess.Popen[str]) -> int:
    """The port announced on the server's first line of output ("…127.0.0.1:PORT…")."""
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"127\.0\.0\.1:(\d+)", line)
    if found is None:
        process.kill()
        raise RuntimeError(f"the server did not start: {line.strip()!r}")
    return int(found.group(1))


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _configure_sms(path: Path, tenant: str) -> None:
    from core.domain.enums import Provider
    from core.service import InboxService

    db = await Database.open(sqlite_url(path))
    try:
        service = await InboxService.connect(db, tenant)
        await service.tenant_settings.save_channel(
            Channel.SMS, provider=Provider.TWILIO, config={"from_number": "+33700000000"}
        )
    finally:
        await db.close()


def _stored_sids(path: Path, run: str) -> set[str]:
    """MessageSids of this run found in the relay's durable event log."""
    with closing(sqlite3.connect(path)) as con:
        keys = con.execute(
            "SELECT dedupe_key FROM inbound_events WHERE dedupe_key LIKE ?", (f"%SM{run}%",)
        ).fetchall()
    return {found.group(0) for (key,) in keys if (found := SID.search(key))}


async def _relay_load(
    ctx: BenchContext, workdir: Path, options: list[str]
) -> tuple[LoadResult, set[str], str]:
    copy = workdir / "ingest.db"
    shutil.copyfile(ctx.dataset.path, copy)
    await _configure_sms(copy, ctx.dataset.tenant)
    env = {
        **os.environ,
        "COCCINELLE_DATABASE_URL": sqlite_url(copy),
        "COCCINELLE_TENANT": ctx.dataset.tenant,
        "COCCINELLE_MODE": "local",
        "COCCINELLE_LANGUAGE": "en",
        env_name(ctx.dataset.tenant, Channel.SMS, "account_sid"): "AC" + "0" * 32,
        env_name(ctx.dataset.tenant, Channel.SMS, "auth_token"): AUTH_TOKEN,
    }
    argv = [sys.executable, "-m", "inbox_app.cli", "relay", "--host", "127.0.0.1"]
    # --no-send: the bench measures receiving; Sara's replies must not go to a real provider.
    argv += ["--port", "0", "--public-url", PUBLIC_URL, "--no-send", *options]
    process = subprocess.Popen(
        argv, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    run = f"{int(time.time() * 10) % 100_000:05d}"
    try:
        port = _port_of(process)
        load = await post_load(
            f"http://127.0.0.1:{port}{PATH}",
            twilio_sms(AUTH_TOKEN, PUBLIC_URL + PATH, run),
            connections=CONNECTIONS,
            duration=ctx.duration,
        )
    finally:
        _stop(process)
    stored = _stored_sids(copy, run)
    copy.unlink()
    return load, stored, run


async def _bare_load(ctx: BenchContext) -> LoadResult:
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        port = _port_of(process)
        return await post_load(
            f"http://127.0.0.1:{port}{PATH}",
            twilio_sms(AUTH_TOKEN, PUBLIC_URL + PATH, "00000"),
            connections=CONNECTIONS,
            duration=ctx.duration,
        )
    finally:
        _stop(process)


def _as_summary(load: LoadResult) -> Summary:
    """The sustained rate (one number: the whole run's)."""
    return Summary(load.rate, load.rate, load.rate, 1)


#: The relay as shipped (its ingest worker turning events into messages in the same process),
#: and the relay storing only (``--no-ingest``), which isolates the "durable before 2xx" path.
VARIANTS = {"ingest.relay": [], "ingest.relay_store_only": ["--no-ingest"]}


async def measure(ctx: BenchContext) -> list[Result]:
    """Sustain ``ctx.duration`` seconds of load on the bare handler, then on each relay variant."""
    if importlib.util.find_spec("core.relay") is None:
        raise Unavailable("core.relay is not in this build")
    bare = await _bare_load(ctx)
    results = []
    workdir = ctx.dataset.path.parent / "ingest"
    workdir.mkdir(exist_ok=True)
    try:
        for name, options in VARIANTS.items():
            relay, stored, run = await _relay_load(ctx, workdir, options)
            results += _rows(name, relay, stored, run, bare)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def _rows(
    name: str, relay: LoadResult, stored: set[str], run: str, bare: LoadResult
) -> list[Result]:
    answered = {sid_of(run, number) for number in relay.ok_numbers}
    details = {
        "answered_2xx": relay.ok,
        "failed": relay.failed,
        "stored": len(stored),
        "lost": len(answered - stored),
        "connections": CONNECTIONS,
        "seconds": round(relay.elapsed, 1),
    }
    latency = Summary.of(relay.latencies_ms or [0.0])
    bare_latency = Summary.of(bare.latencies_ms or [0.0])
    return [
        Result(
            f"{name}_rate", "/s", _as_summary(relay), "median", "ingest.reference_rate",
            _as_summary(bare), Target("median", 2_000, at_least=True), details,
        ),
        Result(
            f"{name}_latency", "ms", latency, "p99", "ingest.reference_latency",
            bare_latency, Target("p99", 50), {"under_load": True},
        ),
    ]  # fmt: skip
