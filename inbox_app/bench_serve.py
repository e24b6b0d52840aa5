"""Memory per browser session of ``coccinelle serve``, and the sessions one machine holds.

``coccinelle serve`` runs as users run it (its own process, on a copy of the bench dataset,
one agent added), prints one-time sign-in links (``--link``), and the bench opens one browser
session per link through the real sign-in path with an aiohttp client: the link's page, its
form, the session cookie, then the app's websocket, which starts that session's own app
process. Once every app has painted and gone quiet, each app process's peak resident memory
(``VmHWM``) is read, and the server's. The reference, in the same run, is a minimal Textual app
(``startup``'s 50-row table). Sessions per machine = MemAvailable / the median session's memory
(the server's own memory is paid once, so it is left out of the division and reported apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.bench.context import BenchContext
from core.bench.results import Result, Summary
from core.bench.startup import MINIMAL_APP, _run, vm_hwm_kb

AGENT = "Bench Agent"
#: An app has painted when its websocket has been quiet this long after it drew its title.
MARK = b"Coccinelle"
QUIET_SECONDS = 2.0
#: The machine may be busy: each step may take this long.
STEP_SECONDS = 120.0
SIZE = {"width": "160", "height": "48"}


def mem_available_mb() -> float:
    """The machine's ``MemAvailable`` (``/proc/meminfo``), in megabytes."""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _copy_dataset(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


async def _add_agent(url: str, tenant: str) -> None:
    from core.service import InboxService
    from core.storage.database import Database

    db = await Database.open(url)
    try:
        service = await InboxService.connect(db, tenant)
        if await service.agents.by_name(AGENT) is None:
            await service.agents.add(AGENT)
    finally:
        await db.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _read_line(stream: asyncio.StreamReader) -> str:
    line = await asyncio.wait_for(stream.readline(), STEP_SECONDS)
    if not line:
        raise RuntimeError("coccinelle serve ended before it was ready")
    return line.decode(errors="replace").strip()


async def _open_session(base: str, link: str) -> tuple[Any, Any]:
    """Sign in with ``link`` and open the app's websocket; (client session, websocket) once
    the app has painted and gone quiet."""
    import aiohttp

    origin = {"Origin": base}
    # unsafe: keep the cookies of an IP address (the loopback server)
    client = aiohttp.ClientSession(headers=origin, cookie_jar=aiohttp.CookieJar(unsafe=True))
    token = link.split("token=", 1)[1]
    page = await client.get(link)
    page.raise_for_status()
    signed = await client.post(base + "/link", data={"form_token": token}, allow_redirects=False)
    if signed.status != 303:
        await client.close()
        raise RuntimeError(f"sign-in with a link refused: HTTP {signed.status}")
    socket = await client.ws_connect(base.replace("http", "ws", 1) + "/ws", params=SIZE)
    received = b""
    deadline = time.monotonic() + STEP_SECONDS
    while time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(socket.receive(), QUIET_SECONDS)
        except TimeoutError:
            if MARK in received:
                return client, socket
            continue
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            await client.close()
            raise RuntimeError("the app process ended before painting")
        if message.type == aiohttp.WSMsgType.BINARY:
            received = (received + message.data)[-1_000_000:]
    await client.close()
    raise RuntimeError(f"no quiet painted app within {STEP_SECONDS:.0f} s")


async def measure(ctx: BenchContext) -> list[Result]:
    """Open ``ctx.runs`` browser sessions on one ``coccinelle serve``; read their memory."""
    sessions = ctx.runs
    reference = [_run([sys.executable, "-c", MINIMAL_APP])[1] for _ in range(sessions)]
    with tempfile.TemporaryDirectory(prefix="coccinelle-bench-serve-") as folder:
        work = Path(folder)
        database = work / "serve.db"
        _copy_dataset(ctx.dataset.path, database)
        url = f"sqlite+aiosqlite:///{database}"
        await _add_agent(url, ctx.dataset.tenant)
        config = work / "config.toml"
        config.write_text("[relay]\nenabled = false\n")
        port = _free_port()
        env = {
            **os.environ,
            "COCCINELLE_CONFIG_FILE": str(config),
            "COCCINELLE_DATA_DIR": str(work / "data"),
            "COCCINELLE_DATABASE_URL": url,
            "COCCINELLE_TENANT": ctx.dataset.tenant,
            "COCCINELLE_MODE": "local",
            "COCCINELLE_LANGUAGE": "en",
        }
        argv = ["-m", "inbox_app.cli", "serve", "--port", str(port)]
        argv += ["--max-sessions", str(sessions + 1)]
        for _ in range(sessions):
            argv += ["--link", AGENT]
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert server.stdout is not None
        opened: list[tuple[Any, Any]] = []
        try:
            links: list[str] = []
            while len(links) < sessions:  # "serving on …", then one line per link
                line = await _read_line(server.stdout)
                if "/link?token=" in line:
                    links.append(line[line.index("http") :])
            base = f"http://127.0.0.1:{port}"
            for link in links:  # one after the other: the machine is shared
                opened.append(await _open_session(base, link))
            apps = children(server.pid)
            if len(apps) != sessions:
                raise RuntimeError(f"{len(apps)} app processes for {sessions} sessions")
            per_session = [vm_hwm_kb(pid) / 1024 for pid in apps]
            server_mb = vm_hwm_kb(server.pid) / 1024
        finally:
            for client, socket in opened:
                await socket.close()
                await client.close()
            with contextlib.suppress(ProcessLookupError):
                server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 30)
            except TimeoutError:
                server.kill()
                await server.wait()
    session = Summary.of(per_session)
    available = mem_available_mb()
    fit = float(math.floor(available / session.median))
    return [
        Result("serve.minimal_app_memory", "MB", Summary.of(reference)),
        Result(
            "serve.session_memory",
            "MB",
            session,
            "median",
            "serve.minimal_app_memory",
            Summary.of(reference),
            details={"sessions": sessions, "per_session_mb": [round(m, 1) for m in per_session]},
        ),
        Result("serve.server_memory", "MB", Summary.of([server_mb])),
        Result(
            "serve.sessions_per_machine",
            "n",
            Summary.of([fit]),
            "value",
            details={"mem_available_mb": round(available), "per_session_mb": session.median},
        ),
    ]
