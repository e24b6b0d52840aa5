"""How much of a thread is read and drawn at a time: the conversation screen's sizes, in a module
of their own so that reading threads ahead from the inbox does not import that screen (and its
widgets, attachments and HTTP client) before the inbox's first paint."""

#: Items drawn when a thread opens (a tall screen's worth), and at a time as the reader goes up.
WINDOW = 24
#: Messages read when a thread opens (the first paint shows the newest ``WINDOW`` items; one
#: reveal more comes from memory), and how many more each time the reader goes further up.
FIRST_PAGE = 2 * WINDOW
MORE = 4 * WINDOW
