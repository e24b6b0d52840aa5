"""Saving attachments a stranger sent, safely.

A file name from an email or a chat is untrusted: it may try ``../``, an absolute path, a Windows
device name, control characters or right-to-left overrides. ``safe_filename`` turns it into a plain
name; ``save_attachment`` writes only inside the folder the agent chose, never over an existing
file, and refuses anything over the size limit.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from core.errors import InvalidInput

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_NAME = 120
_DEVICE_NAMES = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}
_UNSAFE = re.compile(r"[^\w.\- ()+,@]", re.UNICODE)


def safe_filename(raw: str, default: str = "attachment") -> str:
    """A file name with no directory part, no control or invisible characters, no device name."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if not stem or stem.lower() in _DEVICE_NAMES or stem.split(".")[0].lower() in _DEVICE_NAMES:
        stem = default
    suffix = suffix[:10]
    stem = stem[: MAX_NAME - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def save_attachment(
    folder: Path, raw_name: str, content: bytes, limit: int = MAX_ATTACHMENT_BYTES
) -> Path:
    """Write ``content`` under ``folder`` with a safe, unused name; return the path.

    Raises:
        InvalidInput: the content is over ``limit`` or the folder does not exist.
    """
    if len(content) > limit:
        raise InvalidInput("attachment", raw_name, f"a file of at most {limit // 1_048_576} MB")
    base = folder.resolve()
    if not base.is_dir():
        raise InvalidInput("folder", str(folder), "an existing folder")
    name = safe_filename(raw_name)
    target = base / name
    stem, suffix = target.stem, target.suffix
    counter = 1
    while target.exists():
        target = base / f"{stem} ({counter}){suffix}"
        counter += 1
    if target.resolve().parent != base:
        raise InvalidInput("attachment", raw_name, "a name inside the chosen folder")
    with open(target, "xb") as handle:
        handle.write(content)
    return target
