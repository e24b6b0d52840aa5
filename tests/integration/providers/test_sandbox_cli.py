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
