"""Parsing a 20 MB Inbound Parse mail (SendGrid's multipart POST) as the relay does, against
python-multipart's parser run bare over the same bytes."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from python_multipart.multipart import MultipartParser

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target
from core.channels.adapter import WebhookRequest
from core.channels.multipart import prepare_form

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

BOUNDARY = "xYzZYbench"
MAIL_BYTES = 20_000_000
ATTACHMENTS = 4


def mail(size: int = MAIL_BYTES, attachments: int = ATTACHMENTS) -> bytes:
    """An Inbound Parse body of about ``size`` bytes: text fields and ``attachments`` files."""
    fields = {
        "from": b"Prospect <prospect@example.org>",
        "to": b"agency@example.com",
        "subject": b"Documents for the visit",
        "text": "Bonjour, voici les pièces demandées.\r\n".encode() * 200,
        "headers": b"Message-ID: <bench@example.org>\r\nFrom: prospect@example.org\r\n",
        "charsets": b'{"text": "utf-8", "subject": "utf-8", "from": "utf-8"}',
    }
    out = bytearray()
    for name, value in fields.items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    each = max(1, (size - len(out)) // attachments)
    for index in range(1, attachments + 1):
        disposition = f'form-data; name="attachment{index}"; filename="scan{index}.pdf"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += b"Content-Type: application/pdf\r\n\r\n" + os.urandom(each) + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


def bare_parse(body: bytes) -> int:
    """python-multipart over ``body`` in one write, keeping each part's bytes; the part count."""
    chunks: list[bytes] = []
    parts: list[bytes] = []

    def end() -> None:
        parts.append(b"".join(chunks))
        chunks.clear()

    callbacks: MultipartCallbacks = {
        "on_part_data": lambda d, s, e: chunks.append(d[s:e]),
        "on_part_end": end,
    }
    parser = MultipartParser(BOUNDARY, callbacks)
    parser.write(body)
    parser.finalize()
    return len(parts)


async def _ours(body: bytes) -> int:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    request = WebhookRequest("POST", "https://relay.invalid/inbound", headers, body)
    await prepare_form(request, MAIL_BYTES * 2)
    return len(request.parsed["multipart"])


async def _samples(runs: int, call: Callable[[], object]) -> Summary:
    await asyncio.to_thread(call)  # warm-up (imports, allocator)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await asyncio.to_thread(call)
        samples.append((time.perf_counter() - start) * 1000)
    return Summary.of(samples)


async def measure(ctx: BenchContext) -> list[Result]:
    """The bare parser's time, then the relay's parse of the same 20 MB mail."""
    body = mail()
    runs = max(ctx.runs, 5)
    bare = await _samples(runs, lambda: bare_parse(body))
    ours = []
    await _ours(body)
    for _ in range(runs):
        start = time.perf_counter()
        await _ours(body)
        ours.append((time.perf_counter() - start) * 1000)
    details = {"bytes": len(body), "attachments": ATTACHMENTS}
    return [
        Result("inbound_mail.reference", "ms", bare, "median", details=details),
        Result(
            "inbound_mail.parse",
            "ms",
            Summary.of(ours),
            "median",
            "inbound_mail.reference",
            bare,
            Target("median", 50.0),
            details,
        ),
    ]
