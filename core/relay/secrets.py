"""The relay's pull-API tokens: the environment (headless servers), else the keyring.

One relay may serve several tenants' remote cores: ``COCCINELLE_RELAY_TOKEN`` (or the keyring)
is the token of the relay's own tenant, ``COCCINELLE_RELAY_TOKENS`` adds others as
``slug=token,slug=token``; each token reads its tenant's events only.
Channel secrets are read through ``core.credentials.CredentialStore`` like everywhere else.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import select

from core.errors import ConfigurationError
from core.storage import tables as t
from core.storage.database import Database

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


async def tenant_tokens(db: Database) -> dict[str, int]:
    """Other tenants' tokens from ``COCCINELLE_RELAY_TOKENS`` (``slug=token,...``).

    Raises:
        ConfigurationError: an entry is not ``slug=token``, or names no tenant of the database.
    """
    raw = os.environ.get("COCCINELLE_RELAY_TOKENS", "").strip()
    if not raw:
        return {}
    wanted: dict[str, str] = {}
    for entry in raw.split(","):
        slug, sep, token = entry.strip().partition("=")
        if not sep or not slug.strip() or not token.strip():
            raise ConfigurationError("COCCINELLE_RELAY_TOKENS: expected slug=token,slug=token")
        wanted[slug.strip()] = token.strip()
    async with db.session() as session:
        query = select(t.TenantRow.slug, t.TenantRow.id).where(t.TenantRow.slug.in_(wanted))
        ids = {slug: id_ for slug, id_ in (await session.execute(query)).all()}
    unknown = sorted(set(wanted) - set(ids))
    if unknown:
        raise ConfigurationError(f"COCCINELLE_RELAY_TOKENS: no tenant {', '.join(unknown)}")
    return {token: ids[slug] for slug, token in wanted.items()}
