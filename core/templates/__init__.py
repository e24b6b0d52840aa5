"""Message templates: the seed's ``{{variable}}`` syntax rendered in a locked-down engine."""
