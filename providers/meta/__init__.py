"""WhatsApp through Meta's Cloud API (Graph), with httpx."""
