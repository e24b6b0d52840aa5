"""Where the relay finds provider secrets: the environment (headless servers), else the keyring.

``COCCINELLE_SECRET_<CHANNEL>_<NAME>`` (e.g. ``COCCINELLE_SECRET_SMS_AUTH_TOKEN``) wins; otherwise
the OS keyring under the channel's ``credentials_ref`` (default ``coccinelle/<channel>``).
Values are handed to the adapter only, never logged or stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from core.domain.models import ChannelConfig

log = logging.getLogger(__name__)


def env_or_keyring(config: ChannelConfig, names: tuple[str, ...]) -> Mapping[str, str]:
    """The secrets ``names`` of the channel ``config`` (a ``ChannelRuntime`` secret source)."""
    found: dict[str, str] = {}
    service = config.credentials_ref or f"coccinelle/{config.channel}"
    for name in names:
        value = os.environ.get(f"COCCINELLE_SECRET_{config.channel}_{name}".upper())
        if value is None:
            value = _keyring(service, name)
        if value:
            found[name] = value
    return found


def _keyring(service: str, name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(service, name)
    except (KeyringError, RuntimeError) as exc:
        log.warning("keyring unavailable for %s: %s", service, type(exc).__name__)
        return None


def pull_tokens(tenant_id: int) -> dict[str, int]:
    """The pull API's bearer token, for this relay's tenant.

    ``COCCINELLE_RELAY_TOKEN``, else the keyring's ``coccinelle/relay`` ``pull_token``.
    """
    token = os.environ.get("COCCINELLE_RELAY_TOKEN", "").strip()
    if not token:
        token = (_keyring("coccinelle/relay", "pull_token") or "").strip()
    return {token: tenant_id} if token else {}
