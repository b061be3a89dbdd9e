"""Errors the harness reports to people.

Bad input must become one clear line naming the file, the line where known and the field (never a
traceback), so every loader raises :class:`DmctInputError` and the CLI and the pytest plugin render it
with ``str()``. Device and link trouble has its own taxonomy in :mod:`device_drivers.errors`.
"""

from __future__ import annotations


class DmctInputError(Exception):
    """A file, option or record given to the harness is missing or malformed.

    ``source`` is what a person would open to fix it (a path, ``--entry``, ``stdin``), ``line`` the
    1-based line when the format has lines, ``field`` a dotted path such as ``rigs[0].devices[1].role``.
    """

    def __init__(self, source: str, message: str, *, field: str | None = None, line: int | None = None):
        self.source = source
        self.field = field
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
