"""Fetching media a provider points us at, without letting a stranger aim our requests.

A media URL arrives inside a webhook. It is fetched only when its host is one of the provider's own
(an allow-list per provider), over HTTPS (or the configured sandbox origin in demo and tests), and
never when the host resolves to a loopback, private, link-local or otherwise internal address.
Redirects are not followed blindly: each hop is checked again. The body is capped in size and the
whole fetch in time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from core.errors import InvalidInput

PROVIDER_MEDIA_HOSTS: dict[str, tuple[str, ...]] = {
    "twilio": ("api.twilio.com", "media.twiliocdn.com", ".twiliocdn.com"),
    "meta": ("graph.facebook.com", "lookaside.fbsbx.com", ".fbcdn.net", ".whatsapp.net"),
    "telegram": ("api.telegram.org",),
    "vapi": ("storage.vapi.ai", ".vapi.ai"),
    "sendgrid": (),
}
MAX_MEDIA_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class MediaPolicy:
    """Where media may come from. ``trusted_origins`` (scheme://host:port) skip the address check:
    only for the sandbox on loopback in demo mode and tests."""

    hosts: tuple[str, ...]
    trusted_origins: frozenset[str] = field(default_factory=frozenset)
    max_bytes: int = MAX_MEDIA_BYTES
    timeout: float = 20.0

    @classmethod
    def for_provider(cls, provider: str, trusted_origins: Iterable[str] = ()) -> MediaPolicy:
        """The policy for one provider's media."""
        return cls(PROVIDER_MEDIA_HOSTS.get(provider, ()), frozenset(trusted_origins))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in hosts)


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, policy: MediaPolicy) -> None:
    """Refuse ``url`` unless the policy allows fetching it.

    Raises:
        InvalidInput: the URL's scheme, host or resolved address is not allowed.
    """
    parts = urlsplit(url)
    if _origin(url) in policy.trusted_origins:
        return
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("media url", url, "an https URL of the provider")
    if not _host_allowed(parts.hostname.lower(), policy.hosts):
        raise InvalidInput("media url", url, "a host of the provider that sent it")
    infos = await asyncio.get_running_loop().getaddrinfo(
        parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
    )
    if not infos or not all(is_public_address(str(info[4][0])) for info in infos):
        raise InvalidInput("media url", url, "a public address")


async def fetch_media(
    url: str, policy: MediaPolicy, client: httpx.AsyncClient, auth: httpx.Auth | None = None
) -> tuple[bytes, str]:
    """Download ``url`` under ``policy``; returns (content, content type).

    Raises:
        InvalidInput: the URL (or a redirect) is not allowed, or the body is too large.
        httpx.HTTPError: the download failed.
    """
    for _ in range(MAX_REDIRECTS + 1):
        await check_url(url, policy)
        request = client.build_request("GET", url)
        response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
        try:
            if response.is_redirect:
                url = str(response.next_request.url) if response.next_request else ""
                continue
            response.raise_for_status()
            return await _read_capped(response, policy.max_bytes), response.headers.get(
                "content-type", "application/octet-stream"
            )
        finally:
            await response.aclose()
    raise InvalidInput("media url", url, f"at most {MAX_REDIRECTS} redirects")


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InvalidInput("media", declared, f"at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise InvalidInput("media", size, f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
