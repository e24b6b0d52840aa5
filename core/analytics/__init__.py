"""Analytics over the message history."""
