"""Domain models: what the rest of the program (and the TUI) sees, apart from ORM rows."""
