"""Demo stories: WhatsApp."""

from __future__ import annotations

from core.demo.files import demo_file
from core.demo.script import AGENCY, AGENT, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.enums import AppointmentStatus, Channel, MessageStatus, Priority


def whatsapp_photos(k: Kit) -> Story:
    """Photos of a flat sent for a valuation."""
    photos = [demo_file(f"photo_{name}.png") for name in ("sejour", "cuisine", "chambre")]
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                PROSPECT,
                "Bonjour ! Voici quelques photos de notre appartement pour l'estimation 📸",
                meta={"attachments": photos},
            ),
            Beat(
                AGENT,
                f"Merci {k.first_name}, très lumineux ! Au vu des photos et des ventes "
                "récentes du quartier, je situerais le bien entre 510 000 et 540 000 €. "
                "Je passe le confirmer sur place ?",
                after=28,
                status=MessageStatus.READ,
            ),
            Beat(PROSPECT, "Avec plaisir, mardi ou mercredi après 17h", after=4),
        ),
        labels=("estimation", "vente"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.PROPOSED, 4, "valuation"),
    )


def whatsapp_location(k: Kit) -> Story:
    """The agency's location shared before a lease signing."""
    name, address, lat, lon = AGENCY
    return Story(
        Channel.WHATSAPP,
        (
            Beat(PROSPECT, "Bonjour, on se retrouve où pour la signature du bail ?"),
            Beat(
                AGENT,
                "À l'agence, voici l'adresse :",
                after=6,
                status=MessageStatus.READ,
                meta={
                    "location": {
                        "latitude": lat,
                        "longitude": lon,
                        "name": name,
                        "address": address,
                    }
                },
            ),
            Beat(PROSPECT, "Parfait, merci. À tout à l'heure !", after=2),
        ),
        labels=("location",),
        booking=Booking(AppointmentStatus.CONFIRMED, 0.1, "signing"),
    )


def whatsapp_questions(k: Kit) -> Story:
    """Questions about parking and charges, answered first by Sara."""
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                PROSPECT,
                f"Bonjour, pour le {k.what} {k.address.split(',')[0]} : le parking "
                "est compris dans le prix ? Et les charges de copropriété ?",
            ),
            Beat(
                SARA,
                "Bonjour ! Je suis Sara, l'assistante de l'agence. Le parking est en "
                "option (25 000 €) et les charges sont d'environ 180 € par mois. Un conseiller "
                "vous répond pour les détails.",
                after=0.5,
                status=MessageStatus.READ,
            ),
            Beat(PROSPECT, "Merci. Est-ce qu'on peut visiter samedi ?", after=11),
        ),
        labels=("achat",),
    )


def whatsapp_unknown(k: Kit) -> Story:
    """An agent's answer whose delivery status never came back (unknown)."""
    return Story(
        Channel.WHATSAPP,
        (
            Beat(PROSPECT, "Bonjour, des nouvelles du propriétaire pour mon dossier ?"),
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, pas encore, je le relance aujourd'hui et "
                "je reviens vers vous.",
                after=20,
                status=MessageStatus.UNKNOWN,
            ),
        ),
        labels=("location",),
    )


def whatsapp_reminder(k: Kit) -> Story:
    """A visit reminder from a WhatsApp template, confirmed."""
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                SARA,
                f"Bonjour {k.first_name}, petit rappel : visite du {k.what} au "
                f"{k.address} {k.when()}. Répondez OUI pour confirmer.",
                reminder=True,
                status=MessageStatus.READ,
                meta={"template": "rappel_visite"},
            ),
            Beat(PROSPECT, "Oui c'est noté, merci 👍", after=17),
        ),
        labels=("achat",),
        booking=Booking(AppointmentStatus.CONFIRMED, 1),
    )


def whatsapp_english(k: Kit) -> Story:
    """An English-speaking buyer books a viewing."""
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                PROSPECT,
                f"Hi, I saw the {k.price} listing at {k.address}. Is it still "
                "available? I'm in Paris next week.",
            ),
            Beat(
                AGENT,
                f"Hi {k.first_name}, yes it is! Would {k.when_en()} work for a viewing?",
                after=35,
                status=MessageStatus.READ,
            ),
            Beat(PROSPECT, f"{k.when_en().capitalize()} is great, see you there.", after=8),
        ),
        labels=("achat", "vip"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.CONFIRMED, 5),
    )


def whatsapp_feedback(k: Kit) -> Story:
    """Feedback after a visit and a second visit asked for."""
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, qu'avez-vous pensé de la visite du {k.what} ?",
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "On a adoré la lumière et la cuisine, mais la rue est un peu bruyante",
                after=65,
            ),
            Beat(PROSPECT, "La chambre donne sur cour ?", after=1),
            Beat(
                AGENT,
                "Oui, les deux chambres donnent sur cour, c'est très calme. Double "
                "vitrage côté rue.",
                after=9,
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "Ah super. On peut revisiter en fin de journée pour voir le bruit ?",
                after=14,
            ),
        ),
        labels=("achat",),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.PROPOSED, 2),
    )
