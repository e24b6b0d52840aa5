"""The demo agency's prospects and agents: names, numbers and habits, drawn from a seeded RNG."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from core.domain.enums import Channel
from core.domain.models import ProspectDraft

AGENTS = (
    ("Claire Martin", "claire.martin@agence-demo.fr"),
    ("Julien Moreau", "julien.moreau@agence-demo.fr"),
    ("Sophie Bernard", "sophie.bernard@agence-demo.fr"),
)

FRENCH_FIRST = (
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Camille",
    "Léa",
    "Chloé",
    "Manon",
    "Inès",
    "Élodie",
    "Céline",
    "Hélène",
    "Aurélie",
    "Margaux",
    "Agnès",
    "Brigitte",
    "Zoé",
    "Jean",
    "Pierre",
    "Michel",
    "Philippe",
    "Nicolas",
    "Thomas",
    "Antoine",
    "Hugo",
    "Lucas",
    "Mathieu",
    "Frédéric",
    "Stéphane",
    "Jérôme",
    "Benoît",
    "Rémi",
    "Théo",
    "Karim",
    "Yanis",
)
FRENCH_LAST = (
    "Dupont",
    "Durand",
    "Lefèvre",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Girard",
    "Bonnet",
    "Mercier",
    "Faure",
    "André",
    "Garnier",
    "Chevalier",
    "Françoise",
    "Legrand",
    "Gauthier",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Blanchard",
    "Brun",
    "Boyer",
    "Lemoine",
    "Caron",
    "Benali",
    "Nguyen",
    "Da Silva",
    "Haddad",
    "Besnard",
)
#: English speakers: an expat renting, buyers of a pied-à-terre; (first, last, country, zone).
ENGLISH = (
    ("Emily", "Carter", "GB", "Europe/London"),
    ("James", "Whitfield", "GB", "Europe/London"),
    ("Olivia", "Bennett", "US", "America/New_York"),
    ("Daniel", "Okafor", "AE", "Asia/Dubai"),
)
#: French speakers living abroad (a couple of time zones away from Paris).
ABROAD = (("CA", "America/Montreal"), ("CH", "Europe/Zurich"))

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
PROSPECT_COUNT = 60


@dataclass(frozen=True)
class DemoPerson:
    """A prospect to create, with the language the stories should speak to them."""

    draft: ProspectDraft
    first_name: str
    english: bool


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace(" ", "")


def mobile_number(rng: random.Random, region: str = "FR") -> str:
    """A valid mobile number in E.164 for ``region`` (French 06/07 numbers by default)."""
    import phonenumbers  # only the seeder draws numbers; the demo's start reads the agents

    for _ in range(1000):
        if region == "FR":
            raw = f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
        else:
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
            if example is None:
                raise ValueError(f"no mobile numbers known for region {region!r}")
            national = str(example.national_number)
            tail = f"{rng.randrange(10**4):04d}"
            raw = f"+{example.country_code}{national[:-4]}{tail}"
        number = phonenumbers.parse(raw)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise RuntimeError(f"no valid mobile number drawn for {region}")  # pragma: no cover


def demo_people(rng: random.Random, count: int = PROSPECT_COUNT) -> list[DemoPerson]:
    """``count`` distinct prospects: mostly French, four English speakers, two French abroad."""
    people: list[DemoPerson] = []
    seen: set[str] = set()
    english = list(ENGLISH)
    abroad = list(ABROAD)
    while len(people) < count:
        index = len(people)
        if index % 14 == 5 and english:
            first, last, region, zone = english.pop(0)
            people.append(_person(rng, first, last, region, zone, "en", index))
            continue
        first, last = rng.choice(FRENCH_FIRST), rng.choice(FRENCH_LAST)
        if f"{first} {last}" in seen:
            continue
        seen.add(f"{first} {last}")
        region, zone = ("FR", "Europe/Paris")
        if index % 23 == 11 and abroad:
            region, zone = abroad.pop(0)
        people.append(_person(rng, first, last, region, zone, "fr", index))
    return people


def _person(
    rng: random.Random, first: str, last: str, region: str, zone: str, language: str, index: int
) -> DemoPerson:
    phone = mobile_number(rng, region)
    email = f"{_ascii(first)}.{_ascii(last)}@{EMAIL_DOMAINS[index % len(EMAIL_DOMAINS)]}"
    has_telegram = index % 5 == 2
    opted_out: list[Channel] = [Channel.EMAIL] if index % 19 == 7 else []
    draft = ProspectDraft(
        display_name=f"{first} {last}",
        phone=phone,
        email=email if index % 9 != 4 else None,
        whatsapp=phone if index % 3 != 1 else None,
        telegram_chat_id=rng.randrange(10**8, 10**10) if has_telegram else None,
        timezone=zone,
        language=language,
        opted_out_channels=opted_out,
    )
    return DemoPerson(draft=draft, first_name=first, english=language == "en")
