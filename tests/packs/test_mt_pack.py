"""The DMCT MT pack (``test_packs/dormant_migration``) run against virtual DMCs.

Each test starts a virtual lab from a lab file and runs the pack in a pytest subprocess with two
workers, exactly as ``dmct run`` does, then reads the results journal:

* the default virtual lab passes every test: the standard ones on its standard rig, each negative
  path on the rig the lab file prepared for it (``prepared_for``);
* a dormant DMC on pre-EPCL firmware is upgraded by the migration and passes too;
* seeded defects fail the tests that must catch them;
* without prepared rigs the negative paths are not applicable; a lab with only the rig prepared for
  one path runs just that one (the standard tests are blocked: no standard rig);
* a rig migrated in an earlier session, or prepared for another installation type, blocks the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.model.interchange import Outcome, iter_results
from harness.model.packs import PackManifest
from harness.yamlio import load_model
from tests.conftest import REPO, RunningLab

PACK = REPO / "test_packs" / "dormant_migration"
NEGATIVE = "test_negative_paths.py::"
SCENARIO_TEST = {
    "gt01": "test_negative_paths.py::test_gt01_gsme_excluded_esme_migrated",
    "five-failed-attempts": "test_negative_paths.py::test_exclusion_five_failed_attempts",
    "retry": "test_negative_paths.py::test_retry_recovers_under_the_retry_strategy",
}
GSME_TESTS = {
    "test_commissioning.py::test_inventory_commissioned_and_linked[gsme]",
    "test_commissioning.py::test_credentials_rotated[gsme]",
    "test_commissioning.py::test_old_smso_credential_rejected[gsme]",
    "test_notifications.py::test_notifications_in_order",
    "test_notifications.py::test_device_alerts_during_migration",
    "test_smoke.py::test_smoke_8_2_read_inventory[gsme]",
    "test_smoke.py::test_smoke_11_2_read_firmware_version[gsme]",
    "test_smoke.py::test_smoke_6_2_4_read_device_identity[gsme]",
    "test_smoke.py::test_smoke_4_1_1_read_import_registers[gsme]",
    "test_smoke.py::test_smoke_7_4_read_supply_status[gsme]",
}


#: The matrices' other cases, for `make slow` (.ci/run): `make test` keeps one of each (the exact
#: alerts_missing_timestamp defect, the retry negative path), issue 21.
SLOW = pytest.mark.slow


def planned() -> list[str]:
    return load_model(PackManifest, PACK / "pack.yaml").test_ids


def standard() -> set[str]:
    return {t for t in planned() if not t.startswith(NEGATIVE)}


@dataclass
class PackRun:
    outcomes: dict[str, Outcome]
    reasons: dict[str, str]
    seconds: float
    output: str = field(repr=False)

    def having(self, outcome: Outcome) -> set[str]:
        return {t for t, o in self.outcomes.items() if o is outcome}


def run_pack(running: RunningLab, tmp_path: Path, run_id: str, *extra: str) -> PackRun:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(PACK), "--lab", str(running.lab),
         "--lab-endpoints", str(running.endpoints), "--results-dir", str(tmp_path / "r"), "--run-id", run_id,
         "-n", "2", "-q", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=os.environ,
    )  # fmt: skip
    seconds = time.monotonic() - started
    output = out.stdout + out.stderr
    assert out.returncode in (0, 1), output
    records = list(iter_results(tmp_path / "r" / run_id / "results.jsonl"))
    assert sorted(r.test for r in records) == sorted(planned()), output  # one line per planned test
    return PackRun(
        {r.test: r.outcome for r in records},
        {r.test: str(r.extra.get("reason", "")) for r in records},
        seconds,
        output,
    )


def _device(data: dict[str, Any], role: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in data["rigs"][0]["devices"] if d["role"] == role)
    return found


def combined(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for one in edits:
            one(data)

    return edit


def with_defect(role: str, defect: str) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        _device(data, role).setdefault("virtual", {}).setdefault("defects", []).append(defect)

    return edit


def pre_epcl_firmware(data: dict[str, Any]) -> None:
    """A dormant DMC whose devices run firmware that must be upgraded before migration (catalogue)."""
    old = {"ch": "2.0.0", "esme": "1.3.0", "gsme": "2.9.0"}
    for role, version in old.items():
        data["dmcs"][0][role]["firmware_version"] = version
        _device(data, role)["firmware_version"] = version


def prepared(scenario: str) -> Callable[[dict[str, Any]], None]:
    """Only the default lab's rig prepared for ``scenario`` (no standard rig)."""

    def edit(data: dict[str, Any]) -> None:
        data["rigs"] = [r for r in data["rigs"] if r.get("prepared_for") == scenario]

    return edit


def test_default_dmc_passes_and_a_migrated_rig_blocks(
    tmp_path: Path, virtual_lab: Callable[..., RunningLab], record_property: Callable[[str, object], None]
) -> None:
    running = virtual_lab()
    first = run_pack(running, tmp_path, "clean")
    record_property("mt_pack_seconds", round(first.seconds, 2))
    assert first.having(Outcome.PASSED) == set(planned()), first.output
    # A second session on the same (now migrated) rig cannot observe a migration: blocked, not failed.
    second = run_pack(running, tmp_path, "again")
    assert standard() <= second.having(Outcome.BLOCKED), second.output
    assert all("already Commissioned" in second.reasons[t] for t in standard()), second.reasons


@pytest.mark.slow  # `make slow`: make test keeps the blocking case above (a rig migrated before)
def test_rig_of_another_installation_type_blocks(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    """A rig holding a dormant installation cannot run an active entry's migration tests: blocked."""

    def both_entries_on_rig_1(data: dict[str, Any]) -> None:
        data["rigs"][0].pop("entries", None)  # serves both entries; its installation is the first's

    run = run_pack(
        virtual_lab(lab_file(both_entries_on_rig_1)), tmp_path, "active", "--entry", "EPCL-VDMC1-A"
    )
    assert standard() <= run.having(Outcome.BLOCKED), run.output
    assert all("dormant installation but entry EPCL-VDMC1-A" in run.reasons[t] for t in standard())


@pytest.mark.slow  # `make slow`: make test keeps the dormant installation's MT pack run (the default entry)
def test_active_entry_migrates_on_its_own_rig(tmp_path: Path, virtual_lab: Callable[..., RunningLab]) -> None:
    """labs/virtual.yaml holds rigs for the active entry too: its migration tests run and pass there."""
    run = run_pack(virtual_lab(), tmp_path, "active", "--entry", "EPCL-VDMC1-A")
    assert run.having(Outcome.PASSED) == set(planned()), run.output


def test_pre_epcl_firmware_is_upgraded_by_the_migration(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    run = run_pack(virtual_lab(lab_file(pre_epcl_firmware)), tmp_path, "upgrade")
    assert run.having(Outcome.PASSED) == standard(), run.output


@pytest.mark.parametrize(
    ("edit", "must_fail", "exactly"),
    [
        pytest.param(
            with_defect("esme", "wrong_firmware_reported"),
            {"test_device_testing.py::test_esme_identity_matches_epcl_entry",
             "test_device_testing.py::test_device_testing_passed",
             "test_smoke.py::test_smoke_11_2_read_firmware_version[esme]"},
            False,
            id="esme-wrong_firmware_reported",
            marks=SLOW,
        ),
        pytest.param(
            with_defect("esme", "old_credentials_accepted"),
            {"test_commissioning.py::test_old_smso_credential_rejected[esme]",
             "test_commissioning.py::test_credentials_rotated[esme]"},
            False,
            id="esme-old_credentials_accepted",
            marks=SLOW,
        ),
        pytest.param(
            with_defect("ch", "han_device_log_not_updated"),
            {"test_device_testing.py::test_data_validation_passed",
             "test_smoke.py::test_smoke_8_9_read_device_log[ch]"},
            False,
            id="ch-han_device_log_not_updated",
            marks=SLOW,
        ),
        pytest.param(
            with_defect("gsme", "gsme_never_wakes"), GSME_TESTS, True, id="gsme-gsme_never_wakes", marks=SLOW
        ),
        pytest.param(
            with_defect("esme", "alerts_missing_timestamp"),
            {"test_notifications.py::test_device_alerts_during_migration"},
            True,
            id="esme-alerts_missing_timestamp",
        ),
        pytest.param(
            combined(pre_epcl_firmware, with_defect("esme", "firmware_activation_ignored")),
            {"test_schedule_and_firmware.py::test_firmware_upgraded_where_required",
             "test_device_testing.py::test_esme_identity_matches_epcl_entry"},
            False,
            id="esme-firmware_activation_ignored",
            marks=SLOW,
        ),
    ],
)  # fmt: skip
def test_seeded_defect_fails_the_tests_that_catch_it(
    edit: Callable[[dict[str, Any]], None],
    must_fail: set[str],
    exactly: bool,
    tmp_path: Path,
    lab_file: Callable[..., Path],
    virtual_lab: Callable[..., RunningLab],
) -> None:
    run = run_pack(virtual_lab(lab_file(edit)), tmp_path, "defect")
    failed = run.having(Outcome.FAILED)
    assert must_fail <= failed, f"not caught by {sorted(must_fail - failed)}\n{run.output}"
    if exactly:
        assert failed == must_fail, f"also failed: {sorted(failed - must_fail)}\n{run.output}"
        assert run.having(Outcome.PASSED) == standard() - must_fail, run.output
    assert not run.having(Outcome.BLOCKED) and not run.having(Outcome.ERROR), run.output


def test_lab_without_prepared_rigs_leaves_the_negative_paths_not_applicable(
    tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    run = run_pack(virtual_lab(lab_file()), tmp_path, "standard")
    assert run.having(Outcome.PASSED) == standard(), run.output
    for test in set(planned()) - standard():
        assert run.outcomes[test] is Outcome.SKIPPED, (test, run.outcomes[test])
        assert "has no rig prepared for" in run.reasons[test], run.reasons[test]


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, marks=() if s == "retry" else SLOW) for s in sorted(SCENARIO_TEST)]
)
def test_negative_path_passes_on_a_prepared_rig(
    scenario: str, tmp_path: Path, lab_file: Callable[..., Path], virtual_lab: Callable[..., RunningLab]
) -> None:
    run = run_pack(virtual_lab(lab_file(prepared(scenario), prepared=True)), tmp_path, scenario)
    wanted = SCENARIO_TEST[scenario]
    assert run.having(Outcome.PASSED) == {wanted}, run.output
    for test in set(planned()) - {wanted} - standard():
        assert run.outcomes[test] is Outcome.SKIPPED, (test, run.outcomes[test], run.output)
        assert run.reasons[test].startswith("not applicable:"), (test, run.reasons[test])
    # no standard rig in this lab: the standard tests are blocked (a lab limitation), never failed
    assert run.having(Outcome.BLOCKED) == standard(), run.output
