"""Errors the harness reports to people.

Bad input must become one clear line naming the file, the line where known and the field (never a
traceback), so every loader raises :class:`DmctInputError` and the CLI and the pytest plugin render it
with ``str()``. Device and link trouble has its own taxonomy in :mod:`device_drivers.errors`.
"""

from __future__ import annotations

# The exit statuses of ``dmct`` (docs/exit-codes.md lists them with what each command means by them).
#: Success: the command did what was asked (``dmct verdict``: a verdict was computed, whatever it says).
EXIT_OK = 0
#: A check the command exists to make failed: the run's verdict is not successful, a regression, a
#: lab check that found problems, an evidence bundle that does not verify, TTM coverage gaps.
EXIT_FAILED = 1
#: Bad input: a file, option or record is missing or malformed; nothing was started or written.
EXIT_INPUT = 2
#: Incomplete: the command ran but produced no judgement (a run without results, a night an entry of
#: which could not be judged).
EXIT_INCOMPLETE = 3
#: A true conflict: somebody else changed the record since you looked (``--expect-version``); nothing
#: was written. Look again, then decide.
EXIT_CONFLICT = 4
#: The store stayed busy (other writers) for longer than dmct retries; nothing was written. Retry later.
EXIT_BUSY = 5
#: Interrupted (Ctrl-C, SIGTERM): whatever was started has been stopped.
EXIT_INTERRUPTED = 130


class DmctInputError(Exception):
    """A file, option or record given to the harness is missing or malformed.

    ``source`` is what a person would open to fix it (a path, ``--entry``, ``stdin``), ``line`` the
    1-based line when the format has lines, ``field`` a dotted path such as ``rigs[0].devices[1].role``.
    ``exit_code`` is the status the CLI ends with (subclasses for conflicts change it).
    """

    exit_code: int = EXIT_INPUT

    def __init__(self, source: str, message: str, *, field: str | None = None, line: int | None = None):
        self.source = source
        self.field = field
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
