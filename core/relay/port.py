"""When the relay's port is already taken: who holds it, and what to tell the agent.

Two inboxes on one machine in local or team mode both want ``relay.port``. The second one does
not need its own relay when the first already receives the webhooks: ``holder`` asks the
process on the port for the relay's ``/healthz``, which names the service, to tell a Coccinelle
relay from another program.
"""

from __future__ import annotations

import errno
from enum import StrEnum

import aiohttp

from core.errors import CoccinelleError
from core.i18n import t

#: What ``/healthz`` answers in ``service``: how a relay knows another relay.
SERVICE = "coccinelle-relay"
PROBE_SECONDS = 2.0


class PortHolder(StrEnum):
    """Who listens on a port we could not bind."""

    COCCINELLE = "coccinelle"
    OTHER = "other"


class RelayPortInUse(CoccinelleError):
    """The relay cannot listen: another process holds its address."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(t("relayport.in_use", host=host, port=port))


def in_use(exc: OSError) -> bool:
    """Whether a failed bind means the address is taken by someone else."""
    return exc.errno == errno.EADDRINUSE or "address already in use" in str(exc)


def probe_host(host: str) -> str:
    """The address to reach a server that listens on ``host`` (any address: loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


async def holder(host: str, port: int, timeout: float = PROBE_SECONDS) -> PortHolder:
    """Ask the process on ``host:port`` whether it is a Coccinelle relay."""
    address = probe_host(host)
    url = (
        f"http://[{address}]:{port}/healthz"
        if ":" in address
        else f"http://{address}:{port}/healthz"
    )
    limit = aiohttp.ClientTimeout(total=timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=limit) as client,
            client.get(url, allow_redirects=False) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return PortHolder.OTHER
    if isinstance(body, dict) and body.get("service") == SERVICE:
        return PortHolder.COCCINELLE
    return PortHolder.OTHER


def notice(who: PortHolder, host: str, port: int) -> str:
    """The one sentence the agent sees when this inbox runs without its own relay."""
    key = "relayport.shared" if who == PortHolder.COCCINELLE else "relayport.taken"
    return t(key, host=host, port=port)
