"""Voice calls through VAPI, with httpx."""
