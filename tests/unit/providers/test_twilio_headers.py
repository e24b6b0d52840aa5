"""Twilio's client is shared by concurrent sends: each call reads its own response's headers."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

from core.channels.errors import TransientProviderError
from providers.twilio.base import TwilioAdapter
from providers.twilio.http import RecordingHttpClient

RESPONSES = {
    "/limited": Response(429, '{"code": 20429}', headers={"Retry-After": "2"}),
    "/ok": Response(201, "{}", headers={}),
}


async def test_a_rate_limited_send_reads_its_own_retry_after(monkeypatch) -> None:
    async def answer(self, method, url, *args, **kwargs):
        return RESPONSES[url]

    monkeypatch.setattr(AsyncTwilioHttpClient, "request", answer)
    client = RecordingHttpClient()
    adapter = SimpleNamespace(config=SimpleNamespace(timeout=2.0), _http=client)

    async def limited():
        await client.request("POST", "/limited")
        await asyncio.sleep(0.02)  # another send's response arrives before this one raises
        raise TwilioRestException(429, "/limited", msg="too many requests", code=20429)

    async def succeeds():
        await asyncio.sleep(0.01)
        return await client.request("POST", "/ok")

    first, second = await asyncio.gather(
        TwilioAdapter._call(adapter, limited()),
        TwilioAdapter._call(adapter, succeeds()),
        return_exceptions=True,
    )
    assert isinstance(first, TransientProviderError) and first.retry_after == 2.0
    assert second is RESPONSES["/ok"]


async def test_a_response_outside_any_call_is_kept_nowhere(monkeypatch) -> None:
    async def answer(self, method, url, *args, **kwargs):
        return RESPONSES[url]

    monkeypatch.setattr(AsyncTwilioHttpClient, "request", answer)
    client = RecordingHttpClient()
    assert await client.request("POST", "/limited") is RESPONSES["/limited"]
    with pytest.raises(TransientProviderError) as caught:
        await TwilioAdapter._call(SimpleNamespace(config=SimpleNamespace(timeout=2.0)), _raise())
    assert caught.value.retry_after is None


async def _raise():
    raise TwilioRestException(429, "/limited", msg="too many requests", code=20429)
