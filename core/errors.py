"""The core's exception tree.

    CoccinelleError
    ├── InvalidInput            a value a person or a provider gave us is not acceptable
    ├── NotFound                a record does not exist (or belongs to another tenant)
    ├── ConfigurationError      a setting is wrong; names the setting, the value and what is allowed
    ├── StorageError            the database cannot be used as it is
    │   ├── NotADatabase        the file is not a database
    │   └── SchemaTooNew        the database was written by a newer version
    ├── CredentialStoreUnavailable  no usable OS keyring
    └── ProviderError           (core.channels.errors) a provider call failed
        ├── PermanentProviderError  retrying will not help
        └── TransientProviderError  retrying may help; may carry retry_after

Every message is meant to be shown to a person as it is: no traceback, no secret.
"""

from __future__ import annotations

from typing import Any


class CoccinelleError(Exception):
    """Base of every error the core raises on purpose."""


class InvalidInput(CoccinelleError, ValueError):
    """A value is not acceptable; says which field, what was given and what is expected."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        shown = str(value)
        if len(shown) > 60:
            shown = shown[:57] + "…"
        super().__init__(f"{field}: {shown!r} is not valid; expected {expected}")


class NotFound(CoccinelleError, LookupError):
    """A record does not exist."""

    def __init__(self, what: str, key: Any) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} does not exist")


class ConfigurationError(CoccinelleError):
    """A configuration value is wrong."""


class MissingCredentials(ConfigurationError):
    """A channel is set up but some of its secrets cannot be read (not set, or no keyring)."""

    def __init__(self, channel: str, missing: list[str], reason: str = "") -> None:
        self.channel = str(channel)
        self.missing = list(missing)
        self.reason = reason
        names = ", ".join(self.missing)
        where = f" ({reason})" if reason else " in the keyring"
        super().__init__(
            f"the {self.channel} channel has no {names}{where} "
            f"(coccinelle credentials set {self.channel} {self.missing[0]})"
        )


class StorageError(CoccinelleError):
    """The database cannot be used as it is."""


class NotADatabase(StorageError):
    """The database file is not a database."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer version of the program."""


class CredentialStoreUnavailable(CoccinelleError):
    """No OS keyring backend can store secrets on this machine."""
