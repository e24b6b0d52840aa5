"""Demo stories: Voice calls (VAPI), with summaries and transcripts."""

from __future__ import annotations

from typing import Any

from core.demo.script import AGENT, PROSPECT, SARA, Beat, Booking, Kit, Story
from core.domain.enums import AppointmentStatus, Channel, MessageKind, MessageStatus, Priority

#: How a call transcript names its speakers (VAPI's "AI" and "User"; an agent's own call says
#: "Agent", never "User", which is the prospect).
SPEAKERS = {SARA: "AI", PROSPECT: "User", AGENT: "Agent"}


def _call(
    summary: str, transcript: list[tuple[str, str]], seconds: int, ended: str, k: Kit, cost: str
) -> dict[str, Any]:
    lines = "\n".join(f"{SPEAKERS[who]}: {text}" for who, text in transcript)
    return {
        "duration_seconds": seconds,
        "summary": summary,
        "transcript": lines,
        "recording_url": k.url("recording.wav") if seconds else None,
        "ended_reason": ended,
        "cost": cost,
    }


def voice_inbound_estimation(k: Kit) -> Story:
    """An inbound call answered by Sara: a valuation request."""
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
    """Sara's outbound reminder call, confirmed."""
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
    """A missed call followed up by SMS (a switched conversation)."""
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
    """A voicemail left after a no-show."""
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
    """A call-back request, then the agent's call about financing."""
    summary = "Point sur le financement : accord de principe de la banque reçu ce matin."
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
        agent="Julien",
    )


def voice_inbound_rental(k: Kit) -> Story:
    """An inbound call answered by Sara: a furnished rental search."""
    summary = (
        f"{k.first_name} cherche une location meublée (2 pièces, budget 1 400 € CC) pour "
        "le mois prochain. Dossier prêt, garant familial. Envoyer des annonces par SMS."
    )
    meta = _call(
        summary,
        [
            (SARA, "Agence Immobilière Demo, bonjour, je suis Sara. Que puis-je faire pour vous ?"),
            (PROSPECT, "Je cherche un deux pièces meublé à louer, vers Oberkampf ou Bastille."),
            (SARA, "Quel est votre budget, charges comprises ?"),
            (PROSPECT, "Autour de 1 400 euros."),
            (
                SARA,
                "C'est noté. Je vous envoie nos annonces par SMS et un conseiller vous rappelle.",
            ),
        ],
        142,
        "assistant-ended-call",
        k,
        "0.17",
    )
    return Story(
        Channel.VOICE,
        (Beat(PROSPECT, summary, kind=MessageKind.CALL, meta=meta),),
        labels=("location",),
    )
