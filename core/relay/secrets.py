"""The relay's pull-API token: the environment (headless servers), else the keyring.

Channel secrets are read through ``core.credentials.CredentialStore`` like everywhere else.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


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
