"""The notes under a template preview and the campaign phrases, in both languages."""

from __future__ import annotations

import pytest

from core import i18n
from core.campaigns.describe import condition, left_reason
from core.domain.enums import ApprovalStatus, Channel
from core.domain.models import MessageTemplate
from core.templates.describe import notes
from core.templates.message import render_message


@pytest.fixture(params=["fr", "en"])
def language(request):
    previous = i18n.language()
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(previous)


def test_notes_name_segments_unknown_variables_and_approval(language) -> None:
    sms = MessageTemplate(
        id=1, tenant_id=1, channel=Channel.SMS, name="t", content="Salut 🙂 {{x}}"
    )
    lines = notes(render_message(sms, {"x": "1"}))
    assert "UCS-2" in lines[0] and "1" in lines[0]
    assert lines[1].count("{{x}}") == 1
    wa = MessageTemplate(
        id=2,
        tenant_id=1,
        channel=Channel.WHATSAPP,
        name="rdv",
        whatsapp_name="rdv_confirmation_fr",
        content="{{1}}",
        variables=("a",),
        approval_status=ApprovalStatus.PENDING,
    )
    (line,) = notes(render_message(wa, {"a": "1"}))
    assert "rdv_confirmation_fr" in line
    assert ("en attente" if language == "fr" else "pending") in line


def test_campaign_phrases(language) -> None:
    assert "rdv_time" in left_reason("missing_variable:rdv_time")
    assert left_reason("replied") == ("a répondu" if language == "fr" else "replied")
    assert condition(None) == ""
    assert condition("email_opened").startswith("si" if language == "fr" else "if")


def test_campaign_progress_lines(language) -> None:
    from core.campaigns.describe import progress_lines
    from core.campaigns.model import CampaignProgress, StepProgress

    progress = CampaignProgress(
        campaign_id=1,
        status="running",
        enrolled=9,
        active=4,
        completed=3,
        left=2,
        left_reasons={"replied": 2},
        steps=(StepProgress(position=0, sent=3, queued=1, deferred=2, failed=1, skipped=1),),
    )
    (line,) = progress_lines(progress)
    assert line.startswith("Étape 1" if language == "fr" else "Step 1")
    for number in ("3", "2", "1"):
        assert number in line
    assert ("différés" if language == "fr" else "deferred") in line
