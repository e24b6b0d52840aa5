"""The pieces a demo story is written with: beats, bookings, stories and the kit they draw on.

A story is a short script of beats; the seeder gives it a prospect, a moment and writes each
beat through the real write path. Times in a story are minutes after the previous beat.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.domain.enums import AppointmentStatus, Channel, MessageKind, MessageStatus, Priority

PROSPECT, AGENT, SARA = "prospect", "agent", "sara"

PLACES = (
    ("8 rue Oberkampf, 75011 Paris", "3 pièces de 68 m²", "545 000 €", 48.8649, 2.3700),
    (
        "27 avenue de la République, 94300 Vincennes",
        "maison de 110 m²",
        "890 000 €",
        48.8474,
        2.4390,
    ),
    ("14 rue des Martyrs, 75009 Paris", "2 pièces de 42 m²", "1 480 € CC", 48.8790, 2.3400),
    ("5 place Jean-Jaurès, 93100 Montreuil", "4 pièces de 85 m²", "498 000 €", 48.8620, 2.4420),
    ("31 rue de Charonne, 75011 Paris", "studio de 24 m²", "890 € CC", 48.8530, 2.3790),
    ("62 boulevard Voltaire, 75011 Paris", "5 pièces de 120 m²", "1 250 000 €", 48.8600, 2.3750),
    ("9 rue Lepic, 75018 Paris", "2 pièces de 38 m²", "399 000 €", 48.8850, 2.3330),
    ("18 rue Saint-Antoine, 75004 Paris", "3 pièces de 72 m²", "2 350 € CC", 48.8540, 2.3640),
)
#: The agency's time zone: every time a story writes is wall-clock time there.
PARIS = ZoneInfo("Europe/Paris")
AGENCY = ("Agence Immobilière Demo", "15 rue de la Paix, 75002 Paris", 48.8686, 2.3314)

ERRORS = {
    "21211": "Invalid 'To' Phone Number",
    "30003": "Unreachable destination handset",
    "30005": "Unknown destination handset",
}


@dataclass(frozen=True)
class Beat:
    """One thread item."""

    who: str
    text: str
    after: float = 3.0
    kind: MessageKind = MessageKind.MESSAGE
    subject: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: Final status of an outbound item (the seeder walks it through the statuses before it).
    status: MessageStatus | None = None
    error: str | None = None
    #: A reminder of the story's appointment: its id and purpose go into the metadata.
    reminder: bool = False


@dataclass(frozen=True)
class Booking:
    """An appointment the story books; ``days`` from the story's last beat."""

    status: AppointmentStatus
    days: float
    kind: str = "visit"


@dataclass(frozen=True)
class Story:
    """A conversation on one channel."""

    channel: Channel
    beats: tuple[Beat, ...]
    subject: str | None = None
    labels: tuple[str, ...] = ()
    priority: Priority = Priority.MEDIUM
    booking: Booking | None = None
    opt_out: bool = False
    note: str | None = None
    #: The story that should follow on another channel, as a switched conversation.
    follow_up: Story | None = None
    #: First name of the agent who signs the agent's lines (the conversation is theirs).
    agent: str | None = None


@dataclass(frozen=True)
class Kit:
    """What a story may use: the RNG, the prospect's first name, a property and the visit.

    ``visit_at`` is the story's appointment (or a moment near its end when it has none);
    ``alternatives`` are other free slots of the same agent, for a list of proposals.
    """

    rng: random.Random
    first_name: str
    english: bool
    place: tuple[str, str, str, float, float]
    visit_at: datetime
    alternatives: tuple[datetime, ...] = ()

    @property
    def address(self) -> str:
        return self.place[0]

    @property
    def what(self) -> str:
        return self.place[1]

    @property
    def price(self) -> str:
        return self.place[2]

    def when(self, moment: datetime | None = None) -> str:
        """The visit (or ``moment``) as people write it in a text, in Paris ("jeudi 14h30")."""
        local = (moment or self.visit_at).astimezone(PARIS)
        return f"{FRENCH_DAYS[local.weekday()]} {local.hour}h{local:%M}"

    def when_en(self) -> str:
        """The visit as an English speaker writes it, in Paris time ("Tuesday at 11am")."""
        local = self.visit_at.astimezone(PARIS)
        hour = f"{local.hour % 12 or 12}" + (f":{local:%M}" if local.minute else "")
        return f"{ENGLISH_DAYS[local.weekday()]} at {hour}{'am' if local.hour < 12 else 'pm'}"

    def url(self, path: str) -> str:
        token = f"{self.rng.getrandbits(40):010x}"
        return f"https://media.agence-demo.fr/{token}/{path}"


StoryBuilder = Callable[[Kit], Story]
FRENCH_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


#: Wished appointment times, as half hours of the agency's day (its lunch break left out).
WISHED_TIMES = tuple((h, m) for h in (9, 10, 11, 14, 15, 16, 17) for m in (0, 30))


def visit_time(rng: random.Random, around: datetime) -> datetime:
    """A wished visit time (a half hour of a working day, in Paris) on ``around``'s day, in UTC.

    Only a wish: the seeder moves it to the agent's next free slot within the agency's hours.
    """
    hour, minute = WISHED_TIMES[rng.randrange(len(WISHED_TIMES))]
    local = around.astimezone(PARIS)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot.weekday() == 6:  # no visits on Sunday
        slot += timedelta(days=1)
    return slot.astimezone(UTC)
