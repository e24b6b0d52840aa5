"""Twilio Programmable Messaging: SMS (``twilio_sms``) and WhatsApp (``twilio_whatsapp``)."""
