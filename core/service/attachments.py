"""The files prospects send: listed from a message's metadata, fetched through the channel's
adapter into a cache under the data directory, saved where the agent chooses.

A message's ``attachments`` metadata is a list of file names or of ``{"filename", "content_type",
"size", "url", "data"}``. The content comes from, in order: the cache; ``data`` (base64, small
files kept with the message, as the demo does); the adapter's ``download_media`` with the
provider's reference (Telegram ``extra["file_ids"][i]``, Meta ``extra["media_id"]``, else the
attachment's ``url``, e.g. a Twilio media URL fetched with the account's credentials).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core import i18n
from core.channels.adapter import ChannelAdapter
from core.domain.enums import Channel, Provider
from core.domain.models import Message
from core.errors import ConfigurationError, InvalidInput, NotFound
from core.files import safe_filename, save_attachment
from core.media import MAX_MEDIA_BYTES
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext


class AdapterRuntime(Protocol):
    """What fetching needs of the engine's channel runtime."""

    def adapter(self, channel: Channel, provider: Provider | str | None = None) -> ChannelAdapter:
        """The adapter of ``channel`` through ``provider``."""
        ...


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment of a message, as listed in the thread."""

    index: int
    filename: str
    content_type: str
    size: int | None = None


def listed(message: Message) -> list[AttachmentInfo]:
    """The attachments of ``message``, in the order they arrived."""
    items = (message.metadata or {}).get("attachments") or []
    found = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            name = str(item.get("filename") or item.get("name") or "")
            if _provider_id(name):
                name = ""  # a media SID is no name (older rows kept Twilio's)
            tail = str(item.get("url") or "").rstrip("/").rsplit("/", 1)[-1]
            if not name and "." in tail and not _provider_id(tail):
                name = tail
            kind = str(item.get("content_type") or _guess(name))
            size = item.get("size")
            name = name or named_from_type(kind, index + 1 if len(items) > 1 else None)
            found.append(AttachmentInfo(index, name, kind, size if isinstance(size, int) else None))
        else:
            found.append(AttachmentInfo(index, str(item), _guess(str(item))))
    return found


#: A provider's media id given as the file name (Twilio's ``ME…`` media SID).
_MEDIA_SID = re.compile(r"^ME[0-9a-fA-F]{32}$")


def _provider_id(name: str) -> bool:
    return bool(_MEDIA_SID.match(name))


def named_from_type(content_type: str, number: int | None = None) -> str:
    """A file name for a file the provider sent without one, in the agent's language:
    "photo.jpg", "fichier 2.zip" (``number`` when the message has several)."""
    main = content_type.split(";")[0].strip().lower()
    family = main.split("/")[0]
    word = "pdf" if main == "application/pdf" else family
    if word not in ("image", "video", "audio", "pdf"):
        word = "other"
    stem = i18n.t(f"attachui.unnamed.{word}")
    extension = mimetypes.guess_extension(main) or ""
    return f"{stem} {number}{extension}" if number is not None else f"{stem}{extension}"


class Attachments:
    """Fetch and save the attachments of received messages."""

    def __init__(
        self, ctx: ServiceContext, cache_dir: Path | None, max_bytes: int = MAX_MEDIA_BYTES
    ) -> None:
        self.ctx = ctx
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes
        self.runtime: AdapterRuntime | None = None

    def attach_runtime(self, runtime: AdapterRuntime) -> None:
        """Give the adapters downloads go through (the engine's, once started)."""
        self.runtime = runtime

    async def fetch(self, message_id: int, index: int) -> Path:
        """The attachment's content as a file in the cache (downloaded the first time).

        Raises:
            NotFound: no such message or attachment.
            InvalidInput: the file is over the size limit.
            ConfigurationError: there is no cache, or no running channel to download it from.
            ProviderError: the provider refused or failed the download.
        """
        message = await self._message(message_id)
        items = (message.metadata or {}).get("attachments") or []
        if not 0 <= index < len(items):
            raise NotFound("attachment", index)
        info = listed(message)[index]
        if self.cache_dir is None:
            raise ConfigurationError("no data directory to keep attachments in")
        target = self.cache_dir / _folder_of(message) / f"{index}-{safe_filename(info.filename)}"
        if target.is_file():
            return target
        item = items[index] if isinstance(items[index], dict) else {}
        content = await self._content(message, index, item)
        if len(content) > self.max_bytes:
            raise InvalidInput(
                "attachment", info.filename, f"a file of at most {self.max_bytes // 1_048_576} MB"
            )
        await asyncio.to_thread(_write, target, content)
        return target

    async def save(self, message_id: int, index: int, folder: Path) -> Path:
        """Copy the attachment into ``folder`` under a safe name that is not taken yet.

        Raises what ``fetch`` raises, and ``InvalidInput`` when the folder does not exist.
        """
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise InvalidInput("folder", str(folder), "an existing folder")
        cached = await self.fetch(message_id, index)
        name = listed(await self._message(message_id))[index].filename
        content = await asyncio.to_thread(cached.read_bytes)
        return await asyncio.to_thread(save_attachment, folder, name, content, self.max_bytes)

    async def _message(self, message_id: int) -> Message:
        async with self.ctx.db.session() as session:
            row = await session.get(t.MessageRow, message_id)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                raise NotFound("message", message_id)
            return convert.message(row)

    async def _content(self, message: Message, index: int, item: dict[str, Any]) -> bytes:
        if item.get("data"):
            try:
                return base64.b64decode(str(item["data"]), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput("attachment", item.get("filename"), "valid content") from None
        reference = _reference(message, index, item)
        if reference is None:
            raise NotFound("attachment content", item.get("filename") or index)
        if self.runtime is None or message.provider is None:
            raise ConfigurationError("the channels are not running: attachments cannot be fetched")
        adapter = await asyncio.to_thread(self.runtime.adapter, message.channel, message.provider)
        content, _kind = await adapter.download_media(reference)
        return content


def _folder_of(message: Message) -> str:
    """The message's cache folder: its id, and a digest of what it is, so that another database
    sharing the data directory (the demo, then a real one) never finds this one's files."""
    what = f"{message.provider_message_id}|{message.created_at.isoformat()}|{message.content}"
    return f"{message.id}-{hashlib.sha256(what.encode()).hexdigest()[:12]}"


def _guess(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _reference(message: Message, index: int, item: dict[str, Any]) -> str | None:
    extra = (message.metadata or {}).get("extra") or {}
    if message.provider == Provider.TELEGRAM:
        ids = extra.get("file_ids") or []
        return str(ids[index]) if index < len(ids) and ids[index] else None
    if message.provider == Provider.META and extra.get("media_id"):
        return str(extra["media_id"])
    return str(item["url"]) if item.get("url") else None


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(content)
    partial.replace(target)
