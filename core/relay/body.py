"""Reading a request body without ever holding more than the limit in memory."""

from __future__ import annotations

from aiohttp import web


class BodyTooLarge(Exception):
    """The body is over the limit (answered 413)."""


async def read_bounded(request: web.BaseRequest, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes.

    Raises:
        BodyTooLarge: the declared length or the bytes received exceed ``limit``.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    if declared is not None and not request.headers.get("Transfer-Encoding"):
        # HTTP framing ends the body at the declared length: read it whole, without the chunk
        # iterator's per-request async generator; without even awaiting when it has all
        # arrived with the headers (a webhook's usually has).
        content = request.content
        if content.is_eof():
            return content.read_nowait()
        return await request.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65_536):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
