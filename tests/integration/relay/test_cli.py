"""``coccinelle relay`` as a process: starts, answers health, refuses unconfigured webhooks,
stops cleanly on SIGTERM, and never prints the pull token."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

from inbox_app.cli import build_parser


def test_relay_is_a_command_with_its_options() -> None:
    args = build_parser().parse_args(
        ["relay", "--host", "0.0.0.0", "--port", "9000", "--public-url", "https://r.example.fr"]
    )
    assert (args.host, args.port, args.public_url) == ("0.0.0.0", 9000, "https://r.example.fr")


async def test_relay_process_serves_and_stops(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COCCINELLE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}",
        "COCCINELLE_RELAY_TOKEN": "very-secret-pull-token",
        "COCCINELLE_LANGUAGE": "en",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "inbox_app.cli", "relay", "--port", "0",
        "--public-url", "https://relay.example.fr",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    port = int(re.search(r":(\d+) ", line).group(1))  # type: ignore[union-attr]
    assert "https://relay.example.fr" in line
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with http.post(f"{base}/webhooks/twilio/sms", data=b"MessageSid=SM1") as response:
            assert response.status == 404  # no SMS channel is set up
        auth = {"Authorization": "Bearer very-secret-pull-token"}
        async with http.get(f"{base}/events", headers=auth) as response:
            assert (await response.json())["events"] == []
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "Relay stopped." in out.decode()
    assert "very-secret-pull-token" not in (line + out.decode() + err.decode())
    assert "Traceback" not in err.decode()
    assert children_on(tmp_path) == []  # its ingest process ended with it


def children_on(tmp_path: Path) -> list[str]:
    """Command lines of running relay ingest processes on a database under ``tmp_path``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "--ingest-child" in argv and any(str(tmp_path) in arg for arg in argv):
            found.append(" ".join(argv))
    return found


async def test_relay_runs_ingest_in_a_process_of_its_own(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COCCINELLE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}",
        "COCCINELLE_LANGUAGE": "en",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "inbox_app.cli", "relay", "--port", "0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    await asyncio.wait_for(process.stdout.readline(), 60)
    for _ in range(200):
        if children_on(tmp_path):
            break
        await asyncio.sleep(0.05)
    assert len(children_on(tmp_path)) == 1
    process.kill()  # the relay dies: its child sees its input end, and ends too
    await process.wait()
    for _ in range(200):
        if not children_on(tmp_path):
            break
        await asyncio.sleep(0.05)
    assert children_on(tmp_path) == []
