"""What the demo prospects and the agency said to each other: one module per channel.

``FRENCH_STORIES`` and ``ENGLISH_STORIES`` are the order in which the seeder hands stories out.
"""

from __future__ import annotations

from core.demo.script import (
    AGENCY,
    AGENT,
    ERRORS,
    PLACES,
    PROSPECT,
    SARA,
    Beat,
    Booking,
    Kit,
    Story,
    StoryBuilder,
    visit_time,
)
from core.demo.stories.email import (
    email_compromis,
    email_energy_rating,
    email_english_rental,
    email_estimation,
    email_mandate,
    email_newsletter_bounce,
    email_rental_file,
)
from core.demo.stories.sms import (
    sms_invalid_number,
    sms_keys,
    sms_offer,
    sms_price_question,
    sms_queued,
    sms_rating,
    sms_stop,
    sms_unreachable,
    sms_visit_cancelled,
    sms_visit_confirmed,
)
from core.demo.stories.telegram import (
    telegram_booking,
    telegram_cancel,
    telegram_info,
    telegram_start,
)
from core.demo.stories.voice import (
    voice_agent_call,
    voice_inbound_estimation,
    voice_inbound_rental,
    voice_missed_then_sms,
    voice_reminder_call,
    voice_voicemail,
)
from core.demo.stories.whatsapp import (
    whatsapp_english,
    whatsapp_feedback,
    whatsapp_location,
    whatsapp_photos,
    whatsapp_questions,
    whatsapp_reminder,
    whatsapp_unknown,
)

#: Stories in the order prospects are given them; the seeder cycles through them.
FRENCH_STORIES: tuple[StoryBuilder, ...] = (
    sms_visit_confirmed,
    email_estimation,
    whatsapp_photos,
    voice_inbound_estimation,
    telegram_start,
    sms_price_question,
    email_rental_file,
    whatsapp_location,
    voice_reminder_call,
    sms_invalid_number,
    whatsapp_questions,
    email_compromis,
    voice_missed_then_sms,
    telegram_booking,
    sms_stop,
    whatsapp_unknown,
    sms_rating,
    email_newsletter_bounce,
    voice_voicemail,
    sms_unreachable,
    whatsapp_reminder,
    telegram_info,
    voice_agent_call,
    sms_queued,
    sms_visit_cancelled,
    sms_offer,
    email_mandate,
    whatsapp_feedback,
    telegram_cancel,
    voice_inbound_rental,
    email_energy_rating,
    sms_keys,
)
ENGLISH_STORIES: tuple[StoryBuilder, ...] = (email_english_rental, whatsapp_english)
#: Stories told only once: a second "I'm at the door" in the same hour would look staged.
ONCE = frozenset({"sms_queued", "sms_invalid_number", "voice_missed_then_sms"})

__all__ = [
    "AGENCY",
    "AGENT",
    "ENGLISH_STORIES",
    "ERRORS",
    "FRENCH_STORIES",
    "ONCE",
    "PLACES",
    "PROSPECT",
    "SARA",
    "Beat",
    "Booking",
    "Kit",
    "Story",
    "StoryBuilder",
    "visit_time",
]
