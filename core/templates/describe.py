"""What the template editor shows under a preview, in the active language."""

from __future__ import annotations

from core import i18n
from core.templates.message import RenderedMessage


def notes(rendered: RenderedMessage) -> list[str]:
    """Segment count, unknown variables, approval and signature notes for a rendered template."""
    lines: list[str] = []
    if rendered.segments is not None:
        lines.append(
            i18n.t(
                "templates.segments",
                count=rendered.segments.segments,
                encoding=rendered.segments.encoding,
            )
        )
    lines += [i18n.t("templates.unknown_variable", name=name) for name in rendered.warnings]
    if not rendered.approved:
        status = i18n.t(f"templates.approval.{rendered.approval_status or 'none'}")
        name = rendered.template.name if rendered.template else rendered.template_name
        lines.append(i18n.t("templates.not_approved", name=name, status=status))
    return lines
