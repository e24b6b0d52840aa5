"""Issue 19 item 13: a call's transcript names its speakers rightly, a template never shows a raw
``[agent_name]``, and the demo without ``--agent`` is its first agent."""

from __future__ import annotations

from textual.widgets import OptionList

from core.domain.enums import Channel, MessageKind, SenderType
from core.domain.models import TemplateDraft
from inbox_app.widgets.conversation.timeline import Timeline
from tests.tui.helpers import settle
from tests.tui.scenario import say
from tests.tui.test_conversation import open_conversation, timeline_text


async def test_an_outbound_calls_transcript_names_assistant_agent_and_prospect(
    app, ids, service, lang
) -> None:
    luc = (await service.conversations.thread(ids["luc_voice"])).prospect.id
    await say(
        service,
        luc,
        "",
        channel=Channel.VOICE,
        outbound=True,
        kind=MessageKind.CALL,
        sender=SenderType.AGENT,
        sender_id=ids["agent"],
        meta={
            "duration_seconds": 30,
            "transcript": "AI: Bonjour, ici l'agence.\nUser: Oui, je confirme.\nAgent: Parfait.",
        },
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["luc_voice"])
        timeline = app.screen.query_one(Timeline)
        timeline.index = max(
            i
            for i, item in enumerate(timeline.items)
            if item.message and item.message.kind == MessageKind.CALL
        )
        await pilot.press("enter")
        await settle(pilot)
        text = timeline_text(app)
    colon = ":" if lang == "en" else " :"
    assert f"Sara{colon} Bonjour, ici l'agence." in text
    assert f"Prospect{colon} Oui, je confirme." in text
    assert f"Camille{colon} Parfait." in text  # the agent who placed the call, by name
    assert "User:" not in text and "AI:" not in text


async def test_a_template_without_an_agent_signs_with_the_agency(app, ids, service) -> None:
    service.ctx.agent_id = None  # a script, or nobody picked yet
    company = (await service.tenant_settings.get()).company.name
    assert company
    await service.templates.save(
        TemplateDraft(channel=Channel.SMS, name="signe", content="À bientôt. {{agent_name}}")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        options.highlighted = next(i for i, p in enumerate(prompts) if p.startswith("signe "))
        await pilot.press("enter")
        await settle(pilot)
        body = app.screen.query_one("#body").text
    assert body == f"À bientôt. {company}"
    assert "[agent_name]" not in body
