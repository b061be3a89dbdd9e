"""Run directories as the pytest plugin writes them (plan.json, results.jsonl, run.json), made up."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
MT = [f"mt-{n}" for n in range(1, 6)]
SRVT = [f"srvt-{n}" for n in range(1, 21)]


def plan(*entries: str) -> dict[str, Any]:
    return {
        "profile": "dmct",
        "packs": {"dormant-mt": {"tests": MT}, "srvt": {"tests": SRVT}},
        "entries": [
            {
                "id": e,
                "dmc": f"DMC-{e}",
                "installation": "dormant",
                "mt_under_mtad": False,
                "abandoned": False,
            }
            for e in entries
        ],
    }


def journal(run_id: str, entry: str = "E1", rounds: int = 3, seed: int = 7, start: int = 0) -> list[str]:
    """Every planned test ``rounds`` times (re-runs: the latest counts, 20.22), mostly passing, some
    failing (a few linked to TI-0001), blocked or in error; one line per execution, in time order."""
    rng = random.Random(seed)
    lines: list[str] = []
    tick = start
    for round_ in range(rounds):
        for pack, tests in (("dormant-mt", MT), ("srvt", SRVT)):
            for test in tests:
                tick += 1
                outcome = rng.choices(["passed", "failed", "blocked", "error"], [80, 12, 5, 3])[0]
                line: dict[str, Any] = {
                    "entry": entry, "pack": pack, "test": test, "outcome": outcome,
                    "at": (T0 + timedelta(seconds=tick, microseconds=round_)).isoformat(
                        timespec="microseconds").replace("+00:00", "Z"),
                    "run": run_id, "rig": f"rig-{tick % 2 + 1}", "worker": f"gw{tick % 2}",
                    "duration_s": round(rng.uniform(0.1, 3.0), 6),
                }  # fmt: skip
                if outcome == "failed" and rng.random() < 0.5:
                    line["issues"] = ["TI-0001"]
                lines.append(json.dumps(line, separators=(",", ":")))
    return lines


def write_run(
    directory: Path,
    run_id: str,
    lines: list[str],
    *,
    entries: tuple[str, ...] = ("E1",),
    host: str = "host-a",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plan.json").write_text(json.dumps(plan(*entries), indent=1) + "\n")
    facts = {"run_id": run_id, "host": host, "started": "2027-01-11T09:00:00.000000Z", "lab": "virtual"}
    (directory / "run.json").write_text(json.dumps(facts, indent=1) + "\n")
    (directory / "results.jsonl").write_text("".join(line + "\n" for line in lines))
    return directory


def dmct(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``dmct`` command line in this process, captured like a subprocess (half a second faster
    per command; the tests about concurrency start real processes with :func:`dmct_popen`)."""
    import contextlib
    import io

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(["dmct", *args], status, out.getvalue(), err.getvalue())


def dmct_popen(*args: str) -> subprocess.Popen[str]:
    """Start ``dmct`` in a new process, as an engineer on another host would."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
