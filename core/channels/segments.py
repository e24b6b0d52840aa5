"""SMS segment counting: GSM-7 or UCS-2, and how many parts a text takes (3GPP TS 23.038)."""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How an SMS body is encoded and split."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of one part as sent (160/153 or 70/67)


def _units(text: str) -> tuple[str, list[int]]:
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        return "GSM-7", [2 if ch in GSM_EXTENDED else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentInfo:
    """Encoding and number of segments of ``text`` sent as one SMS.

    A character is never split across two parts (an escape pair, a surrogate pair), so a part may
    hold one unit less than its capacity.
    """
    encoding, sizes = _units(text)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    total = sum(sizes)
    if total <= single:
        return SegmentInfo(encoding, total, 1 if text else 0, single)
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SegmentInfo(encoding, total, segments, multi)
