"""Reading a request body without ever holding more than the limit in memory."""

from __future__ import annotations

from aiohttp import web

from core.channels.errors import MalformedWebhook


class BodyTooLarge(Exception):
    """The body is over the limit (answered 413)."""


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes.

    Raises:
        BodyTooLarge: the declared length or the bytes received exceed ``limit``.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65_536):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def check_multipart_complete(content_type: str | None, body: bytes) -> None:
    """Refuse a ``multipart/form-data`` body cut short (no closing boundary).

    Lenient parsers read a truncated body as a shorter message; a cut-off email must be
    refused (the provider retries it) rather than stored half.

    Raises:
        MalformedWebhook: no boundary is declared, or the body does not close it.
    """
    kind, _, params = (content_type or "").partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return
    boundary = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise MalformedWebhook("multipart body without a boundary")
    if not body.rstrip(b"\r\n").endswith(b"--" + boundary.encode("latin-1") + b"--"):
        raise MalformedWebhook("multipart body is truncated (no closing boundary)")
