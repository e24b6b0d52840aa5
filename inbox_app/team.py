"""Team mode in the app: which agent you are, who else is viewing, assigning conversations.

The screens call these; everything goes through the service (``service.conversations.assign``
writes the audit trail, ``service.team.presence`` tells the other apps).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from core.config.settings import config_file
from core.domain.models import Agent
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.screens.choice import ChoiceScreen

if TYPE_CHECKING:
    from inbox_app.app import InboxApp

ME, NOBODY = "me", "none"


def asks_which_agent(app: InboxApp, agents: list[Agent]) -> bool:
    """Whether the app must ask who you are: no agent configured, and a team to choose from.

    A team is a PostgreSQL database (shared by several machines) or several active agents;
    the demo never asks.
    """
    if _known_or_demo(app):
        return False
    return app.service.db.dialect == "postgresql" or len(agents) > 1


def _known_or_demo(app: InboxApp) -> bool:
    return app.service.ctx.agent_id is not None or app.settings.mode == "demo"


async def choose_agent_at_start(app: InboxApp, then: Callable[[], Awaitable[None]]) -> None:
    """Ask which agent you are if needed; remember it for the session, then call ``then``."""
    if _known_or_demo(app):
        return
    try:
        agents = [a for a in await app.service.agents.list() if a.active]
    except Exception as exc:
        notify_error(app, exc)
        return
    if not asks_which_agent(app, agents):
        return
    if not agents:
        app.notify(t("teamui.agent.none"), severity="warning", timeout=30, markup=False)
        return
    by_id = {str(a.id): a for a in agents}

    async def picked(key: str | None) -> None:
        agent = by_id.get(key or "")
        if agent is None:
            app.notify(t("teamui.agent.not_chosen"), severity="warning", timeout=12, markup=False)
            return
        app.service.act_as(agent)
        quoted = json.dumps(agent.name, ensure_ascii=False)
        message = t("teamui.agent.you_are", name=agent.name, quoted=quoted, config=config_file())
        app.notify(message, timeout=15, markup=False)
        await then()

    choices = [(key, agent.name) for key, agent in by_id.items()]
    app.push_screen(ChoiceScreen(t("teamui.agent.who_are_you"), choices), picked)


async def assign_choices(app: InboxApp) -> list[tuple[str, str]]:
    """The assign dialog's lines: me first (when known), the other active agents, nobody."""
    me = app.service.ctx.agent_id
    choices: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for agent in await app.service.agents.list():
        if agent.id == me:
            choices.append((ME, t("teamui.assign.me", name=agent.name)))
        elif agent.active:
            others.append((str(agent.id), agent.name))
    return [*choices, *others, (NOBODY, t("teamui.assign.nobody"))]


async def assign(app: InboxApp, conversation_id: int, key: str) -> bool:
    """Give the conversation to the agent the dialog's ``key`` names; True when done."""
    if key == ME:
        return await take(app, conversation_id)
    agent_id = None if key == NOBODY else int(key)
    try:
        await app.service.conversations.assign(conversation_id, agent_id)
    except Exception as exc:
        notify_error(app, exc)
        return False
    done = t("teamui.assign.released") if agent_id is None else t("ui.done.assigned")
    app.notify(done, timeout=3, markup=False)
    return True


async def take(app: InboxApp, conversation_id: int) -> bool:
    """Assign the conversation to the agent using the app; True when done."""
    me = app.service.ctx.agent_id
    if me is None:
        app.notify(t("teamui.assign.no_agent"), severity="warning", timeout=8, markup=False)
        return False
    try:
        await app.service.conversations.assign(conversation_id, me)
    except Exception as exc:
        notify_error(app, exc)
        return False
    app.notify(t("teamui.assign.taken"), timeout=3, markup=False)
    return True


async def pick_assignee(
    app: InboxApp, conversation_id: int, done: Callable[[], Awaitable[None]]
) -> None:
    """Open the assign dialog for ``conversation_id``; call ``done`` after a change."""
    try:
        choices = await assign_choices(app)
    except Exception as exc:
        notify_error(app, exc)
        return

    async def picked(key: str | None) -> None:
        if key and await assign(app, conversation_id, key):
            await done()

    app.push_screen(ChoiceScreen(t("ui.ask.assign"), choices), picked)
