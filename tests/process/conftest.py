"""Fixtures shared with the report tests: the fixed report data set (``ds``)."""

from tests.reports.conftest import ds  # noqa: F401  (a fixture, used by name)
