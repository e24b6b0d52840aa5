"""``coccinelle channel list|add|set|remove|test`` round-trips, with the settings screen's checks.

``test`` talks to the sandbox's Twilio over real HTTP (the sandbox runs in a thread of its own,
the command in this one, as a person would run it against a provider).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.credentials import env_name
from core.domain.enums import Channel
from core.storage.database import sqlite_url
from inbox_app.cli import main

TENANT = "agence"


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """The provider sandbox on a loop in another thread."""
    from providers.sandbox import start_sandbox

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    box = asyncio.run_coroutine_threadsafe(start_sandbox(), loop).result(30)
    try:
        yield box
    finally:
        asyncio.run_coroutine_threadsafe(box.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def run(capsys: pytest.CaptureFixture[str], base: list[str], *args: str) -> tuple[int, str, str]:
    code = main([*base, "channel", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_channel_commands_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, sandbox
) -> None:
    base = ["--language", "en", "--mode", "local", "--tenant", TENANT]
    base += ["--database-url", sqlite_url(tmp_path / "inbox.db")]
    assert run(capsys, base, "list")[1].startswith("No channel is set up for agence")

    twilio = sandbox.base_urls["twilio"]
    code, out, _ = run(
        capsys, base, "add", "sms", "--provider", "twilio", "--from", "06 12 34 56 78",
        "--option", f"base_url={twilio}", "--option", "daily_cap=50",
    )  # fmt: skip
    assert code == 0 and "set up with twilio" in out and "credentials set sms" in out
    code, out, _ = run(capsys, base, "list")
    assert "sms" in out and "twilio" in out and " on " in out
    assert '"from_number": "+33612345678"' in out and '"daily_cap": 50' in out

    # The same refusals as the settings screen, as one clear line and exit code 2.
    for args, expected in (
        (("add", "sms", "--from", "+33700000001"), "use `coccinelle channel set`"),
        (("add", "email", "--provider", "twilio"), "expected sendgrid"),
        (("set", "sms", "--option", "auth_token=abc"), "no secret here"),
        (("set", "sms", "--from", "not a number"), "is not valid"),
        (("set", "telegram", "--disable"), "channel add"),
    ):
        code, out, err = run(capsys, base, *args)
        assert code == 2 and err.startswith("error: ") and expected in err, (args, err)
        assert "Traceback" not in err and "abc" not in err

    code, out, _ = run(
        capsys, base, "set", "sms", "--from", "+33700000001", "--unset", "daily_cap", "--disable"
    )
    assert code == 0
    out = run(capsys, base, "list")[1]
    assert " off " in out and "+33700000001" in out and "daily_cap" not in out

    # test: secrets missing, then given (environment), then wrong.
    code, _, err = run(capsys, base, "test", "sms")
    assert code == 2 and "account_sid" in err
    credentials = sandbox.credentials["twilio"]
    for name in ("account_sid", "auth_token"):
        monkeypatch.setenv(env_name(TENANT, Channel.SMS, name), credentials[name])
    code, out, err = run(capsys, base, "test", "sms")
    assert code == 0, err
    assert "works" in out
    monkeypatch.setenv(env_name(TENANT, Channel.SMS, "auth_token"), "wrong-token")
    code, out, err = run(capsys, base, "test", "sms")
    assert code == 2 and "Traceback" not in err and "wrong-token" not in err

    code, out, _ = run(capsys, base, "remove", "sms")
    assert code == 0 and "removed" in out
    assert run(capsys, base, "remove", "sms")[0] == 1
    assert run(capsys, base, "list")[1].startswith("No channel is set up")
