"""How a file reads in the thread: its kind (PDF, image PNG…) and its size, in the agent's
language."""

from __future__ import annotations

from core.i18n import format_number, t


def attachment_kind(content_type: str) -> str:
    """``application/pdf`` → "PDF", ``image/png`` → "image PNG", else the type itself."""
    main, _, sub = content_type.partition("/")
    if content_type == "application/pdf":
        return t("attachui.kind.pdf")
    if main in ("image", "audio", "video") and sub:
        return t(f"attachui.kind.{main}", sub=sub.upper())
    return t("attachui.kind.other", type=content_type)


def file_size(size: int | None) -> str:
    """``184322`` → "180 KB" ("180 Ko" in French); None → "size unknown"."""
    if size is None:
        return t("attachui.size_unknown")
    if size < 1024:
        return t("attachui.bytes", n=format_number(size))
    if size < 1024 * 1024:
        return t("attachui.kb", n=format_number(size / 1024, 0 if size >= 10 * 1024 else 1))
    return t("attachui.mb", n=format_number(size / 1_048_576, 1))
