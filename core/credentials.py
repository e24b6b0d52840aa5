"""Channel secrets in the OS keyring, or in environment variables on a headless relay.

    store = CredentialStore("demo")
    store.set(Channel.SMS, "auth_token", value)        # goes to the keyring, nowhere else
    secrets = store.secrets_for(channel_config, ("account_sid", "auth_token"))

Where secrets live:

- Keyring: service ``coccinelle:<tenant>:<channel>`` (the channel row's ``credentials_ref``),
  username = the credential name (``auth_token``…), password = the secret.
- Keyring has no way to list entries, so each service also holds one non-secret entry,
  username ``__names__``, whose value is the comma-separated list of the names stored there.
- Environment: ``COCCINELLE_SECRET_<TENANT>_<CHANNEL>_<NAME>``, upper-cased, every character
  other than a letter or a digit replaced by ``_`` (tenant ``demo``, channel ``sms``, name
  ``auth_token`` → ``COCCINELLE_SECRET_DEMO_SMS_AUTH_TOKEN``). A variable wins over the keyring,
  so a relay without a Secret Service runs on variables alone.

Secrets are never written to the database, the configuration file or a log, and never shown:
``mask`` keeps only a short tail.
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from core.domain.enums import Channel
from core.domain.models import ChannelConfig
from core.errors import CredentialStoreUnavailable, InvalidInput

SERVICE_PREFIX = "coccinelle"
ENV_PREFIX = "COCCINELLE_SECRET_"
INDEX_NAME = "__names__"
MAX_SECRET_LENGTH = 8192
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UNUSABLE_BACKENDS = ("keyring.backends.fail", "keyring.backends.null")


def credentials_ref(tenant: str, channel: Channel) -> str:
    """The keyring service name of ``tenant``'s ``channel`` secrets."""
    return f"{SERVICE_PREFIX}:{tenant}:{Channel(channel)}"


def env_name(tenant: str, channel: Channel, name: str) -> str:
    """The environment variable that may carry one secret (see the module docstring)."""
    return ENV_PREFIX + "_".join(_env_part(p) for p in (tenant, str(Channel(channel)), name))


def _env_part(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", text.upper())


def mask(secret: str) -> str:
    """``••••`` and, for secrets long enough that it gives nothing away, the last 4 characters."""
    return "••••" + (secret[-4:] if len(secret) >= 12 else "")


def check_name(name: str) -> str:
    """A credential name: lower-case letters, digits and ``_``, starting with a letter.

    Raises:
        InvalidInput: it is not.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput("credential name", name, "e.g. auth_token (a-z, 0-9, _)")
    return name


def unavailable_message(detail: str = "") -> str:
    """What to tell a person when no keyring can be used: why, and the two ways out."""
    why = f" ({detail})" if detail else ""
    return (
        f"no usable OS keyring on this machine{why}. Either install and unlock a Secret Service "
        "(e.g. GNOME Keyring or KeePassXC on Linux; macOS and Windows have one), or set the "
        f"secrets as environment variables named {ENV_PREFIX}<TENANT>_<CHANNEL>_<NAME>, "
        f"e.g. {ENV_PREFIX}DEMO_SMS_AUTH_TOKEN."
    )


@dataclass(frozen=True)
class StoredCredential:
    """One secret as ``coccinelle credentials list`` shows it: never the value itself."""

    channel: Channel
    ref: str
    name: str
    masked: str
    source: str  # "keyring" or "environment"


class CredentialStore:
    """The secrets of one tenant's channels.

    ``backend`` is the keyring backend to use (the system's, chosen by ``keyring``, if None);
    ``environ`` is where environment secrets are read (``os.environ`` if None).
    """

    def __init__(
        self,
        tenant: str,
        backend: KeyringBackend | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.tenant = tenant
        self._backend = backend
        self._environ = environ

    # -- where things are ------------------------------------------------------------------

    def ref(self, channel: Channel) -> str:
        """The keyring service name of ``channel``."""
        return credentials_ref(self.tenant, channel)

    def backend(self) -> KeyringBackend:
        """The keyring backend, refusing one that cannot store anything.

        Raises:
            CredentialStoreUnavailable: no usable backend (names the two ways out).
        """
        try:
            backend = self._backend or keyring.get_keyring()
        except keyring.errors.KeyringError as exc:
            raise CredentialStoreUnavailable(unavailable_message(type(exc).__name__)) from None
        if type(backend).__module__ in _UNUSABLE_BACKENDS:
            raise CredentialStoreUnavailable(unavailable_message())
        return backend

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    # -- reading ---------------------------------------------------------------------------

    def get(self, channel: Channel, name: str, ref: str | None = None) -> str | None:
        """One secret (environment first, then the keyring), or None if it is not set.

        Raises:
            CredentialStoreUnavailable: not in the environment and no usable keyring.
        """
        check_name(name)
        from_env = self._env().get(env_name(self.tenant, channel, name))
        if from_env:
            return from_env
        return self._keyring_get(ref or self.ref(channel), name)

    def secrets_for(self, config: ChannelConfig, names: Iterable[str]) -> dict[str, str]:
        """The secrets ``names`` of a configured channel; missing ones are left out.

        Matches ``core.channels.runtime.SecretSource``. The keyring is only asked when a
        name is not in the environment.

        Raises:
            CredentialStoreUnavailable: a name is not in the environment and no keyring works.
        """
        ref = config.credentials_ref or self.ref(config.channel)
        found: dict[str, str] = {}
        for name in names:
            value = self.get(config.channel, name, ref)
            if value:
                found[name] = value
        return found

    def names(self, channel: Channel) -> list[str]:
        """Names stored in the keyring for ``channel`` (from the index entry)."""
        raw = self._keyring_get(self.ref(channel), INDEX_NAME) or ""
        return sorted({n for n in raw.split(",") if _NAME.match(n)})

    def list(self) -> list[StoredCredential]:
        """Every secret of every channel, masked, from the environment and the keyring.

        Raises:
            CredentialStoreUnavailable: no usable keyring and nothing in the environment.
        """
        listed = self._listed_from_env()
        try:
            listed += self._listed_from_keyring({(c.channel, c.name) for c in listed})
        except CredentialStoreUnavailable:
            if not listed:
                raise
        return sorted(listed, key=lambda c: (list(Channel).index(c.channel), c.name))

    def _listed_from_env(self) -> builtins.list[StoredCredential]:
        listed = []
        for channel in Channel:
            prefix = env_name(self.tenant, channel, "x")[:-1]
            for variable, value in self._env().items():
                name = variable[len(prefix) :].lower()
                if variable.startswith(prefix) and value and _NAME.match(name):
                    listed.append(
                        StoredCredential(channel, variable, name, mask(value), "environment")
                    )
        return listed

    def _listed_from_keyring(
        self, shadowed: set[tuple[Channel, str]]
    ) -> builtins.list[StoredCredential]:
        listed = []
        for channel in Channel:
            for name in self.names(channel):
                value = self._keyring_get(self.ref(channel), name)
                if value and (channel, name) not in shadowed:
                    listed.append(
                        StoredCredential(channel, self.ref(channel), name, mask(value), "keyring")
                    )
        return listed

    # -- writing ---------------------------------------------------------------------------

    def set(self, channel: Channel, name: str, value: str) -> str:
        """Store one secret in the keyring; returns the keyring reference.

        Raises:
            InvalidInput: a bad name, or an empty / oversized / multi-line value.
            CredentialStoreUnavailable: no usable keyring.
        """
        check_name(name)
        secret = (value or "").strip()
        if not secret or len(secret) > MAX_SECRET_LENGTH or "\n" in secret or "\r" in secret:
            raise InvalidInput(
                "secret", "(hidden)", f"one line of 1 to {MAX_SECRET_LENGTH} characters"
            )
        ref = self.ref(channel)
        self._keyring_call("set_password", ref, name, secret)
        self._write_index(ref, [*self.names(channel), name])
        return ref

    def delete(self, channel: Channel, name: str | None = None) -> builtins.list[str]:
        """Remove one secret (or every secret of ``channel`` if ``name`` is None).

        Returns the names removed (those that were not stored are skipped).

        Raises:
            CredentialStoreUnavailable: no usable keyring.
        """
        ref = self.ref(channel)
        stored = self.names(channel)
        targets = stored if name is None else [check_name(name)]
        removed = []
        for target in targets:
            if self._keyring_get(ref, target) is None:
                continue
            self._keyring_call("delete_password", ref, target)
            removed.append(target)
        self._write_index(ref, [n for n in stored if n not in removed])
        return removed

    def _write_index(self, ref: str, names: builtins.list[str]) -> None:
        clean = ",".join(sorted(set(names)))
        if clean:
            self._keyring_call("set_password", ref, INDEX_NAME, clean)
        elif self._keyring_get(ref, INDEX_NAME) is not None:
            self._keyring_call("delete_password", ref, INDEX_NAME)

    # -- the keyring, with its errors made clear ------------------------------------------------

    def _keyring_get(self, service: str, name: str) -> str | None:
        return self._keyring_call("get_password", service, name)

    def _keyring_call(self, method: str, *args: str) -> str | None:
        backend = self.backend()
        try:
            return getattr(backend, method)(*args)
        except (keyring.errors.NoKeyringError, keyring.errors.KeyringLocked) as exc:
            raise CredentialStoreUnavailable(unavailable_message(type(exc).__name__)) from None
        except keyring.errors.KeyringError as exc:
            # The backend's message may quote the service but never the secret we passed.
            raise CredentialStoreUnavailable(
                unavailable_message(f"the keyring refused: {type(exc).__name__}")
            ) from None
