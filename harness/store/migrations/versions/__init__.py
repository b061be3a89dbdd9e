"""Alembic revisions of the store, oldest first by number (``r0001_…``); Alembic loads them by path."""
