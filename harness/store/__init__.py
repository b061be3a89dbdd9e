"""Where results and Testing Issues are kept: the run journal, the issue log and the shared results store.

SQLite by default, PostgreSQL when shared (SQLAlchemy; schema history as Alembic migrations). The tables
are in :mod:`harness.store.schema`, read by the migrations and by the stores alike, so the imports point
one way: ``schema`` <- ``migrations`` <- ``issue_log`` <- ``results``.
"""
