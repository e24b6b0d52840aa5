"""The outbox integration tests share the unit tests' scene (a tenant and Marie)."""

from tests.unit.outbox.conftest import scene

__all__ = ["scene"]
