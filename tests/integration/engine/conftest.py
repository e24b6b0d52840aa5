"""The demo engine of these tests: the app's service and engine on the demo tenant, started."""

from __future__ import annotations

import pytest

from core.config import load_settings
from core.engine import Engine, open_service


@pytest.fixture
async def demo():
    """(service, engine) in demo mode, quiet hours off, the engine running."""
    settings = load_settings()  # nothing configured: demo mode in the test's data dir
    service = await open_service(settings)
    tenant = await service.tenant_settings.get()
    tenant.quiet_hours.enabled = False  # the test must not depend on the time of day
    await service.tenant_settings.save(tenant)
    engine = Engine(service, settings)
    await engine.start()
    try:
        yield service, engine
    finally:
        await engine.stop()
        await service.close()
