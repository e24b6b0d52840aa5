"""Sara, the automatic answers: recognising what a prospect means and acting on it."""
