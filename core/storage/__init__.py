"""Storage: ORM tables, the database handle, migrations and full-text search."""
