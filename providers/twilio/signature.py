"""Twilio's webhook signature, computed once per request.

The algorithm is Twilio's (HMAC-SHA1 of the URL followed by each parameter name and value,
names sorted), compared in constant time. ``twilio``'s ``RequestValidator.validate`` computes
it twice on every request (the URL with and without its port); here the URL as received is
tried first, and the port variants only when it does not match.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse


def signature_of(auth_token: str, url: str, form: Mapping[str, Sequence[str]]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a form POST to ``url``."""
    return _signature(auth_token.encode(), url, form).decode()


def signature_matches(
    auth_token: str, url: str, form: Mapping[str, Sequence[str]], signature: str
) -> bool:
    """Whether ``signature`` signs ``form`` posted to ``url`` (with or without its port)."""
    key, given = auth_token.encode(), signature.encode()
    if hmac.compare_digest(_signature(key, url, form), given):
        return True
    return any(
        hmac.compare_digest(_signature(key, other, form), given) for other in _port_variants(url)
    )


def _signature(key: bytes, url: str, form: Mapping[str, Sequence[str]]) -> bytes:
    """The base64 HMAC-SHA1 of ``url`` followed by each name and value, names sorted (a name's
    repeated values sorted, each once)."""
    parts = [url]
    for name in sorted(form):
        values = form[name]
        if len(values) == 1:
            parts.append(name + values[0])
        else:
            parts.extend(name + value for value in sorted(set(values)))
    inner, outer = _keyed(key)
    inner, outer = inner.copy(), outer.copy()
    inner.update("".join(parts).encode())
    outer.update(inner.digest())
    return base64.b64encode(outer.digest())


@functools.lru_cache(maxsize=16)
def _keyed(key: bytes) -> tuple[Any, Any]:
    """SHA-1 states after HMAC's inner and outer padded keys (RFC 2104), kept per auth token:
    each request then only copies them (``hmac.digest`` sets OpenSSL's up on every call)."""
    if len(key) > BLOCK:
        key = hashlib.sha1(key).digest()
    key = key.ljust(BLOCK, b"\0")
    inner = hashlib.sha1(key.translate(_INNER))
    outer = hashlib.sha1(key.translate(_OUTER))
    return inner, outer


#: SHA-1's block size, and the HMAC pads as byte translations.
BLOCK = 64
_INNER = bytes(b ^ 0x36 for b in range(256))
_OUTER = bytes(b ^ 0x5C for b in range(256))


def _port_variants(url: str) -> list[str]:
    """``url`` with its default port added, or without its port (Twilio signs either)."""
    parsed = urlparse(url)
    host = parsed.netloc.rsplit("@", 1)[-1]
    if parsed.port:
        return [parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0]).geturl()]
    port = {"https": 443, "http": 80}.get(parsed.scheme)
    if port is None or not host:
        return []
    return [parsed._replace(netloc=f"{parsed.netloc}:{port}").geturl()]
