"""Demo stories: SMS."""

from __future__ import annotations

from core.demo.script import AGENT, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.enums import AppointmentStatus, Channel, MessageStatus, Priority


def sms_visit_confirmed(k: Kit) -> Story:
    """Sara's visit reminder by SMS, confirmed with OUI."""
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
    """A visit reminder answered ANNULER, then a new slot asked for."""
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
    """A buyer asks about price and availability; the agent offers a visit."""
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
    """An agent's SMS refused by Twilio (21211), with a note to check the number."""
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
        booking=Booking(AppointmentStatus.PROPOSED, 2),
        agent="Claire",
    )


def sms_unreachable(k: Kit) -> Story:
    """A landlord's question; the answer is undelivered (30003)."""
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
    """A marketing SMS answered STOP: the prospect opts out of SMS."""
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
    """A post-visit rating (5) followed by an offer."""
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
    """A prospect at the door minutes ago; the agent's answer is still queued."""
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


def sms_offer(k: Kit) -> Story:
    """An offer negotiated by SMS, with a private note."""
    return Story(
        Channel.SMS,
        (
            Beat(
                PROSPECT,
                f"Bonjour, suite à la visite du {k.what}, nous souhaitons faire une offre.",
            ),
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, excellente nouvelle ! À quel montant pensez-vous ?",
                after=12,
            ),
            Beat(
                PROSPECT,
                "Nous pensions à 5 % sous le prix affiché, travaux de cuisine à prévoir",
                after=25,
            ),
            Beat(
                AGENT,
                "Je transmets au vendeur ce soir. Avez-vous une attestation de "
                "financement ou un accord de principe ?",
                after=8,
            ),
            Beat(
                PROSPECT,
                "Oui, accord de principe de la banque reçu lundi, je vous l'envoie",
                after=40,
            ),
            Beat(
                AGENT,
                "Parfait, je reviens vers vous dès que j'ai la réponse du vendeur.",
                after=5,
                status=MessageStatus.READ,
            ),
        ),
        labels=("achat", "vip"),
        priority=Priority.URGENT,
        note="Offre orale à -5 %. Vendeur pressé (mutation) : bonne chance d'acceptation.",
    )


def sms_keys(k: Kit) -> Story:
    """The move-in inspection and keys, arranged by SMS."""
    return Story(
        Channel.SMS,
        (
            Beat(
                AGENT,
                f"Bonjour {k.first_name}, l'état des lieux d'entrée est fixé {k.when()} "
                f"au {k.address}. Pensez à l'attestation d'assurance habitation.",
                status=MessageStatus.DELIVERED,
            ),
            Beat(
                PROSPECT, "C'est noté, j'aurai l'attestation. Combien de jeux de clés ?", after=33
            ),
            Beat(AGENT, "Deux jeux de clés et un badge pour le parking.", after=6),
            Beat(PROSPECT, "Merci beaucoup, à bientôt !", after=3),
        ),
        labels=("location",),
        booking=Booking(AppointmentStatus.CONFIRMED, 3, "etat_des_lieux"),
    )
