"""Redaction (16.1, 20.43): no original identifier survives anywhere; pseudonyms are stable and keyed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.redact import RedactConfig, Redactor, mpan_core_valid
from tests.reports.dataset import BAD, IDENTIFIERS, MPAN, OK, SERIAL, SUPPLIER

KEY = "k" * 32


def _all_text(paths: list[Path]) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def _survivors(text: str) -> list[str]:
    low = text.casefold()
    return [i for i in IDENTIFIERS if i.casefold() in low]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_no_identifier_survives(ds: dict[str, Path], monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setenv("DMCT_REDACT_KEY", KEY)
    outs = []
    for n, argv in enumerate(
        [
            ["testing", "--entry", OK],
            ["testing", "--entry", BAD],
            ["epcl", "--entry", OK, "--entry", BAD],
            ["weekly", "--week", "2026-W48"],
        ]
    ):
        out, heat = Path(f"r{n}.{fmt}"), Path(f"h{n}.svg")
        assert (
            main(
                [
                    "report",
                    *argv,
                    "--issues",
                    "issues.json",
                    "--date",
                    "2026-11-30",
                    "--redact",
                    "-o",
                    str(out),
                    "--heatmap",
                    str(heat),
                ]
            )
            == 0
        )
        outs += [out, heat]
    text = _all_text(outs)
    assert _survivors(text) == []
    assert "MFR-" in text and "SUPPLIER-" in text and "MPXN-" in text
    # Unredacted, the same reports do contain them (the search above is meaningful).
    assert main(["report", "testing", "--entry", BAD, "--issues", "issues.json", "-o", f"plain.{fmt}"]) == 0
    assert {SUPPLIER, MPAN, "Bolt Devices GmbH"} <= set(_survivors(Path(f"plain.{fmt}").read_text()))


def test_pseudonyms_stable_across_reports_and_keyed(ds: dict[str, Path], tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    for name in ("a.md", "b.md"):
        assert (
            main(
                [
                    "report",
                    "testing",
                    "--entry",
                    OK,
                    "--issues",
                    "issues.json",
                    "--date",
                    "2026-11-30",
                    "--redact",
                    "--redact-key",
                    str(key_file),
                    "-o",
                    name,
                ]
            )
            == 0
        )
    assert Path("a.md").read_text() == Path("b.md").read_text()
    red = Redactor(KEY.encode())
    other = Redactor(b"another key of 32 bytes........")
    assert red.pseudonym("MFR", "Acme Meters plc") == red.pseudonym("MFR", "ACME  meters PLC")
    assert red.pseudonym("MFR", "Acme Meters plc") != other.pseudonym("MFR", "Acme Meters plc")
    assert red.pseudonym("MFR", "Acme Meters plc") in Path("a.md").read_text()


def test_patterns_and_config() -> None:
    red = Redactor(KEY.encode(), RedactConfig(terms={"Northwind Supply": "SUPPLIER"}))
    red.learn({"esme": {"serial": SERIAL, "model": "ESME-1P"}})
    text = red.redact_text(
        f"eui 00:1a:2b:ff:fe:00:00:01, MPRN: 7654321, core {MPAN}, serial {SERIAL}, "
        "by Northwind Supply, model ESME-1P, 1234567890123 dur 0.361039"
    )
    for original in ("00:1a:2b", "7654321", MPAN, SERIAL, "Northwind"):
        assert original not in text
    assert "ESME-1P" in text and "1234567890123" in text and "0.361039" in text  # not identifiers
    assert red.redact_text(text) == text  # pseudonyms are never re-redacted
    assert mpan_core_valid(MPAN) and not mpan_core_valid("1200023305960")


def test_redaction_needs_a_key(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["report", "testing", "--entry", OK, "--issues", "issues.json", "--redact", "-o", "x.md"]) == 2
    )
    assert "DMCT_REDACT_KEY" in capsys.readouterr().err
    assert not Path("x.md").exists()
