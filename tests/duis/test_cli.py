"""``dmct duis request`` / ``dmct duis verify``: a signed request the DCC tool accepts; one line out;
bad input is one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from tests.duis.dcc_tool import DSP, SUPPLIER, DccTool

DEVICE = "00-1A-2B-FF-FE-00-00-02"


def request_args(dcc: DccTool, *extra: str) -> list[str]:
    return ["duis", "request", "--srv", "3.1", "--device", DEVICE, "--user", SUPPLIER,
            "--key", str(dcc.key(SUPPLIER)), "--cert", str(dcc.cert(SUPPLIER)), "--xsd", str(dcc.xsd),
            "--counter", "77", *extra]  # fmt: skip


def test_request_then_verify(dcc: DccTool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(request_args(dcc, "--params", '{"text": "HELLO"}', "--future-date", "2027-01-01T08:00:00+00:00"))
        == 0
    )
    out = tmp_path / "req.xml"
    out.write_text(capsys.readouterr().out)
    assert f"{SUPPLIER}:{DEVICE}:77" in out.read_text()
    assert dcc.validate_many([out])[out] == "SUCCESS"
    assert main(["duis", "verify", str(out), "--cert", str(dcc.cert(SUPPLIER)), "--xsd", str(dcc.xsd)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("OK req.xml: Request SRV 3.1") and "\n" not in line
    assert main(["duis", "verify", str(out), "--cert", str(dcc.cert(DSP))]) == 1
    assert capsys.readouterr().out.startswith("FAIL req.xml: signer not trusted")
    out.write_text(out.read_text().replace("HELLO", "HELLX"))
    assert main(["duis", "verify", str(out), "--cert", str(dcc.cert(SUPPLIER))]) == 1
    assert "does not verify" in capsys.readouterr().out


def test_bad_input_is_one_line_and_status_2(dcc: DccTool, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(request_args(dcc, "--params", '{"text": "' + "x" * 200 + '"}')) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dmct: error: SRV 3.1") and "116" in err and "\n" not in err
    assert main(request_args(dcc, "--params", "[1]")) == 2
    assert main(["duis", "verify", "/no/such/file.xml", "--cert", str(dcc.cert(DSP))]) == 2
    assert "cannot read the message" in capsys.readouterr().err
