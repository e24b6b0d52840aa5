"""Who is calling: the client's address, as seen through the reverse proxies we trust.

Behind a reverse proxy every request comes from the proxy's address; the proxy says who the
client was in ``X-Forwarded-For``. That header is believed only when the request comes from a
configured trusted proxy (anyone else could write anything in it), and then read from the right,
skipping our own proxies, so a client cannot pose as another by sending the header itself.

    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    address = client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from core.errors import ConfigurationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``) as networks.

    Raises:
        ConfigurationError: a value is neither.
    """
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"relay.trusted_proxies: {value!r} is not an address or a network"
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: ``peer``, or what our trusted proxies say it was."""
    address = peer or "?"
    if not forwarded_for or not _trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, trusted):
            return hop[:64]
        address = hop
    return address
