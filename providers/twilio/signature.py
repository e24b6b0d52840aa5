"""Twilio's webhook signature, computed once per request.

The algorithm is Twilio's (HMAC-SHA1 of the URL followed by each parameter name and value,
names sorted), compared in constant time. ``twilio``'s ``RequestValidator.validate`` computes
it twice on every request (the URL with and without its port); here the URL as received is
tried first, and the port variants only when it does not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlparse


def signature_of(auth_token: str, url: str, form: Mapping[str, Sequence[str]]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a form POST to ``url``."""
    parts = [url]
    for name in sorted(form):
        for value in sorted(set(form[name])):
            parts.append(name + value)
    digest = hmac.new(auth_token.encode(), "".join(parts).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(
    auth_token: str, url: str, form: Mapping[str, Sequence[str]], signature: str
) -> bool:
    """Whether ``signature`` signs ``form`` posted to ``url`` (with or without its port)."""
    if _same(signature_of(auth_token, url, form), signature):
        return True
    return any(
        _same(signature_of(auth_token, other, form), signature) for other in _port_variants(url)
    )


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


def _same(computed: str, given: str) -> bool:
    return hmac.compare_digest(computed.encode(), given.encode())
