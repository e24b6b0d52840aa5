"""Demo stories: Telegram (bot commands)."""

from __future__ import annotations

from core.demo.script import AGENCY, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.enums import AppointmentStatus, Channel, MessageStatus, Priority


def telegram_start(k: Kit) -> Story:
    """The bot's /start and a rental search."""
    return Story(
        Channel.TELEGRAM,
        (
            Beat(PROSPECT, "/start"),
            Beat(
                SARA,
                f"Bonjour {k.first_name} ! Je suis Sara, l'assistante de l'Agence "
                "Immobilière Demo. Tapez /rdv pour vos rendez-vous, /info pour nos "
                "coordonnées ou posez-moi votre question.",
                after=0.1,
                status=MessageStatus.SENT,
            ),
            Beat(
                PROSPECT, "Je cherche un 2 pièces à louer dans le 18e, budget 1 300 € max", after=2
            ),
        ),
        labels=("location",),
    )


def telegram_booking(k: Kit) -> Story:
    """A visit booked through /nouveau_rdv."""
    return Story(
        Channel.TELEGRAM,
        (
            Beat(PROSPECT, "/nouveau_rdv"),
            Beat(
                SARA,
                "Voici les prochains créneaux disponibles pour une visite :\n"
                + "\n".join(f"• {k.when(at)}" for at in (k.visit_at, *k.alternatives)),
                after=0.1,
                status=MessageStatus.SENT,
            ),
            Beat(PROSPECT, k.when(), after=3),
            Beat(
                SARA,
                f"C'est noté : visite au {k.address} {k.when()}. Un conseiller vous "
                "confirme le rendez-vous.",
                after=0.1,
                status=MessageStatus.SENT,
            ),
        ),
        labels=("achat",),
        booking=Booking(AppointmentStatus.PROPOSED, 2),
    )


def telegram_info(k: Kit) -> Story:
    """The agency's details through /info."""
    name, address, _, _ = AGENCY
    return Story(
        Channel.TELEGRAM,
        (
            Beat(PROSPECT, "/info"),
            Beat(
                SARA,
                f"{name}\n{address}\nLun–Ven 9h–19h, Sam 10h–17h\n01 42 00 00 00",
                after=0.1,
                status=MessageStatus.SENT,
            ),
            Beat(PROSPECT, "Merci !", after=1),
        ),
        priority=Priority.LOW,
    )


def telegram_cancel(k: Kit) -> Story:
    """Appointments listed with /rdv and one cancelled with /annuler."""
    return Story(
        Channel.TELEGRAM,
        (
            Beat(PROSPECT, "/rdv"),
            Beat(
                SARA,
                f"Vos rendez-vous :\n• Visite — {k.address}, {k.when()}",
                after=0.1,
                status=MessageStatus.SENT,
            ),
            Beat(PROSPECT, "/annuler", after=2),
            Beat(
                SARA,
                f"Votre visite du {k.when()} est annulée. Tapez /nouveau_rdv pour en "
                "choisir une autre.",
                after=0.1,
                status=MessageStatus.SENT,
            ),
        ),
        labels=("achat",),
        booking=Booking(AppointmentStatus.CANCELLED, 1),
    )
