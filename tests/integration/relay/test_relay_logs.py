"""``coccinelle relay`` as an operator runs it: a log file and stderr, both redacted, one line
per refused webhook, counters on ``/healthz``, and a channel without readable secrets refused
with 503 + Retry-After (never 500).

Every secret and every piece of the strangers' messages used here is then looked for in what
the process wrote: none may appear.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp

from core.config.settings import load_settings
from core.credentials import env_name
from core.domain.enums import Channel, Provider
from core.service import InboxService

TENANT = "agence"
BOT_TOKEN = "123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
WEBHOOK_SECRET = "tg-webhook-secret-9f8e7d6c5b4a"
PULL_TOKEN = "pull-token-3c2b1a0f9e8d"
STRANGER_TEXT = "Bonjour je cherche un T3 rue des Lilas"
STRANGER_PHONE = "0698765432"
STRANGER_NAME = "Zoé Quintrand"


def telegram_update(update_id: int, text: str) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_767_000_000,
                "chat": {"id": 5151, "type": "private", "first_name": STRANGER_NAME},
                "from": {"id": 5151, "is_bot": False, "first_name": STRANGER_NAME},
                "text": text,
            },
        }
    ).encode()


async def configure(url: str) -> None:
    settings = load_settings(database_url=url, tenant=TENANT, mode="local")
    service = await InboxService.open(settings)
    try:
        store = service.tenant_settings
        await store.save_channel(Channel.SMS, provider=Provider.TWILIO, config={})
        await store.save_channel(Channel.TELEGRAM, provider=Provider.TELEGRAM, config={})
    finally:
        await service.close()


async def test_relay_logs_are_written_redacted_and_counted(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}"
    await configure(url)
    env = {
        **os.environ,
        "COCCINELLE_DATABASE_URL": url,
        "COCCINELLE_DATA_DIR": str(tmp_path / "data"),
        "COCCINELLE_TENANT": TENANT,
        "COCCINELLE_MODE": "local",
        "COCCINELLE_RELAY_TOKEN": PULL_TOKEN,
        "COCCINELLE_LANGUAGE": "en",
        # Telegram's secrets from the environment; SMS has none and there is no keyring.
        env_name(TENANT, Channel.TELEGRAM, "bot_token"): BOT_TOKEN,
        env_name(TENANT, Channel.TELEGRAM, "webhook_secret"): WEBHOOK_SECRET,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "inbox_app.cli", "relay", "--port", "0", "--no-send",
        "--public-url", "https://relay.example.fr",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    port = int(re.search(r":(\d+) ", line).group(1))  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    bot = BOT_TOKEN.split(":")[0]
    good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    forged = {"X-Telegram-Bot-Api-Secret-Token": "guessed-" + WEBHOOK_SECRET[::-1]}
    async with aiohttp.ClientSession() as http:
        sms = f"Body={STRANGER_TEXT}&From={STRANGER_PHONE}&MessageSid=SM1".encode()
        async with http.post(f"{base}/webhooks/twilio/sms", data=sms) as response:
            assert response.status == 503
            assert int(response.headers["Retry-After"]) > 0
            assert "Traceback" not in await response.text()
        update = telegram_update(1, STRANGER_TEXT + " " + STRANGER_PHONE)
        async with http.post(f"{base}/webhooks/telegram/{bot}", data=update, headers=forged) as r:
            assert r.status in (401, 403)
        async with http.post(f"{base}/webhooks/telegram/{bot}", data=update, headers=good) as r:
            assert r.status == 200
        async with http.post(f"{base}/webhooks/telegram/{bot}", data=b"{", headers=good) as r:
            assert r.status == 400
        for _ in range(100):
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
            if health["backlog"] == 0:
                break
            await asyncio.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert health["accepted"] == 1 and health["backlog"] == 0 and health["parked"] == 0
    assert health["refused"] == {"malformed": 1, "missing_credentials": 1, "signature": 1}

    log_file = tmp_path / "data" / "logs" / "relay.log"
    written = log_file.read_text(encoding="utf-8")
    stderr = err.decode()
    for text in (written, stderr):
        refused = [x for x in text.splitlines() if "webhook refused" in x]
        assert len(refused) == 3, text
        assert any("endpoint=telegram" in x and "reason=signature" in x for x in refused)
        assert any("127.0.0.1" in x for x in refused)
        [missing] = [x for x in refused if "missing_credentials" in x]
        assert "sms channel" in missing and "auth_token" in missing
        assert "Traceback" not in text
    everything = written + stderr + out.decode() + line
    for secret in (
        BOT_TOKEN,
        BOT_TOKEN.split(":")[1],
        WEBHOOK_SECRET,
        WEBHOOK_SECRET[::-1],
        PULL_TOKEN,
        STRANGER_TEXT,
        "T3 rue des Lilas",
        STRANGER_PHONE,
        "+33698765432",
        STRANGER_NAME,
    ):
        assert secret not in everything, secret
