"""Logging to a file in the data directory, with secrets redacted before anything is written.

The terminal belongs to the app: logs go to ``<data_dir>/logs/coccinelle.log``. Every record
passes through ``redact``, which masks what looks like a credential whatever logged it: HTTP
authorization headers, Telegram's ``/bot<token>/`` URLs, signatures, API keys and tokens in
``key=value`` or JSON form.
"""

from __future__ import annotations

import logging
import re
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

MASK = "«redacted»"

_PATTERNS = [
    # Authorization: Bearer xyz / Basic xyz (header dumps, repr of dicts)
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic)?\s*[^\s'\",}]+"),
    # Telegram bot token in URLs: /bot123456:ABC-xyz/
    re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"),
    # signature / secret / token / key / password values in key=value, key: value or JSON
    re.compile(
        r"(?i)((?:x-[a-z-]*signature[a-z0-9-]*|signature|secret(?:_token)?|token|api[_-]?key|"
        r"auth[_-]?token|password|app[_-]?secret|access[_-]?token)['\"]?\s*[:=]\s*['\"]?)"
        r"[^\s'\",&}]+"
    ),
    # SendGrid keys and Twilio auth in URLs (user:password@host)
    re.compile(r"SG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"),
]


def redact(text: str) -> str:
    """``text`` with anything that looks like a secret replaced by a mask."""
    for pattern in _PATTERNS:
        if pattern.groups >= 2 and "://" in pattern.pattern:
            text = pattern.sub(lambda m: m.group(1) + MASK + m.group(2), text)
        elif pattern.groups >= 1:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments and tracebacks) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Console(logging.StreamHandler):
    """The standard-error handler ``configure_logging`` adds (and replaces on the next call)."""


def configure_logging(
    data_dir: Path, level: int = logging.INFO, *, stderr: bool = False, name: str = "coccinelle"
) -> Path:
    """Send the program's logs to a rotating file under ``data_dir``; return its path.

    ``stderr`` also writes them to standard error (a server process: ``coccinelle relay``),
    through the same redacting formatter. Handlers set up by an earlier call are replaced.
    """
    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.log"
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, RotatingFileHandler | _Console):
            root.removeHandler(existing)
    root.addHandler(handler)
    if stderr:
        console = _Console(sys.stderr)
        console.setFormatter(RedactingFormatter(FORMAT))
        root.addHandler(console)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))  # one line per step
    logging.captureWarnings(True)
    return path
