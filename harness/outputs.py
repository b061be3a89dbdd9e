"""Writing output files: checked first, written atomically, readable as the umask says.

Every file dmct writes for people (reports, exports, bundles, JUnit XML, nightly summaries, pulled runs)
goes through :func:`atomic_write` / :func:`atomic_writer`: a reader never sees half a file, a failed
write leaves the old one in place, and the new file gets the permissions any other program's would
(``0o666 & ~umask``), not ``tempfile.mkstemp``'s private ``0600`` — reports must be readable by the
other engineers and by a web server on the lab host. :func:`check_output_file` is called before any work
starts, so ``-o`` naming a directory or an unwritable place is one line, not a traceback after minutes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from harness.errors import DmctInputError


def current_umask() -> int:
    """The process's umask (read from ``/proc`` where possible: setting it to read it is not thread safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_file(path: Path, option: str = "-o") -> Path:
    """``path`` may be written: not a directory, its directory a directory (or creatable) and writable."""
    if path.is_dir():
        raise DmctInputError(option, f"{path}: is a directory; give a file name")
    existing = next((p for p in path.parents if p.exists()), Path("."))
    if not existing.is_dir():
        raise DmctInputError(option, f"{path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DmctInputError(option, f"{path}: cannot write in {existing}")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
        raise DmctInputError(option, f"{path}: not writable")
    return path


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """A text handle (UTF-8, ``\n``) on a temporary file beside ``path`` that replaces ``path`` when
    the block succeeds."""
    with _atomic(path) as fd, os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


@contextmanager
def _atomic(path: Path) -> Iterator[int]:
    """A descriptor of a temporary file beside ``path`` (mode as the umask allows), renamed over
    ``path`` when the block succeeds and removed when it fails: readers never see a half-written file."""
    check_output_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        yield fd
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and an atomic rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _atomic(path) as fd, os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
