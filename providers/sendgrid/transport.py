"""SendGrid's API calls over one kept-alive connection pool.

The ``sendgrid`` SDK is blocking: each call ran in a worker thread and ``python_http_client``
opened a new connection for it (``urllib`` keeps none alive), a thread hop and a TCP
handshake per message. Here the request is the SDK's own (its URL, version and headers: the
``Authorization``, ``User-Agent`` and ``Accept`` it sets, ``Content-Type`` as it adds it, the
body JSON-encoded as it does), sent over one aiohttp session for the adapter's life; an error
answer raises the exception the SDK raises for it (``python_http_client.exceptions``), so
``errors.map_error`` maps it as before.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

#: Connections kept open to SendGrid at most (sends beyond wait for one).
POOL_SIZE = 64


class SdkResponse:
    """What a call answered: the status, headers and body (as the SDK's ``Response``)."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body


class Transport:
    """Posts the SDK's requests on one pooled session, made in the running loop on first use.

    Args:
        client: the ``SendGridAPIClient`` whose host, version and headers are used.
        timeout: seconds for the whole call.
    """

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> Any:
        """The session, made anew in a loop other than the one it was made in."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            self._loop = loop
            from aiohttp import ClientSession, ClientTimeout, TCPConnector

            self._session = ClientSession(
                connector=TCPConnector(limit=POOL_SIZE),
                timeout=ClientTimeout(total=self.timeout),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def post(self, path: str, body: Mapping[str, Any]) -> SdkResponse:
        """POST ``body`` to ``path`` (such as ``/mail/send``) as the SDK would.

        Raises:
            python_http_client.exceptions.HTTPError: an error answer (its SDK subclass).
            TimeoutError: no answer within ``timeout``.
            aiohttp.ClientError: the connection failed.
        """
        sdk = self.client.client
        headers = dict(sdk.request_headers)
        headers.setdefault("Content-Type", "application/json")
        url = sdk._build_versioned_url(path) if sdk._version else f"{sdk.host}{path}"
        data = json.dumps(body).encode("utf-8")
        async with self._http().post(url, data=data, headers=headers) as answer:
            payload = await answer.read()
            if answer.status >= 400:
                raise _sdk_error(answer.status, answer.reason or "", payload, answer.headers)
            return SdkResponse(answer.status, answer.headers, payload)

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
        self._session = None


def _sdk_error(status: int, reason: str, body: bytes, headers: Mapping[str, str]) -> Exception:
    """The exception ``python_http_client`` raises for an error answer of ``status``."""
    from python_http_client.exceptions import HTTPError, err_dict

    kind = err_dict.get(status, HTTPError)
    error: Exception = kind(status, reason, body, headers)
    return error
