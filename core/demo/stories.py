"""What the demo prospects and the agency said to each other, channel by channel.

A story is a short script of beats; the seeder gives it a prospect, a moment and writes each
beat through the real write path. Times in a story are minutes after the previous beat.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
    #: Channel of this beat when it differs from the story's (none in practice but notes).
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


@dataclass(frozen=True)
class Kit:
    """What a story may use: the RNG, the prospect's first name and a property."""

    rng: random.Random
    first_name: str
    english: bool
    place: tuple[str, str, str, float, float]
    visit_at: datetime

    @property
    def address(self) -> str:
        return self.place[0]

    @property
    def what(self) -> str:
        return self.place[1]

    @property
    def price(self) -> str:
        return self.place[2]

    def when(self) -> str:
        """The visit moment as people write it in a text message ("jeudi 14h30")."""
        days = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
        return f"{days[self.visit_at.weekday()]} {self.visit_at.hour}h{self.visit_at:%M}"

    def url(self, path: str) -> str:
        token = f"{self.rng.getrandbits(40):010x}"
        return f"https://media.agence-demo.fr/{token}/{path}"


StoryBuilder = Callable[[Kit], Story]


# ---------------------------------------------------------------------------------------------
# SMS


def sms_visit_confirmed(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                SARA,
                f"Rappel : visite du {k.what} au {k.address} {k.when()}. Répondez OUI "
                "pour confirmer ou NON pour annuler. Agence Immobilière Demo",
                reminder=True,
            ),
            Beat(PROSPECT, "OUI", after=22),
            Beat(
                SARA, f"Merci {k.first_name}, votre visite est confirmée. À {k.when()} !", after=0.2
            ),
        ),
        labels=("achat",),
        booking=Booking(AppointmentStatus.CONFIRMED, 1),
    )


def sms_visit_cancelled(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                SARA,
                f"Rappel : visite au {k.address} {k.when()}. Répondez OUI pour confirmer "
                "ou NON pour annuler.",
                reminder=True,
            ),
            Beat(PROSPECT, "ANNULER", after=95),
            Beat(
                SARA,
                "Votre rendez-vous est annulé. Souhaitez-vous en fixer un autre ? "
                "Répondez simplement à ce message.",
                after=0.2,
            ),
            Beat(PROSPECT, "Oui mais plutôt samedi matin svp, je travaille en semaine", after=6),
        ),
        labels=("achat",),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.CANCELLED, 2),
    )


def sms_price_question(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                PROSPECT,
                f"Bonjour, le {k.what} {k.address.split(',')[0]} est-il toujours "
                "disponible ? Quel est le prix ?",
            ),
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, oui il est toujours disponible, au prix de "
                f"{k.price}. Souhaitez-vous le visiter cette semaine ?",
                after=14,
            ),
            Beat(PROSPECT, "Oui jeudi après 18h si possible. Il y a une cave ?", after=9),
        ),
        labels=("achat",),
        priority=Priority.HIGH,
    )


def sms_invalid_number(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, suite à votre appel, je vous confirme la "
                f"visite du {k.what} {k.when()}. Claire, Agence Immobilière Demo",
                status=MessageStatus.FAILED,
                error="21211",
            ),
        ),
        labels=("achat",),
        priority=Priority.HIGH,
        note="Numéro refusé par Twilio (21211) : vérifier le numéro avec le client par e-mail.",
    )


def sms_unreachable(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                PROSPECT,
                "Bonjour, je souhaite mettre mon appartement en location, vous gérez "
                "aussi la gestion locative ?",
            ),
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, oui nous proposons la gestion locative "
                "(6 % HT des loyers). Je peux passer faire une estimation du loyer ?",
                after=40,
                status=MessageStatus.UNDELIVERED,
                error="30003",
            ),
        ),
        labels=("location", "estimation"),
    )


def sms_stop(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                SARA,
                "Nouveauté : lumineux 3 pièces avec balcon à Montreuil, 498 000 €. "
                "Visites ce samedi. STOP au 36173",
            ),
            Beat(PROSPECT, "STOP", after=12),
            Beat(SARA, "Vous ne recevrez plus de SMS de l'Agence Immobilière Demo.", after=0.1),
        ),
        opt_out=True,
        priority=Priority.LOW,
    )


def sms_rating(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                SARA,
                f"Bonjour {k.first_name}, comment s'est passée votre visite au "
                f"{k.address} ? Notez-la de 1 à 5 en répondant à ce SMS.",
            ),
            Beat(PROSPECT, "5", after=48),
            Beat(
                SARA,
                "Merci pour votre note ! Un conseiller vous recontacte pour la suite.",
                after=0.1,
            ),
            Beat(PROSPECT, "Super, on aimerait faire une offre à 520 000 €", after=31),
        ),
        labels=("achat", "vip"),
        priority=Priority.URGENT,
        booking=Booking(AppointmentStatus.DONE, -2),
    )


def sms_queued(k: Kit) -> Story:
    return Story(
        Channel.SMS,
        (
            Beat(
                PROSPECT,
                k.rng.choice(
                    (
                        "Bonjour, je suis devant l'immeuble, le code de la porte ne fonctionne pas",
                        "Je vais avoir 10 minutes de retard pour la visite, désolé !",
                        "On est devant le 2e étage, il n'y a pas de nom sur la porte ?",
                    )
                ),
            ),
            Beat(
                AGENT,
                k.rng.choice(
                    (
                        "J'arrive dans 5 minutes, je vous ouvre !",
                        "Pas de souci, je vous attends sur place.",
                        "C'est la porte de gauche en sortant de l'ascenseur, j'arrive.",
                    )
                ),
                after=1,
                status=MessageStatus.QUEUED,
            ),
        ),
        labels=("achat",),
        priority=Priority.URGENT,
    )


# ---------------------------------------------------------------------------------------------
# Email


def email_estimation(k: Kit) -> Story:
    subject = f"Demande d'estimation – {k.what}"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                PROSPECT,
                f"Bonjour,\n\nNous envisageons de vendre notre {k.what} situé "
                f"{k.address}. Pourriez-vous nous proposer une estimation ? Nous sommes "
                f"disponibles en fin de journée.\n\nCordialement,\n{k.first_name}",
                subject=subject,
            ),
            Beat(
                AGENT,
                f"Bonjour {k.first_name},\n\nMerci pour votre confiance. Je vous propose "
                f"un rendez-vous d'estimation {k.when()}. Pourriez-vous m'envoyer la taxe "
                "foncière et les plans si vous les avez ?\n\nBien cordialement,\nJulien Moreau",
                after=75,
                subject="Re: " + subject,
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "Bonjour,\n\nVoici les documents demandés. Le créneau nous convient."
                "\n\nCordialement",
                after=190,
                subject="Re: " + subject,
                meta={
                    "media": [
                        {
                            "filename": "taxe_fonciere_2025.pdf",
                            "content_type": "application/pdf",
                            "size": 184_322,
                            "url": k.url("taxe_fonciere_2025.pdf"),
                        },
                        {
                            "filename": "plan_appartement.pdf",
                            "content_type": "application/pdf",
                            "size": 902_114,
                            "url": k.url("plan_appartement.pdf"),
                        },
                    ]
                },
            ),
        ),
        subject=subject,
        labels=("estimation", "vente"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.PROPOSED, 3, "estimation"),
    )


def email_rental_file(k: Kit) -> Story:
    subject = f"Dossier de location – {k.address.split(',')[0]}"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                PROSPECT,
                f"Bonjour,\n\nSuite à la visite, voici mon dossier complet pour le "
                f"{k.what} : pièce d'identité, trois derniers bulletins de salaire, avis "
                f"d'imposition et attestation employeur.\n\nBien à vous,\n{k.first_name}",
                subject=subject,
                meta={
                    "media": [
                        {
                            "filename": "bulletins_salaire.pdf",
                            "content_type": "application/pdf",
                            "size": 412_908,
                            "url": k.url("bulletins_salaire.pdf"),
                        },
                        {
                            "filename": "avis_imposition_2025.pdf",
                            "content_type": "application/pdf",
                            "size": 230_117,
                            "url": k.url("avis_imposition_2025.pdf"),
                        },
                    ]
                },
            ),
            Beat(
                AGENT,
                f"Bonjour {k.first_name},\n\nDossier bien reçu et complet, je le "
                "transmets au propriétaire aujourd'hui. Réponse sous 48 h.\n\nSophie Bernard",
                after=55,
                subject="Re: " + subject,
                status=MessageStatus.DELIVERED,
            ),
        ),
        subject=subject,
        labels=("location",),
        note="Garant : parents, revenus 3,5 × le loyer. Dossier solide.",
    )


def email_newsletter_bounce(k: Kit) -> Story:
    subject = "Nos nouveaux biens de la semaine"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                SARA,
                f"Bonjour {k.first_name},\n\nDécouvrez nos nouveautés : {k.what} au "
                f"{k.address} ({k.price}) et bien d'autres sur notre site.\n\nL'équipe Agence "
                "Immobilière Demo",
                subject=subject,
                status=MessageStatus.FAILED,
                meta={"template": "newsletter_hebdo"},
            ),
        ),
        subject=subject,
        priority=Priority.LOW,
    )


def email_compromis(k: Kit) -> Story:
    subject = "Compromis de vente – pièces à fournir"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name},\n\nFélicitations, votre offre est acceptée ! "
                "Pour préparer le compromis chez le notaire, merci de nous transmettre : "
                "pièces d'identité, justificatif de domicile et attestation de financement."
                "\n\nClaire Martin",
                subject=subject,
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "Merci beaucoup ! Je vous envoie tout ça demain matin. Quelle date "
                "pour la signature ?",
                after=130,
                subject="Re: " + subject,
            ),
            Beat(
                AGENT,
                "Le notaire propose le 12 à 10h en son étude. Cela vous convient-il ?",
                after=45,
                subject="Re: " + subject,
                status=MessageStatus.DELIVERED,
            ),
        ),
        subject=subject,
        labels=("achat", "vip"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.CONFIRMED, 6, "signature"),
    )


def email_english_rental(k: Kit) -> Story:
    subject = "Furnished flat for a one-year assignment in Paris"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                PROSPECT,
                f"Hello,\n\nI am relocating to Paris in March for a one-year "
                "assignment and I am looking for a furnished one or two-bedroom flat, ideally "
                f"near the 11th. Budget around 2,400 EUR a month.\n\nBest regards,\n"
                f"{k.first_name}",
                subject=subject,
            ),
            Beat(
                AGENT,
                f"Hello {k.first_name},\n\nThank you for your message. We have a "
                f"furnished {k.what} at {k.address} ({k.price}). I can arrange a video tour "
                "this week if you are still abroad.\n\nKind regards,\nSophie Bernard",
                after=65,
                subject="Re: " + subject,
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "A video tour would be perfect. Thursday 6pm UK time?",
                after=220,
                subject="Re: " + subject,
            ),
        ),
        subject=subject,
        labels=("location",),
        priority=Priority.HIGH,
    )


# ---------------------------------------------------------------------------------------------
# WhatsApp


def whatsapp_photos(k: Kit) -> Story:
    photos = [
        {
            "filename": f"photo_{name}.jpg",
            "content_type": "image/jpeg",
            "url": k.url(f"photo_{name}.jpg"),
        }
        for name in ("sejour", "cuisine", "chambre")
    ]
    return Story(
        Channel.WHATSAPP,
        (
            Beat(
                PROSPECT,
                "Bonjour ! Voici quelques photos de notre appartement pour l'estimation 📸",
                meta={"media": photos},
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
        booking=Booking(AppointmentStatus.PROPOSED, 4, "estimation"),
    )


def whatsapp_location(k: Kit) -> Story:
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
        booking=Booking(AppointmentStatus.CONFIRMED, 0.1, "signature"),
    )


def whatsapp_questions(k: Kit) -> Story:
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
                f"Hi {k.first_name}, yes it is! Would Tuesday at 11am work for a viewing?",
                after=35,
                status=MessageStatus.READ,
            ),
            Beat(PROSPECT, "Tuesday 11am is great, see you there.", after=8),
        ),
        labels=("achat", "vip"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.CONFIRMED, 5),
    )


# ---------------------------------------------------------------------------------------------
# Telegram


def telegram_start(k: Kit) -> Story:
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
    return Story(
        Channel.TELEGRAM,
        (
            Beat(PROSPECT, "/nouveau_rdv"),
            Beat(
                SARA,
                "Voici les prochains créneaux disponibles pour une visite :\n"
                f"• {k.when()}\n• samedi 10h00\n• samedi 11h30",
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


# ---------------------------------------------------------------------------------------------
# Voice


def _call(
    summary: str, transcript: list[tuple[str, str]], seconds: int, ended: str, k: Kit, cost: str
) -> dict[str, Any]:
    lines = "\n".join(f"{'AI' if who == SARA else 'User'}: {text}" for who, text in transcript)
    return {
        "duration_seconds": seconds,
        "summary": summary,
        "transcript": lines,
        "recording_url": k.url("recording.wav") if seconds else None,
        "ended_reason": ended,
        "cost": cost,
    }


def voice_inbound_estimation(k: Kit) -> Story:
    summary = (
        f"{k.first_name} souhaite faire estimer son {k.what} ({k.address}) avant une "
        "mise en vente au printemps. Rappel demandé par un conseiller."
    )
    meta = _call(
        summary,
        [
            (SARA, "Agence Immobilière Demo, bonjour, je suis Sara. Comment puis-je vous aider ?"),
            (PROSPECT, f"Bonjour, je voudrais faire estimer mon {k.what}."),
            (SARA, "Avec plaisir. Quelle est l'adresse du bien ?"),
            (PROSPECT, k.address),
            (SARA, "Merci. Un conseiller vous rappelle aujourd'hui pour fixer un rendez-vous."),
        ],
        184,
        "customer-ended-call",
        k,
        "0.21",
    )
    return Story(
        Channel.VOICE,
        (Beat(PROSPECT, summary, kind=MessageKind.CALL, meta=meta),),
        labels=("estimation", "vente"),
        priority=Priority.HIGH,
    )


def voice_reminder_call(k: Kit) -> Story:
    summary = f"Rappel de la visite {k.when()} ; {k.first_name} confirme sa présence."
    meta = _call(
        summary,
        [
            (
                SARA,
                f"Bonjour {k.first_name}, ici Sara de l'Agence Immobilière Demo. Je vous "
                f"appelle pour vous rappeler la visite {k.when()}. Serez-vous présent ?",
            ),
            (PROSPECT, "Oui, oui, c'est bien noté."),
            (SARA, "Parfait, je confirme. Bonne journée !"),
        ],
        47,
        "assistant-ended-call",
        k,
        "0.08",
    )
    return Story(
        Channel.VOICE,
        (
            Beat(
                SARA,
                summary,
                kind=MessageKind.CALL,
                meta=meta,
                status=MessageStatus.DELIVERED,
                reminder=True,
            ),
        ),
        labels=("achat",),
        booking=Booking(AppointmentStatus.CONFIRMED, 1),
    )


def voice_missed_then_sms(k: Kit) -> Story:
    summary = "Appel sans réponse."
    meta = _call(summary, [], 0, "customer-did-not-answer", k, "0.01")
    follow = Story(
        Channel.SMS,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, j'ai essayé de vous joindre au sujet de votre "
                f"offre pour le {k.what}. Quand puis-je vous rappeler ?",
                after=4,
                status=MessageStatus.DELIVERED,
            ),
            Beat(PROSPECT, "Désolé j'étais en réunion, rappelez-moi après 18h svp", after=26),
        ),
        labels=("achat", "vip"),
        priority=Priority.URGENT,
    )
    return Story(
        Channel.VOICE,
        (Beat(AGENT, summary, kind=MessageKind.CALL, meta=meta, status=MessageStatus.UNDELIVERED),),
        labels=("achat", "vip"),
        priority=Priority.URGENT,
        follow_up=follow,
    )


def voice_voicemail(k: Kit) -> Story:
    summary = "Messagerie : message laissé pour proposer une nouvelle date de visite."
    meta = _call(
        summary,
        [
            (
                SARA,
                f"Bonjour {k.first_name}, ici Sara de l'Agence Immobilière Demo. Suite à "
                "l'annulation de votre visite, rappelez-nous au 01 42 00 00 00. Merci !",
            ),
        ],
        22,
        "voicemail",
        k,
        "0.04",
    )
    return Story(
        Channel.VOICE,
        (Beat(SARA, summary, kind=MessageKind.CALL, meta=meta, status=MessageStatus.DELIVERED),),
        priority=Priority.LOW,
        booking=Booking(AppointmentStatus.NO_SHOW, -1),
    )


def voice_agent_call(k: Kit) -> Story:
    summary = f"Point sur le financement : accord de principe de la banque pour {k.price}."
    callback = "Appel entrant : demande à être rappelé par Julien au sujet du financement."
    meta = _call(
        summary,
        [
            (
                AGENT,
                f"Bonjour {k.first_name}, c'est Julien de l'agence. Des nouvelles de la banque ?",
            ),
            (PROSPECT, "Oui, accord de principe reçu ce matin !"),
            (AGENT, "Excellente nouvelle, je préviens le vendeur."),
        ],
        312,
        "customer-ended-call",
        k,
        "0.35",
    )
    return Story(
        Channel.VOICE,
        (
            Beat(
                PROSPECT,
                callback,
                kind=MessageKind.CALL,
                meta=_call(callback, [], 35, "customer-ended-call", k, "0.05"),
            ),
            Beat(
                AGENT,
                summary,
                after=50,
                kind=MessageKind.CALL,
                meta=meta,
                status=MessageStatus.DELIVERED,
            ),
        ),
        labels=("achat", "vip"),
        priority=Priority.HIGH,
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
)
ENGLISH_STORIES: tuple[StoryBuilder, ...] = (email_english_rental, whatsapp_english)


def visit_time(rng: random.Random, around: datetime) -> datetime:
    """A plausible visit slot (a round half hour between 9:00 and 18:30) near ``around``."""
    slot = around.replace(minute=0, second=0, microsecond=0)
    return slot.replace(hour=9 + rng.randrange(10)) + timedelta(minutes=30 * rng.randrange(2))
