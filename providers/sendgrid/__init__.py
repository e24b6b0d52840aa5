"""SendGrid: Mail Send v3, the Event Webhook (ECDSA-signed) and Inbound Parse."""
