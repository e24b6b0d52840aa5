"""Fixtures of the app's tests: the scenario on both databases, and the app built on it."""

from __future__ import annotations

import pytest

from core import i18n
from core.service import InboxService
from inbox_app.app import InboxApp
from tests.tui.scenario import build


@pytest.fixture
async def ids(service: InboxService) -> dict[str, int]:
    """The scenario, built in the test's database; the ids by name."""
    return await build(service)


@pytest.fixture
def app(service: InboxService, ids: dict[str, int]) -> InboxApp:
    """The app on the scenario, with the service's fake clock."""
    return InboxApp(service, clock=service.ctx.clock)


@pytest.fixture(params=["en", "fr"])
def lang(request: pytest.FixtureRequest):
    """The test once in English and once in French (the active language, restored after)."""
    previous = i18n.language()
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(previous)
