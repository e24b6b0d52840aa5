"""Secrets never reach the log file."""

from __future__ import annotations

import logging

import pytest

from core.logs import MASK, configure_logging, redact

SECRETS = [
    ("Authorization: Bearer sk_live_abcdef123456", "sk_live_abcdef123456"),
    ("{'Authorization': 'Basic QUMxMjM6c2VjcmV0'}", "QUMxMjM6c2VjcmV0"),
    ("GET https://api.telegram.org/bot123456:AAEhBP0av28_x-yz/sendMessage", "AAEhBP0av28_x-yz"),
    ("X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=", "RSOYDt4T1cUTdK1PDd93"),
    ('{"auth_token": "9f8e7d6c5b4a"}', "9f8e7d6c5b4a"),
    ("api_key=SG.abcdefghij.klmnopqrstuv", "klmnopqrstuv"),
    ("postgresql://postgres:hunter2@db.example.fr/inbox", "hunter2"),
    ("secret_token=Zx9_long-secret", "Zx9_long-secret"),
]


@pytest.mark.parametrize(("line", "secret"), SECRETS)
def test_redact_masks_every_kind_of_secret(line, secret) -> None:
    out = redact(line)
    assert secret not in out and MASK in out


def test_plain_text_is_left_alone() -> None:
    line = "Bonjour Marie, votre rendez-vous est confirmé pour demain 15h."
    assert redact(line) == line


def test_the_log_file_never_holds_a_secret(tmp_path) -> None:
    path = configure_logging(tmp_path)
    log = logging.getLogger("coccinelle.test")
    try:
        raise RuntimeError("call failed: Authorization: Bearer topsecret999")
    except RuntimeError:
        log.exception("sending to %s", "https://api.telegram.org/bot42:TOKENabc/sendMessage")
    root = logging.getLogger()
    for handler in list(root.handlers):
        handler.flush()
        if getattr(handler, "baseFilename", None) == str(path):
            root.removeHandler(handler)
            handler.close()
    text = path.read_text(encoding="utf-8")
    assert "topsecret999" not in text and "TOKENabc" not in text
    assert "sending to" in text
