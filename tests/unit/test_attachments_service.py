"""service.attachments: which reference each provider's download gets, the cache, the cap."""

from __future__ import annotations

import pytest

from core.domain.enums import Channel, Provider
from core.errors import ConfigurationError, InvalidInput
from core.storage import tables as t
from tests.tui.scenario import build, say


class Recorder:
    """A runtime whose adapter records what it was asked to download."""

    def __init__(self) -> None:
        self.asked: list[tuple[Channel, Provider, str]] = []

    def adapter(self, channel, provider=None):
        recorder = self

        class Adapter:
            async def download_media(self, reference: str) -> tuple[bytes, str]:
                recorder.asked.append((channel, provider, reference))
                return b"content of " + reference.encode(), "image/jpeg"

        return Adapter()


async def _message(service, provider: Provider, channel: Channel, meta: dict) -> int:
    ids = await build(service)
    prospect = (await service.conversations.get(ids["marie_sms"])).prospect_id
    _, message_id = await say(service, prospect, "photo", channel=channel, meta=meta)
    async with service.db.session() as session:
        row = await session.get(t.MessageRow, message_id)
        row.provider = provider
    return message_id


@pytest.mark.parametrize(
    ("provider", "channel", "meta", "index", "reference"),
    [
        (
            Provider.TELEGRAM,
            Channel.TELEGRAM,
            {
                "attachments": [{"filename": "a.jpg"}, {"filename": "b.pdf"}],
                "extra": {"file_ids": ["AgAC-photo", "BQAC-doc"]},
            },
            1,
            "BQAC-doc",
        ),
        (
            Provider.META,
            Channel.WHATSAPP,
            {"attachments": [{"filename": "1234"}], "extra": {"media_id": "1234"}},
            0,
            "1234",
        ),
        (
            Provider.TWILIO,
            Channel.WHATSAPP,
            {"attachments": [{"filename": "ME1", "url": "https://api.twilio.com/x/Media/ME1"}]},
            0,
            "https://api.twilio.com/x/Media/ME1",
        ),
    ],
)
async def test_each_provider_gets_its_reference_once(
    service, tmp_path, provider, channel, meta, index, reference
) -> None:
    message_id = await _message(service, provider, channel, meta)
    runtime = Recorder()
    service.attachments.cache_dir = tmp_path / "cache"
    service.attachments.attach_runtime(runtime)
    path = await service.attachments.fetch(message_id, index)
    assert path.read_bytes() == b"content of " + reference.encode()
    assert path.is_relative_to(tmp_path / "cache")
    again = await service.attachments.fetch(message_id, index)  # from the cache
    assert again == path and runtime.asked == [(channel, provider, reference)]


async def test_no_runtime_and_too_big_are_clear_errors(service, tmp_path) -> None:
    meta = {"attachments": [{"filename": "big.jpg", "url": "https://api.twilio.com/M/ME2"}]}
    message_id = await _message(service, Provider.TWILIO, Channel.SMS, meta)
    service.attachments.cache_dir = tmp_path
    with pytest.raises(ConfigurationError, match="not running"):
        await service.attachments.fetch(message_id, 0)
    service.attachments.attach_runtime(Recorder())
    service.attachments.max_bytes = 10
    with pytest.raises(InvalidInput):
        await service.attachments.fetch(message_id, 0)
    assert not any(tmp_path.rglob("*.jpg"))


async def test_another_database_with_the_same_message_id_never_gets_this_cache(
    service, tmp_path
) -> None:
    meta = {"attachments": [{"filename": "a.jpg", "url": "https://api.twilio.com/M/ME3"}]}
    message_id = await _message(service, Provider.TWILIO, Channel.SMS, meta)
    service.attachments.cache_dir = tmp_path
    service.attachments.attach_runtime(Recorder())
    first = await service.attachments.fetch(message_id, 0)
    async with service.db.session() as session:  # as another database's message of that id
        row = await session.get(t.MessageRow, message_id)
        row.provider_message_id = "SM-other"
    second = await service.attachments.fetch(message_id, 0)
    assert second != first and second.parent.name.startswith(f"{message_id}-")


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("fr", ["photo 1.jpg", "fichier 2.zip", "a.pdf"]),
        ("en", ["photo 1.jpg", "file 2.zip", "a.pdf"]),
    ],
)
def test_a_file_without_a_name_is_named_from_its_type(language, names) -> None:
    """Twilio's MMS media come without a name (and older rows kept the media SID as one)."""
    from datetime import UTC, datetime

    from core import i18n
    from core.domain.models import Message
    from core.service.attachments import listed

    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/"
    sid = "ME" + "0123456789abcdef" * 2
    message = Message(
        id=1,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.SMS,
        direction="inbound",
        sender_type="prospect",
        status="delivered",
        content="",
        created_at=datetime(2026, 3, 10, tzinfo=UTC),
        metadata={
            "attachments": [
                {"filename": sid, "content_type": "image/jpeg", "url": url + sid},
                {"filename": "", "content_type": "application/zip", "url": url + "ME2"},
                {"filename": "a.pdf", "content_type": "application/pdf"},
            ]
        },
    )
    before = i18n.language()
    i18n.set_language(language)
    try:
        assert [a.filename for a in listed(message)] == names
        alone = message.model_copy(
            update={"metadata": {"attachments": [message.metadata["attachments"][0]]}}
        )
        assert [a.filename for a in listed(alone)] == ["photo.jpg"]
    finally:
        i18n.set_language(before)
