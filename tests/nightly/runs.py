"""Hand-made run directories with known answers, for the diff, merge and nightly unit tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENTRY = "EPCL-T1-D"
OTHER = "EPCL-T2-A"
MT = [f"mt-{i:02d}" for i in range(1, 5)]
SRVT = [f"srvt-{i:02d}" for i in range(1, 9)]


def plan(entries: Sequence[str] = (ENTRY,), **entry_fields: Any) -> dict[str, Any]:
    return {
        "profile": "dmct",
        "packs": {"dormant-mt": {"tests": list(MT)}, "srvt": {"tests": list(SRVT), "min_pass_rate": 0.5}},
        "entries": [{"id": e, "dmc": f"DMC-{e}", "installation": "dormant", **entry_fields} for e in entries],
    }


def dmc(esme_firmware: str = "1.0.0") -> dict[str, Any]:
    device = {"manufacturer": "Acme", "hardware_version": "A"}
    return {
        "id": "DMC",
        "ch": {**device, "model": "CH-1", "firmware_version": "2.0.0"},
        "esme": {**device, "model": "ESME-1", "firmware_version": esme_firmware},
        "gsme": {**device, "model": "GSME-1", "firmware_version": "3.0.0"},
    }


def facts(run_id: str, entry: str = ENTRY, *, started: str, esme_firmware: str = "1.0.0") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started": started,
        "finished": started,
        "dmct_version": "0.1.0",
        "host": f"host-{run_id}",
        "lab": "test-lab",
        "environment": {"name": "env", "dcc_systems": [{"name": "S1SP", "version": "4.2"}]},
        "entry": {"id": entry, "dmc": f"DMC-{entry}", "installation": "dormant"},
        "dmc": dmc(esme_firmware),
        "rigs": ["rig-1"],
        "counts": {"passed": 1},
    }


def provenance(entry: str = ENTRY, *, source: str = "s" * 64, defects: Sequence[str] = ()) -> dict[str, Any]:
    esme = {
        "role": "esme",
        "manufacturer": "Acme",
        "model": "ESME-1",
        "hardware_version": "A",
        "firmware_version": "1.0.0",
        "serial": "E1",
        "virtual": {"defects": list(defects), "load_w": 1000.0},
    }
    return {
        "recorded_by": "test",
        "code": {"dmct_version": "0.1.0", "source_sha256": source, "git_commit": "c" * 40, "git_dirty": True},
        "entries": {entry: {"devices": {"rig-1/esme": esme}}},
    }


def line(
    test: str, outcome: str, at: str, *, entry: str = ENTRY, run: str = "r", **extra: Any
) -> dict[str, Any]:
    pack = "dormant-mt" if test.startswith("mt-") else "srvt"
    return {"entry": entry, "pack": pack, "test": test, "outcome": outcome, "at": at, "run": run, **extra}


def write_run(
    root: Path,
    name: str,
    lines: Sequence[dict[str, Any]],
    *,
    run_facts: dict[str, Any] | None = None,
    run_plan: dict[str, Any] | None = None,
    run_provenance: dict[str, Any] | None = None,
    issues: list[dict[str, Any]] | None = None,
) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "plan.json").write_text(json.dumps(run_plan or plan(), indent=1))
    (run / "run.json").write_text(json.dumps(run_facts or facts(name, started="2026-11-20T01:00:00Z")))
    (run / "results.jsonl").write_text("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines))
    if run_provenance is not None:
        (run / "provenance.json").write_text(json.dumps(run_provenance))
    if issues is not None:
        (run / "issues.json").write_text(json.dumps(issues))
    for x in lines:
        for ev in x.get("evidence", []):
            path = run / ev
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"test": x["test"], "at": x["at"]}) + "\n")
    return run


def at(day: int, second: int = 0) -> str:
    return f"2026-11-{day:02d}T01:00:{second:02d}.000000Z"
