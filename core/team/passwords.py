"""Agents' passwords for ``coccinelle serve``: salted scrypt hashes (``hashlib.scrypt``).

A stored hash reads ``scrypt$<n>$<r>$<p>$<salt>$<key>`` (salt and key in URL-safe base64), so
the cost can be raised later without invalidating the hashes already stored. Passwords are never
stored, logged or put in an exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: scrypt's cost: n=2**14, r=8, p=1 takes 16 MiB and some tens of milliseconds per check.
N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_LENGTH = 8
_DUMMY = ""


def hash_password(password: str) -> str:
    """A new salted hash of ``password``."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; with no hash, spends the same time and says no
    (an unknown agent and a wrong password cannot be told apart by timing)."""
    global _DUMMY
    if not stored:
        _DUMMY = _DUMMY or hash_password(secrets.token_urlsafe(12))
        verify_password(password, _DUMMY)
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed, _unb64(key))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=KEY_BYTES
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
