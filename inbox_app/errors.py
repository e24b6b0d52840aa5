"""Errors shown as notifications: the core's clear messages, never a traceback."""

from __future__ import annotations

import logging

from textual.app import App

from core.errors import CoccinelleError
from core.i18n import t
from inbox_app.render.safe import one_line

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """One translated sentence for ``exc``."""
    if isinstance(exc, CoccinelleError):
        return t("ui.error.core", message=one_line(exc, 300))
    if isinstance(exc, OSError | TimeoutError):
        return t("ui.error.network", message=one_line(exc, 200))
    return t("ui.error.unexpected", kind=type(exc).__name__)


def notify_error(app: App[object], exc: BaseException, frame: str | None = None) -> None:
    """Tell the agent what went wrong (details go to the log).

    ``frame``, a translated text with a ``{message}`` placeholder, says what it means for them
    (e.g. "Not sent — {message} Your text is kept").
    """
    if not isinstance(exc, CoccinelleError):
        log.error("unexpected error in the app", exc_info=exc)
    message = describe(exc)
    if frame is not None:
        message = frame.replace("{message}", message)
    app.notify(message, severity="error", markup=False, timeout=8)
