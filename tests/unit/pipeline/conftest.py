"""The pipeline tests share the outbox tests' scene (a tenant with SMS, email, WhatsApp, and
Marie who wrote by SMS)."""

from tests.unit.outbox.conftest import scene

__all__ = ["scene"]
