"""The seed's ``ORCHESTRATOR_*`` settings each change a decision: the quiet hours (the
tenant's default, its own settings override; ``quiet_hours_source`` says which), and
``TRACK_ENGAGEMENT=false`` (criterion 8 learns nothing and the reasons say so).
``ORCHESTRATOR_DEFAULT_PRIORITY``: ``test_submit.test_default_priority_applies_...``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.config.settings import OrchestratorSettings, Settings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, Direction, MessageStatus
from core.domain.tenant_settings import TenantSettings
from core.orchestrator.loader import quiet_hours_source, with_defaults
from core.pipeline import Kind, OutgoingRequest, submit
from tests.conftest import FakeClock
from tests.factories import add_message
from tests.unit.outbox.conftest import Scene

SMS = frozenset({Channel.SMS})


async def sms_at_2230(scene: Scene, clock: FakeClock, settings: OrchestratorSettings):
    clock.now = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)  # 22:30 in Paris
    ctx = scene.service.ctx
    request = OutgoingRequest(
        tenant_id=ctx.tenant_id,
        prospect_id=scene.prospect_id,
        kind=Kind.REPLY,
        draft=ReplyDraft(text="Bonsoir"),
        allowed=SMS,
    )
    async with ctx.write() as (session, events):
        [outcome] = await submit(
            session, [request], now=ctx.now(), settings=settings, events=events
        )
    return outcome


def test_the_environment_sets_the_quiet_hours_the_tenant_did_not() -> None:
    env = Settings.model_validate(
        {"orchestrator": {"quiet_hours_start": "23:30", "quiet_hours_end": "06:00"}}
    ).orchestrator
    plain = TenantSettings()
    own = TenantSettings.model_validate({"quiet_hours": {"start": "21:00", "end": "09:00"}})
    assert quiet_hours_source(plain, OrchestratorSettings()) == "default"
    assert quiet_hours_source(plain, env) == "environment"
    assert quiet_hours_source(own, env) == "tenant"
    quiet = with_defaults(plain, env).quiet_hours
    assert (quiet.start.hour, quiet.start.minute, quiet.end.hour) == (23, 30, 6)
    assert with_defaults(own, env).quiet_hours.start.hour == 21


async def test_quiet_hours_start_from_the_environment_changes_the_decision(
    scene: Scene, clock: FakeClock
) -> None:
    held = await sms_at_2230(scene, clock, OrchestratorSettings())
    assert held.status == MessageStatus.HELD  # the seed's 22:00–08:00
    later = OrchestratorSettings(quiet_hours_start="23:30", quiet_hours_end="06:00")
    sent = await sms_at_2230(scene, clock, later)
    assert sent.status == MessageStatus.QUEUED and sent.decision.held_until is None


async def test_quiet_hours_end_from_the_environment_sets_the_release(
    scene: Scene, clock: FakeClock
) -> None:
    early = OrchestratorSettings(quiet_hours_start="22:00", quiet_hours_end="06:30")
    held = await sms_at_2230(scene, clock, early)
    assert held.decision.held_until == datetime(2026, 3, 11, 5, 30, tzinfo=UTC)  # 06:30 Paris


async def test_the_tenants_own_quiet_hours_override_the_environment(
    scene: Scene, clock: FakeClock
) -> None:
    store = scene.service.tenant_settings
    mine = (await store.get()).model_copy()
    await store.save({**mine.model_dump(mode="json"), "quiet_hours": {"start": "22:15"}})
    later = OrchestratorSettings(quiet_hours_start="23:30", quiet_hours_end="06:00")
    held = await sms_at_2230(scene, clock, later)
    assert held.status == MessageStatus.HELD


async def test_track_engagement_false_stops_criterion_8_and_says_so(
    scene: Scene, clock: FakeClock
) -> None:
    service = scene.service
    for day in range(6):  # Marie answers every SMS within minutes
        at = clock.now - timedelta(days=10 - day)
        await add_message(service, scene.prospect_id, "Merci", direction=Direction.OUTBOUND, at=at)
        await add_message(service, scene.prospect_id, "Oui", at=at + timedelta(minutes=3))
    draft = ReplyDraft(text="Bonjour")
    outbound = service.outbound
    tracked = await outbound.decide(scene.conversation_id, draft)
    outbound.settings = OrchestratorSettings(track_engagement=False)
    untracked = await outbound.decide(scene.conversation_id, draft)
    criteria = lambda d: {r.criterion: r for r in d.reasons}  # noqa: E731
    assert criteria(tracked)["engagement"].points > 0
    off = criteria(untracked)["engagement"]
    assert off.points == 0 and off.key == "orchestrator.reason.engagement.not_tracked"
    assert "ORCHESTRATOR_TRACK_ENGAGEMENT" in off.text
    assert untracked.confidence != tracked.confidence or untracked.reasons != tracked.reasons


async def test_the_facade_says_which_quiet_hours_apply_and_where_they_come_from(
    scene: Scene,
) -> None:
    outbound = scene.service.outbound
    quiet, source = await outbound.quiet_hours()
    assert (quiet.start.hour, source) == (22, "default")
    outbound.settings = Settings.model_validate(
        {"orchestrator": {"quiet_hours_start": "23:00"}}
    ).orchestrator
    quiet, source = await outbound.quiet_hours()
    assert (quiet.start.hour, source) == (23, "environment")
