"""The lab's UTRN source (device_drivers/utrn.py): how top-up tests get UTRNs on any lab.

The scheme source must mint what the virtual meters accept (and nothing they would not); a command
source runs the lab's own program and turns every way it can go wrong into one infrastructure fault
naming the program (the top-up is then blocked, not failed); the lab file's ``prepayment.utrn`` is
validated; and a top-up test takes its UTRN from the lab's source end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from device_drivers.utrn import CommandUtrnSource, SchemeUtrnSource, UtrnSourceUnavailable, parse_utrn
from harness.errors import DmctInputError
from harness.lab.inventory import Lab, load_lab, utrn_source_problems
from harness.model.interchange import iter_results
from labs.virtual.devices.utrn import UtrnProblem, check_utrn
from tests.conftest import REPO, virtual_lab_data

EUI = "00-11-22-33-44-55-66-77"
#: A stand-in for a lab's prepayment-system client: mints with the scheme, prints it in groups of four.
CLIENT = """
import sys
from device_drivers.utrn import SchemeUtrnSource
device, pence, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
utrn = SchemeUtrnSource().mint(device, pence, seq)
print(" ".join(utrn[i:i + 4] for i in range(0, 20, 4)))
"""


def test_scheme_mints_what_the_virtual_meter_accepts_and_only_for_it() -> None:
    utrn = SchemeUtrnSource().mint(EUI, 1000, 42)
    parsed = check_utrn(utrn, EUI)
    assert not isinstance(parsed, UtrnProblem), parsed
    assert (parsed.amount_pence, parsed.sequence) == (1000, 42)
    assert check_utrn(utrn, "00-11-22-33-44-55-66-78") is UtrnProblem.NOT_FOR_DEVICE
    assert (
        check_utrn(SchemeUtrnSource("another secret").mint(EUI, 1000, 42), EUI) is UtrnProblem.NOT_AUTHENTIC
    )
    with pytest.raises(ValueError, match="1-999999 pence"):
        SchemeUtrnSource().mint(EUI, 0, 1)


def _command(tmp_path: Path, body: str, timeout_s: float = 10.0) -> CommandUtrnSource:
    script = tmp_path / "client.py"
    script.write_text(body)
    return CommandUtrnSource(
        (sys.executable, str(script), "{device}", "{amount_pence}", "{sequence}"), timeout_s
    )


def test_command_source_runs_the_lab_program_with_the_values_substituted(tmp_path: Path) -> None:
    source = _command(tmp_path, CLIENT)
    utrn = source.mint(EUI, 250, 7)
    assert utrn == SchemeUtrnSource().mint(EUI, 250, 7)  # groups joined back into 20 digits


@pytest.mark.parametrize(
    ("body", "timeout_s", "message"),
    [
        (
            "import sys; sys.stderr.write('no route to PPMS\\n'); sys.exit(3)",
            10.0,
            "exited 3: no route to PPMS",
        ),
        ("print('ERROR 17')", 10.0, "printed 'ERROR 17', not a 20-digit UTRN"),
        ("print()", 10.0, "printed 'nothing', not a 20-digit UTRN"),
        ("import time; time.sleep(5)", 0.5, "no UTRN within 0.5 s"),
    ],
    ids=["exit", "garbage", "empty", "hang"],
)
def test_command_source_failures_are_one_infrastructure_fault(
    tmp_path: Path, body: str, timeout_s: float, message: str
) -> None:
    with pytest.raises(UtrnSourceUnavailable) as err:
        _command(tmp_path, body, timeout_s).mint(EUI, 100, 1)
    assert str(err.value) == f"UTRN source {sys.executable}: {message}"


def test_missing_program_is_named() -> None:
    with pytest.raises(
        UtrnSourceUnavailable, match=r"UTRN source /nonexistent/ppms: the program does not exist"
    ):
        CommandUtrnSource(("/nonexistent/ppms",)).mint(EUI, 100, 1)


def test_parse_accepts_groups_and_refuses_short() -> None:
    assert parse_utrn("1234-5678-9012-3456-7890\n", "x") == "12345678901234567890"
    with pytest.raises(UtrnSourceUnavailable):
        parse_utrn("1234", "x")


@pytest.mark.parametrize(
    ("utrn", "message"),
    [
        ({"kind": "command"}, "a command UTRN source needs argv"),
        ({"kind": "command", "argv": ["ppms", "{meter}"]}, "only {device}, {amount_pence} and {sequence}"),
        ({"kind": "scheme", "secret_env": "not a name"}, "prepayment.utrn.secret_env"),
        ({"kind": "token"}, "prepayment.utrn.kind"),
    ],
)
def test_lab_file_utrn_source_is_validated(tmp_path: Path, utrn: dict[str, object], message: str) -> None:
    data = virtual_lab_data()
    data["prepayment"] = {"utrn": utrn}
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(DmctInputError) as err:
        load_lab(lab)
    assert str(lab) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("fails", "outcome"), [(False, "passed"), (True, "blocked")], ids=["works", "down"])
def test_top_up_takes_its_utrn_from_the_lab_source(tmp_path: Path, fails: bool, outcome: str) -> None:
    """SRV 2.2 on the virtual ESME with UTRNs from a lab program: accepted when the program works; the
    test is blocked, naming the program's error, when the prepayment system is down."""
    client = tmp_path / "client.py"
    client.write_text("import sys; sys.stderr.write('PPMS down\\n'); sys.exit(2)" if fails else CLIENT)
    data = virtual_lab_data()
    argv = [sys.executable, str(client), "{device}", "{amount_pence}", "{sequence}"]
    data["prepayment"] = {"utrn": {"kind": "command", "argv": argv}}
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    results = tmp_path / "results"
    select = "positive and 2.2-esme and not 6.2.2"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "-n", "0", "--results-dir",
         str(results), "--run-id", "u", "--pack", "test_packs/service_reference_variant", "--", "-k", select],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    records = list(iter_results(results / "u" / "results.jsonl"))
    assert [(r.test, r.outcome.value) for r in records] == [
        ("test_srv.py::test_positive[2.2-esme]", outcome)
    ], proc.stdout[-3000:] + proc.stderr[-2000:]
    if fails:
        text = json.dumps(records[0].extra)
        assert "exited 2: PPMS down" in text, text


def _lab(virtual: bool, utrn: dict[str, object] | None) -> Lab:
    data = virtual_lab_data()
    data["virtual"] = virtual
    if utrn is not None:
        data["prepayment"] = {"utrn": utrn}
    return Lab.model_validate(data)


@pytest.mark.parametrize(
    ("virtual", "utrn", "problem"),
    [
        (True, None, None),
        (False, None, "prepayment.utrn: none given, so top-up tests (SRV 2.2) are blocked"),
        (False, {"kind": "command", "argv": ["ppms-utrn", "{device}"]}, None),
        (False, {"kind": "command", "argv": ["nope", "{device}"]}, "UTRN program 'nope' not found"),
        (False, {"kind": "command", "argv": ["/no/such/ppms"]}, "UTRN program '/no/such/ppms' not found"),
        (False, {"kind": "scheme", "secret_env": "PPMS_SECRET"}, "$PPMS_SECRET is not set"),
        (True, {"kind": "scheme", "secret_env": "PPMS_SECRET"}, None),
    ],
)
def test_lab_check_names_why_top_ups_would_be_blocked(
    virtual: bool, utrn: dict[str, object] | None, problem: str | None
) -> None:
    found = utrn_source_problems(_lab(virtual, utrn), {}, {"ppms-utrn": "/usr/bin/ppms-utrn"}.get)
    assert found == ([] if problem is None else [next(p for p in found if problem in p)])
