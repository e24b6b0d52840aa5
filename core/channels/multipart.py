"""``multipart/form-data`` bodies (SendGrid Inbound Parse), parsed once per request.

The body is streamed through python-multipart's parser; the parts are kept on the
``WebhookRequest`` (``parsed[FORM_KEY]``) so that verification, dedupe keys and parsing read the
same parse. The relay parses a large body in a worker thread so that a 30 MB mail never holds
the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import quopri
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from core.channels.adapter import WebhookRequest
from core.channels.errors import MalformedWebhook

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

#: Where the parsed parts are kept on ``WebhookRequest.parsed``.
FORM_KEY = "multipart"
#: Bodies larger than this are parsed in a worker thread by ``prepare_form``.
THREAD_THRESHOLD_BYTES = 1_000_000
#: Bytes handed to the parser per write (bounds the copies the parser makes).
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class FormPart:
    """One part of the form: its field name, decoded bytes and declared type."""

    name: str
    data: bytes
    filename: str | None
    content_type: str
    charset: str | None


def is_form(content_type: str | None) -> bool:
    """True for a ``multipart/form-data`` content type."""
    return (content_type or "").partition(";")[0].strip().lower() == "multipart/form-data"


def boundary_of(content_type: str) -> bytes:
    """The boundary declared by a ``multipart/form-data`` content type.

    Raises:
        MalformedWebhook: not a form, or no boundary.
    """
    if not is_form(content_type):
        raise MalformedWebhook("content-type: expected multipart/form-data")
    head = Message()
    head["Content-Type"] = content_type
    boundary = head.get_boundary()
    if not boundary:
        raise MalformedWebhook("multipart body without a boundary")
    try:
        return boundary.encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedWebhook("multipart boundary is not latin-1") from None


class _Collector:
    """python-multipart callbacks gathering each part's headers and bytes."""

    def __init__(self) -> None:
        self.parts: list[FormPart] = []
        self.ended = False
        self._headers: list[tuple[str, str]] = []
        self._field = bytearray()
        self._value = bytearray()
        self._data: list[bytes] = []

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": lambda d, s, e: self._data.append(d[s:e]),
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._headers, self._data = [], []

    def _header_end(self) -> None:
        name = self._field.decode("latin-1").strip()
        self._headers.append((name, self._value.decode("utf-8", "replace").strip()))
        self._field.clear()
        self._value.clear()

    def _part_end(self) -> None:
        part = _part(self._headers, b"".join(self._data))
        if part is not None:
            self.parts.append(part)
        self._data = []

    def _end(self) -> None:
        self.ended = True


def _part(headers: list[tuple[str, str]], raw: bytes) -> FormPart | None:
    head = Message()
    for header, value in headers:
        head[header] = value
    name = head.get_param("name", header="content-disposition")
    if not isinstance(name, str):
        return None
    return FormPart(
        name=name,
        data=_decoded(raw, str(head.get("content-transfer-encoding", "")).strip().lower()),
        filename=head.get_filename(),
        content_type=head.get_content_type(),
        charset=head.get_content_charset(),
    )


def _decoded(raw: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(raw)
        except (binascii.Error, ValueError):
            raise MalformedWebhook("multipart part: invalid base64") from None
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    return raw


def parse_form(body: bytes, content_type: str, max_size: int | None = None) -> tuple[FormPart, ...]:
    """The parts of a ``multipart/form-data`` body, streamed through python-multipart.

    Raises:
        MalformedWebhook: not a form, no boundary, over ``max_size``, malformed, or truncated
            (no closing boundary: a cut-off email is refused rather than stored half).
    """
    boundary = boundary_of(content_type)
    if max_size is not None and len(body) > max_size:
        raise MalformedWebhook("multipart body too large")
    collector = _Collector()
    try:
        parser = MultipartParser(boundary, collector.callbacks(), max_size or float("inf"))
        for start in range(0, len(body), CHUNK_BYTES):
            parser.write(body[start : start + CHUNK_BYTES])
        parser.finalize()
    except (MultipartParseError, ValueError) as exc:
        raise MalformedWebhook("multipart body is malformed") from exc
    if not collector.ended:
        raise MalformedWebhook("multipart body is truncated (no closing boundary)")
    return tuple(collector.parts)


def form_parts(request: WebhookRequest) -> tuple[FormPart, ...]:
    """The request's form parts: parsed on first use, then read from ``request.parsed``."""
    cached = request.parsed.get(FORM_KEY)
    if cached is None:
        cached = parse_form(request.body, request.header("content-type"))
        request.parsed[FORM_KEY] = cached
    return cached


async def prepare_form(request: WebhookRequest, max_size: int) -> None:
    """Parse a form request once (in a thread when large) and keep the parts on it.

    Requests that are not ``multipart/form-data`` are left alone.

    Raises:
        MalformedWebhook: see ``parse_form``.
    """
    content_type = request.header("content-type")
    if not is_form(content_type) or FORM_KEY in request.parsed:
        return
    if len(request.body) > THREAD_THRESHOLD_BYTES:
        parts = await asyncio.to_thread(parse_form, request.body, content_type, max_size)
    else:
        parts = parse_form(request.body, content_type, max_size)
    request.parsed[FORM_KEY] = parts
