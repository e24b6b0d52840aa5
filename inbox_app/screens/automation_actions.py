"""The conversation screen's automation key: resume a paused automation, settle what it held.

``service.automation`` (``core.service.automation``) does the work; this asks the agent which.
"""

from __future__ import annotations

from textual.binding import Binding

from core.i18n import format_datetime, t
from inbox_app.errors import notify_error
from inbox_app.screens.choice import ChoiceScreen

AUTOMATION_BINDING = Binding(
    "ctrl+r",
    "automation",
    t("automation.ui.key"),
    show=False,
    id="automation",
    tooltip=t("automation.ui.tip"),
)


class AutomationActions:
    """Mixed into a screen with ``conversation_id``, ``tz`` and ``reload()``."""

    conversation_id: int

    async def action_automation(self) -> None:
        automation = self.app.service.automation  # type: ignore[attr-defined]
        try:
            state = await automation.state(self.conversation_id)
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        if not state.paused and not state.held:
            self.notify(t("automation.not_paused"), timeout=4)  # type: ignore[attr-defined]
            return
        lines = [t("automation.ui.title")]
        if state.paused:
            when = format_datetime(state.paused_at, self.tz, "short")  # type: ignore[attr-defined]
            why = t(f"automation.reason_{state.reason}")
            lines.append(t("automation.ui.paused", when=when, why=why))
        if state.held:
            lines.append(t("automation.ui.held", count=state.held))
        choices = []
        if state.paused:
            choices.append(("resume", t("automation.ui.resume")))
            if state.held:
                choices.append(("resume_release", t("automation.ui.resume_release")))
        elif state.held:
            choices.append(("release", t("automation.ui.release")))
        if state.held:
            choices.append(("discard", t("automation.ui.discard")))

        async def picked(choice: str | None) -> None:
            if choice is not None:
                await self._settle_automation(choice)

        self.app.push_screen(ChoiceScreen("\n".join(lines), choices), picked)  # type: ignore[attr-defined]

    async def _settle_automation(self, choice: str) -> None:
        automation = self.app.service.automation  # type: ignore[attr-defined]
        try:
            if choice in ("resume", "resume_release"):
                released = await automation.resume_automation(
                    self.conversation_id, release=choice == "resume_release"
                )
                done = t("automation.ui.resumed")
                if released:
                    done += " " + t("automation.released", count=released)
            elif choice == "release":
                done = t(
                    "automation.released", count=await automation.release_held(self.conversation_id)
                )
            else:
                done = t(
                    "automation.discarded",
                    count=await automation.discard_held(self.conversation_id),
                )
        except Exception as exc:
            notify_error(self.app, exc)  # type: ignore[attr-defined]
            return
        self.notify(done, timeout=4, markup=False)  # type: ignore[attr-defined]
        await self.reload()  # type: ignore[attr-defined]
