"""``coccinelle sandbox`` runs alone, prints its base URLs and answers on them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx

from providers.sandbox.core import CREDENTIALS


def test_sandbox_command_serves_until_interrupted():
    env = {**os.environ, "COCCINELLE_LANGUAGE": "en"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from inbox_app.cli import main; sys.exit(main())",
            "sandbox",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        urls = {}
        assert process.stdout is not None
        for line in process.stdout:
            match = re.match(r"\s+(\w+): (http://127\.0\.0\.1:\d+/\w+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
            if "Ctrl-C" in line:
                break
        assert set(urls) == {"twilio", "sendgrid", "telegram", "meta", "vapi"}
        token = CREDENTIALS["telegram"]["bot_token"]
        answer = httpx.post(f"{urls['telegram']}/bot{token}/getMe", timeout=5)
        assert answer.json()["ok"] is True
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _run(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COCCINELLE_LANGUAGE": "en"}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from inbox_app.cli import main; sys.exit(main())",
         "sandbox", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_sandbox_command_injects_failures_and_prints_the_event_key():
    process = _run("--fail", "rate_limit:sms", "--webhook-target", "twilio=http://127.0.0.1:9/x")
    try:
        lines, urls = [], {}
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = re.match(r"\s+(\w+): (http://127\.0\.0\.1:\d+/\w+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        key = re.search(r"public key \(event_public_key\): (\S+)", text)
        assert key and len(key.group(1)) > 80  # base64 DER of a P-256 key
        assert "Webhooks of twilio go to: http://127.0.0.1:9/x" in text
        assert "Injecting rate_limit on sms at rate 1.0" in text
        creds = CREDENTIALS["twilio"]
        answer = httpx.post(
            f"{urls['twilio']}/2010-04-01/Accounts/{creds['account_sid']}/Messages.json",
            data={"To": "+33612000001", "From": "+33700000001", "Body": "x"},
            auth=(creds["account_sid"], creds["auth_token"]),
            timeout=5,
        )
        assert answer.status_code == 429 and answer.json()["code"] == 20429
        assert answer.headers["Retry-After"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sandbox_command_refuses_an_unknown_failure():
    process = _run("--fail", "meteor:sms")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2 and "unknown failure 'meteor'" in out


def test_sandbox_help_describes_every_failure_kind():
    from core.i18n import t
    from providers.sandbox.failures import FAILURES

    for language_help in (t("sandbox.epilog"),):
        assert all(kind in language_help for kind in FAILURES)
