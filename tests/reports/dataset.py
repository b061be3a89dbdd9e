"""A fixed, hand-made data set for the report tests: three runs of two entries, an issue log, a lab file.

Built to exercise every item of 20.34 / 20.35 with known answers:

* ``EPCL-ACME1-D`` (dormant) — **successful**: run ``R1`` (week 2026-W47, firmware 1.0.0) has a failure
  (``mt-03``, linked to the now closed TI-0001) and a blocked test; run ``R2`` (W48, firmware 1.0.1)
  re-runs both to a pass, and fails ``srvt-11.3`` (linked to TI-0002, severity 4, under a Work Off Plan).
  TI-0003 is excluded pending the TAG. The environment records its 20.18 rationale.
* ``EPCL-BOLT2-A`` (active) — **unsuccessful**: its SRVT pass rate 50% misses the pack's 60% (20.34 (h)),
  a failed test has no linked issue (an evidence gap), and the environment has no rationale
  (shown as missing).

Identifiers the redaction tests look for are in :data:`IDENTIFIERS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OK, BAD = "EPCL-ACME1-D", "EPCL-BOLT2-A"
MT = {"mt-01": "Device Testing", "mt-02": "Device Testing", "mt-03": "Migration", "mt-04": "Migration"}
SRVT = {
    "srvt-4.1.1": "Reads",
    "srvt-4.1.2": "Reads",
    "srvt-6.2.4": "Tariff",
    "srvt-6.2.5": "Tariff",
    "srvt-11.2": "Firmware",
    "srvt-11.3": "Firmware",
}
SUPPLIER = "Brightwatt Energy"
EUI = "00-1A-2B-FF-FE-00-00-01"
MPAN = "1200023305967"
MPRN = "7654321"
SERIAL = "E21Z000777"
IDENTIFIERS = (
    "Acme Meters plc",
    "Bolt Devices GmbH",
    "Hubco Ltd",
    SUPPLIER,
    EUI,
    MPAN,
    MPRN,
    SERIAL,
    "G4Z0009999",
    "001A2BFFFE000001",
    "00:1A:2B:FF:FE:00:00:01",
)

PACKS = {
    "dormant-mt": {
        "name": "Standard Dormant DMCT Migration Test Pack",
        "version": "1.2.0",
        "capability_release": "IOC",
        "standard": True,
    },
    "srvt": {
        "name": "Standard DMCT Service Reference Variant Test Pack",
        "version": "2.0.1",
        "capability_release": "IOC",
        "standard": True,
    },
}


def _plan(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "profile": "dmct",
        "packs": {"dormant-mt": {"tests": list(MT)}, "srvt": {"tests": list(SRVT), "min_pass_rate": 0.6}},
        "entries": [entry],
    }


def _dmc(dmc: str, mfr: str, fw: str) -> dict[str, Any]:
    return {
        "id": dmc,
        "ch": {
            "manufacturer": "Hubco Ltd",
            "model": "HC-9",
            "hardware_version": "1.0",
            "firmware_version": "5.0.0",
            "serial": "001A2BFFFE000001",
        },
        "esme": {
            "manufacturer": mfr,
            "model": "ESME-1P",
            "hardware_version": "A",
            "firmware_version": fw,
            "serial": SERIAL,
        },
        "gsme": {
            "manufacturer": mfr,
            "model": "GSME-G4",
            "hardware_version": "B",
            "firmware_version": "3.0.1",
            "serial": "G4Z0009999",
        },
    }


def _facts(
    run_id: str,
    entry: dict[str, Any],
    dmc: dict[str, Any],
    started: str,
    finished: str,
    rationale: str | None,
    counts: dict[str, int],
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "name": "DMCT-ENV-2",
        "dcc_systems": [{"name": "S1SP", "version": "4.2.0"}, {"name": "DCO", "version": "7.1"}],
    }
    if rationale:
        env["rationale"] = rationale
    return {
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "dmct_version": "0.1.0",
        "python": "3.11.7",
        "host": "lab-host",
        "lab": "acme-lab",
        "lab_file": "lab.yaml",
        "environment": env,
        "entry": entry,
        "dmc": dmc,
        "rigs": ["rig-1"],
        "packs": PACKS,
        "suppliers": [SUPPLIER],
        "workers": 1,
        "counts": counts,
    }


def _line(entry: str, pack: str, test: str, outcome: str, at: str, run: str, **extra: Any) -> str:
    group = (MT if pack == "dormant-mt" else SRVT)[test]
    obj = {
        "entry": entry,
        "pack": pack,
        "test": test,
        "outcome": outcome,
        "at": at,
        "run": run,
        "requirements": [f"REQ-{test.upper()}"],
        "group": group,
        "rig": "rig-1",
        "duration_s": 1.25,
        "evidence": [f"transcripts/{entry}/{test}.jsonl"],
        **extra,
    }
    return json.dumps(obj)


def _write_run(
    root: Path, run_id: str, plan: dict[str, Any], facts: dict[str, Any], lines: list[str]
) -> Path:
    run = root / run_id
    (run / "transcripts").mkdir(parents=True)
    (run / "plan.json").write_text(json.dumps(plan, indent=1))
    (run / "run.json").write_text(json.dumps(facts, indent=1))
    (run / "results.jsonl").write_text("\n".join(lines) + "\n")
    for line in lines:
        obj = json.loads(line)
        for ev in obj["evidence"]:
            path = run / ev
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(
                    {"at": obj["at"], "device": "rig-1/esme", "dir": "rx", "ascii": f"C.1.0({SERIAL})"}
                )
                + "\n"
            )
    return run


def _hist(at: str, action: str, field: str | None, old: Any, new: Any) -> dict[str, Any]:
    return {"at": at, "by": "alice", "action": action, "field": field, "old": old, "new": new}


def issues() -> list[dict[str, Any]]:
    def add(at: str, sev: int, entries: list[str], title: str) -> dict[str, Any]:
        return _hist(
            at, "add", None, None, {"severity": sev, "status": "open", "entries": entries, "title": title}
        )

    return [
        {
            "id": "TI-0001",
            "severity": 3,
            "status": "closed",
            "entries": [OK],
            "route": "c",
            "title": "mt-03 migration credentials rejected",
            "raised": "2026-11-16",
            "service_provider": "S1SP",
            "tests": [{"entry": OK, "pack": "dormant-mt", "test": "mt-03"}],
            "history": [
                add("2026-11-16T12:00:00.000000Z", 3, [OK], "mt-03 migration credentials rejected"),
                _hist("2026-11-17T09:00:00.000000Z", "route", "route", None, "c"),
                _hist("2026-11-23T10:00:00.000000Z", "close", "status", "open", "closed"),
            ],
        },
        {
            "id": "TI-0002",
            "severity": 4,
            "status": "open",
            "entries": [OK],
            "route": "c",
            "title": "srvt-11.3 firmware activation reported late",
            "raised": "2026-11-24",
            "service_provider": "S1SP",
            "tests": [{"entry": OK, "pack": "srvt", "test": "srvt-11.3"}],
            "history": [
                add("2026-11-24T15:00:00.000000Z", 4, [OK], "srvt-11.3 firmware activation reported late"),
                {
                    **_hist("2026-11-24T16:00:00.000000Z", "update", "severity", 4, 4),
                    "rationale": "cosmetic delay, no loss of supply or data (severity 4)",
                },
                _hist("2026-11-24T16:05:00.000000Z", "route", "route", None, "c"),
            ],
        },
        {
            "id": "TI-0003",
            "severity": 3,
            "status": "open",
            "entries": [OK],
            "route": "a",
            "title": "DCO log noise",
            "raised": "2026-11-24",
            "service_provider": "DCO",
            "exclusion": {"rationale": "lies in the DCO test stub, not in the DMC", "tag": "pending"},
            "history": [add("2026-11-24T17:00:00.000000Z", 3, [OK], "DCO log noise")],
        },
        {
            "id": "TI-0004",
            "severity": 3,
            "status": "open",
            "entries": [BAD],
            "route": "b",
            "title": f"CH {EUI} drops join for MPAN {MPAN} (reported by {SUPPLIER})",
            "raised": "2026-11-25",
            "service_provider": "S1SP",
            "tests": [
                {"entry": BAD, "pack": "srvt", "test": "srvt-4.1.2"},
                {"entry": BAD, "pack": "srvt", "test": "srvt-11.2"},
            ],
            "history": [
                add("2026-11-25T11:00:00.000000Z", 3, [BAD], "CH drops join"),
                _hist("2026-11-25T12:00:00.000000Z", "route", "route", None, "b"),
            ],
        },
    ]


def build(root: Path) -> dict[str, Path]:
    """Write the data set under ``root``: ``root/results/<run>``, ``root/issues.json``, ``root/lab.yaml``."""
    results = root / "results"
    ok_entry = {
        "id": OK,
        "dmc": "ACME1",
        "installation": "dormant",
        "mt_under_mtad": False,
        "abandoned": False,
    }
    bad_entry = {
        "id": BAD,
        "dmc": "BOLT2",
        "installation": "active",
        "mt_under_mtad": False,
        "abandoned": False,
    }
    rationale = "DMCT-ENV-2 runs the S1SP 4.2.0 release that goes to production before migration (20.18)"

    def at(day: int, n: int) -> str:
        return f"2026-11-{day:02d}T10:{n:02d}:00.000000Z"

    r1 = [
        _line(
            OK,
            "dormant-mt",
            t,
            "failed" if t == "mt-03" else "passed",
            at(16, i),
            "R1",
            **({"reason": "credentials rejected", "issues": ["TI-0001"]} if t == "mt-03" else {}),
        )
        for i, t in enumerate(MT)
    ]
    r1 += [
        _line(
            OK,
            "srvt",
            t,
            "blocked" if t == "srvt-6.2.4" else "passed",
            at(16, 10 + i),
            "R1",
            **({"reason": f"LinkTimeout: optical head of {SERIAL}"} if t == "srvt-6.2.4" else {}),
        )
        for i, t in enumerate(SRVT)
    ]
    r2 = [
        _line(OK, "dormant-mt", "mt-03", "passed", at(24, 1), "R2"),
        _line(OK, "srvt", "srvt-6.2.4", "passed", at(24, 2), "R2"),
        _line(OK, "srvt", "srvt-11.3", "failed", at(24, 3), "R2", reason="activation late"),
    ]
    r3 = [_line(BAD, "dormant-mt", t, "passed", at(25, i), "R3") for i, t in enumerate(MT)]
    r3 += [
        _line(
            BAD,
            "srvt",
            t,
            "failed" if t in ("srvt-4.1.2", "srvt-6.2.5", "srvt-11.2") else "passed",
            at(25, 10 + i),
            "R3",
            **({"reason": f"no reply for MPRN {MPRN}"} if t == "srvt-6.2.5" else {}),
        )
        for i, t in enumerate(SRVT)
    ]
    runs = {
        "R1": _write_run(
            results,
            "R1",
            _plan(ok_entry),
            _facts(
                "R1",
                ok_entry,
                _dmc("ACME1", "Acme Meters plc", "1.0.0"),
                "2026-11-16T09:00:00.000000Z",
                "2026-11-16T11:00:00.000000Z",
                rationale,
                {"passed": 8, "failed": 1, "blocked": 1},
            ),
            r1,
        ),
        "R2": _write_run(
            results,
            "R2",
            _plan(ok_entry),
            _facts(
                "R2",
                ok_entry,
                _dmc("ACME1", "Acme Meters plc", "1.0.1"),
                "2026-11-24T09:00:00.000000Z",
                "2026-11-24T11:00:00.000000Z",
                rationale,
                {"passed": 2, "failed": 1},
            ),
            r2,
        ),
        "R3": _write_run(
            results,
            "R3",
            _plan(bad_entry),
            _facts(
                "R3",
                bad_entry,
                _dmc("BOLT2", "Bolt Devices GmbH", "9.9.0"),
                "2026-11-25T09:00:00.000000Z",
                "2026-11-25T11:00:00.000000Z",
                None,
                {"passed": 7, "failed": 3},
            ),
            r3,
        ),
    }
    issues_path = root / "issues.json"
    issues_path.write_text(json.dumps(issues(), indent=1))
    lab = root / "lab.yaml"
    lab.write_text(
        f"lab: acme-lab\nrigs:\n  - id: rig-1\n    devices:\n      - role: ch\n"
        f'        serial: "{EUI}"\n        mpxn: "{MPRN}"\n'
    )
    return {"results": results, "issues": issues_path, "lab": lab, **runs}
