"""The demo's attachments: small real files kept with their message, so that opening or saving
one in the demo works as it does with a provider's download.

PDFs carry one line of text (their name); photos are small PNG images of one colour.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

_COLOURS = ((222, 184, 135), (176, 196, 222), (205, 133, 63), (143, 188, 143))


def demo_file(filename: str) -> dict[str, Any]:
    """An ``attachments`` item of a demo message: name, type, size and the content itself."""
    if filename.endswith(".png"):
        content, kind = _png(_COLOURS[sum(map(ord, filename)) % len(_COLOURS)]), "image/png"
    else:
        content, kind = _pdf(filename), "application/pdf"
    return {
        "filename": filename,
        "content_type": kind,
        "size": len(content),
        "data": base64.b64encode(content).decode("ascii"),
    }


def _pdf(title: str) -> bytes:
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png(rgb: tuple[int, int, int], width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
