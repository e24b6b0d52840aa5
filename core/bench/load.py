"""A bounded HTTP load generator: N connections posting as fast as answers come back.

It stops by itself after ``duration`` seconds or ``limit`` requests, whichever comes first, and
records every request's latency and status. Bodies come from a function of the request number,
so each can be unique (and signed).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

Request = tuple[bytes, dict[str, str]]


@dataclass
class LoadResult:
    """What the load generator saw."""

    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    ok_numbers: list[int] = field(default_factory=list)
    failed: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0


async def post_load(
    url: str,
    request: Callable[[int], Request],
    *,
    connections: int = 64,
    duration: float = 10.0,
    limit: int = 1_000_000,
) -> LoadResult:
    """Post ``request(i)`` to ``url`` from ``connections`` concurrent clients."""
    import aiohttp

    result = LoadResult()
    counter = iter(range(limit))
    start = time.perf_counter()
    deadline = start + duration

    async def client(http: aiohttp.ClientSession) -> None:
        for number in counter:
            if time.perf_counter() >= deadline:
                return
            body, headers = request(number)
            sent = time.perf_counter()
            try:
                async with http.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    good = 200 <= answer.status < 300
            except aiohttp.ClientError:
                good = False
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            if good:
                result.ok += 1
                result.ok_numbers.append(number)
            else:
                result.failed += 1

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(connections)))
    result.elapsed = time.perf_counter() - start
    return result


def twilio_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """The X-Twilio-Signature of a form POST: HMAC-SHA1 of the URL and the sorted parameters."""
    data = url + "".join(key + form[key] for key in sorted(form))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sid_of(run: str, number: int) -> str:
    """The MessageSid of request ``number`` of load run ``run`` (five digits): 34 characters."""
    return f"SM{run}{number:027d}"


def twilio_sms(auth_token: str, public_url: str, run: str) -> Callable[[int], Request]:
    """Signed inbound-SMS webhooks, each with its own MessageSid, from a few hundred numbers."""
    account = "AC" + "0" * 32

    def request(number: int) -> Request:
        form = {
            "MessageSid": sid_of(run, number),
            "AccountSid": account,
            "From": f"+336{10_000_000 + number % 500:08d}",
            "To": "+33700000000",
            "Body": f"Bonjour, je souhaite visiter l'appartement (message {number}).",
            "NumMedia": "0",
        }
        headers = {
            "X-Twilio-Signature": twilio_signature(auth_token, public_url, form),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return urlencode(form).encode(), headers

    return request
