"""Where run outputs live: ``results/`` (or ``$DMCT_RESULTS``), created on demand, git-ignored.

``results/<run-id>/`` holds one run (plan, results journal, transcripts, verdict, report);
``results/.lab/<lab>.endpoints.json`` is where a running virtual lab publishes its endpoints;
``results/dmct.sqlite`` is the default store.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import DmctInputError

#: A run id names a directory under the results directory: a letter or digit, then letters, digits,
#: ``.``, ``_`` or ``-``, at most 64 characters (so never ``..``, a slash or a hidden file).
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The files that make a directory a run: one of them present means the run id is taken.
RUN_FILES = ("plan.json", "run.json", "results.jsonl")


def results_dir(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("DMCT_RESULTS") or "results")


def endpoints_file(lab_id: str, base: Path | None = None) -> Path:
    env = os.environ.get("DMCT_LAB_ENDPOINTS")
    if env:
        return Path(env)
    return (base or results_dir()) / ".lab" / f"{lab_id}.endpoints.json"


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique even for two runs started in the same second: ``20261128T181500Z-3f9a``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(2)}"


def check_run_id(run_id: str, option: str = "--run-id") -> str:
    """``run_id`` if it is a safe directory name (:data:`RUN_ID_RE`), else one line naming ``option``."""
    if not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise DmctInputError(
            option,
            f"{run_id!r}: a run id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return run_id


def check_run_dir(run_dir: Path, *, resume: bool) -> None:
    """Refuse to reuse a run directory, or (``resume``) to resume one that is not there.

    A run id is never reused silently: appending to another run's journal and overwriting its plan and
    facts would corrupt it. ``--resume`` says explicitly that the run continues; the caller then checks
    the journal and records against the new session (:func:`harness.plugin.session`).
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise DmctInputError(str(run_dir), "exists and is not a directory")
    taken = run_dir.is_dir() and any((run_dir / name).exists() for name in RUN_FILES)
    if resume and not taken:
        raise DmctInputError("--resume", f"{run_dir}: no run to resume here (no plan.json or run.json)")
    if not resume and taken:
        raise DmctInputError(
            "--run-id",
            f"{run_dir.name}: a run with this id exists in {run_dir.parent}; give a new --run-id, "
            "or --resume to continue it",
        )


def check_output_dir(path: Path, option: str) -> Path:
    """An output directory must be a directory, or creatable, and writable: checked before any work."""
    if path.exists() and not path.is_dir():
        raise DmctInputError(option, f"{path}: exists and is not a directory")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise DmctInputError(option, f"{path}: cannot write in {existing}")
    return path
