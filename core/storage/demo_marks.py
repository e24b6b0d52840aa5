"""The demo seeder's marks in the audit log, known without SQLAlchemy (the app's first page
reads them through ``sqlite3``)."""

#: Written when the seeding starts: the data is demo data, ``demo reset`` may erase it.
DEMO_STARTED = "demo.seeding"
#: Written when it is done (the only mark before session 13: a database seeded then is whole).
DEMO_MARKER = "demo.seeded"
