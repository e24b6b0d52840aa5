"""Demo stories: Email."""

from __future__ import annotations

from core.demo.files import demo_file
from core.demo.script import AGENT, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.enums import AppointmentStatus, Channel, MessageStatus, Priority


def email_estimation(k: Kit) -> Story:
    """A valuation request by email, with documents attached."""
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
                    "attachments": [
                        demo_file("taxe_fonciere_2025.pdf"),
                        demo_file("plan_appartement.pdf"),
                    ]
                },
            ),
        ),
        subject=subject,
        labels=("estimation", "vente"),
        priority=Priority.HIGH,
        booking=Booking(AppointmentStatus.PROPOSED, 3, "valuation"),
        agent="Julien",
    )


def email_rental_file(k: Kit) -> Story:
    """A tenant's application file, with payslips and tax notice attached."""
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
                    "attachments": [
                        demo_file("bulletins_salaire.pdf"),
                        demo_file("avis_imposition_2025.pdf"),
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
        agent="Sophie",
    )


def email_newsletter_bounce(k: Kit) -> Story:
    """Sara's weekly newsletter, bounced."""
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
    """An accepted offer: documents for the preliminary sale contract."""
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
        booking=Booking(AppointmentStatus.CONFIRMED, 6, "signing"),
        agent="Claire",
    )


#: What the agent offers the expat: furnished rentals near the 11th, described in English (the
#: kit's places are French listings for sale, and would reach her half in French).
FURNISHED_FLATS_EN = (
    "a furnished two-bedroom flat on rue Oberkampf, 11th, at 2,350 EUR a month including charges",
    "a furnished one-bedroom flat near Place Léon-Blum, 11th, at 1,950 EUR a month",
    "a bright furnished two-bedroom flat on boulevard Voltaire, 11th, at 2,400 EUR a month",
)


def email_english_rental(k: Kit) -> Story:
    """An English-speaking expat looking for a furnished flat."""
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
                f"Hello {k.first_name},\n\nThank you for your message. We have "
                f"{k.rng.choice(FURNISHED_FLATS_EN)}. I can arrange a video tour this week if "
                "you are still abroad.\n\nKind regards,\nSophie Bernard",
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
        agent="Sophie",
    )


def email_mandate(k: Kit) -> Story:
    """A sales mandate sent, discussed and returned signed."""
    subject = f"Mandat de vente – {k.address.split(',')[0]}"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name},\n\nComme convenu lors de l'estimation, vous "
                f"trouverez ci-joint le mandat de vente pour votre {k.what}, au prix de "
                f"{k.price}. Nos honoraires sont de 4 % TTC, à la charge de l'acquéreur."
                "\n\nClaire Martin",
                subject=subject,
                status=MessageStatus.READ,
                meta={"attachments": [demo_file("mandat_vente.pdf")]},
            ),
            Beat(
                PROSPECT,
                "Bonjour,\n\nMerci. Le mandat est-il exclusif ? Et quelle est sa "
                "durée ?\n\nCordialement",
                after=300,
                subject="Re: " + subject,
            ),
            Beat(
                AGENT,
                "Bonjour,\n\nC'est un mandat simple de 3 mois, renouvelable. En "
                "exclusivité, nous ajoutons une visite virtuelle et une diffusion premium."
                "\n\nClaire Martin",
                after=35,
                subject="Re: " + subject,
                status=MessageStatus.READ,
            ),
            Beat(
                PROSPECT,
                "Va pour l'exclusivité. Je vous renvoie le mandat signé.",
                after=800,
                subject="Re: " + subject,
                meta={"attachments": [demo_file("mandat_vente_signe.pdf")]},
            ),
        ),
        subject=subject,
        labels=("vente", "vip"),
        priority=Priority.HIGH,
        agent="Claire",
    )


def email_energy_rating(k: Kit) -> Story:
    """A question about the energy rating (DPE), answered by Sara."""
    subject = f"Question DPE – {k.what}"
    return Story(
        Channel.EMAIL,
        (
            Beat(
                PROSPECT,
                f"Bonjour,\n\nQuel est le DPE du {k.what} au {k.address} ? Des "
                "travaux d'isolation sont-ils prévus par la copropriété ?\n\nMerci",
                subject=subject,
            ),
            Beat(
                SARA,
                "Bonjour,\n\nLe bien est classé D (245 kWh/m²/an). Le diagnostic "
                "complet est joint ; un conseiller vous répond pour la copropriété.",
                after=1,
                subject="Re: " + subject,
                status=MessageStatus.DELIVERED,
                meta={"attachments": [demo_file("DPE.pdf")]},
            ),
            Beat(
                PROSPECT,
                "Merci, et le montant du fonds travaux ?",
                after=160,
                subject="Re: " + subject,
            ),
        ),
        subject=subject,
        labels=("achat",),
    )
