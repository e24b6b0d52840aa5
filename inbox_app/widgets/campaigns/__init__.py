"""What the campaigns screen and the ``campaign`` command show: steps, progress, A/B results."""
