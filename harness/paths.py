"""Where run outputs live: ``results/`` (or ``$DMCT_RESULTS``), created on demand, git-ignored.

``results/<run-id>/`` holds one run (plan, results journal, transcripts, verdict, report);
``results/.lab/<lab>.endpoints.json`` is where a running virtual lab publishes its endpoints;
``results/dmct.sqlite`` is the default store.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path


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
