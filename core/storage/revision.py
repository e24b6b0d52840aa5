"""The schema revision this version writes, known without SQLAlchemy or Alembic."""

#: The newest revision in ``migrations/versions`` (checked by tests/unit/test_storage.py).
HEAD_REVISION = "0014"
