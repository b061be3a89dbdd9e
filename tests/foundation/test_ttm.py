"""``dmct ttm`` and the TTM catalogue: coverage, unknown requirements, planned tests not executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DmctInputError
from harness.model.ttm import load_catalogue


def test_standard_catalogue_is_valid_and_covers_the_packs_marks(capsys: pytest.CaptureFixture[str]) -> None:
    catalogue = load_catalogue()
    ids = catalogue.by_id()
    assert "SRVT-4.1.1-ESME" in ids and "SRVT-4.1.1-GSME" in ids and "MISUSE-REPLAY" in ids
    assert ids["SRVT-7.1-ESME"].source.ref == "7.1" and "SRVT-7.1-GSME" not in ids  # 7.1 targets ESME only
    assert main(["ttm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["unknown"] == [] and out["untraced"] == []
    assert "SRVT-4.1.1-ESME" not in out["uncovered"] and "MT-DT-IDENTITY" not in out["uncovered"]
    assert out["groups"]["Reads"]["covered"] >= 1


def _pack(tmp_path: Path, requirement: str) -> Path:
    pack = tmp_path / "np"
    pack.mkdir()
    # dmct ttm collects in-process: give each test's module its own name so imports never clash
    name = f"test_n_{tmp_path.name}.py".replace("-", "_")
    (pack / "pack.yaml").write_text(
        f"id: np\nname: n\nversion: '1'\ncapability_release: IOC\ntests: [{name}::test_n]\n"
    )
    (pack / "requirements.yaml").write_text(
        "requirements:\n  - {id: NP-1, source: {kind: sec, ref: 'H14'}, text: t, group: Extra}\n"
    )
    (pack / name).write_text(
        f"import pytest\n\n@pytest.mark.dmct_requirement({requirement!r})\ndef test_n():\n    pass\n"
    )
    return pack


def test_unknown_requirement_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _pack(tmp_path, "NP-404")
    assert main(["ttm", str(pack), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [(u["pack"], u["requirement"]) for u in out["unknown"]] == [("np", "NP-404")]


def test_non_standard_pack_requirements_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _pack(tmp_path, "NP-1")
    assert main(["ttm", str(pack), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["groups"]["Extra"] == {"requirements": 1, "covered": 1, "tests": 1, "executed": 0}


def test_duplicate_requirement_id_names_file_and_field(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "NP-1")
    (pack / "requirements.yaml").write_text(
        "requirements:\n  - {id: MT-SMOKE, source: {kind: sec, ref: 'H14'}, text: t, group: Extra}\n"
    )
    with pytest.raises(DmctInputError, match=r"requirements\[0\]\.id: duplicate requirement 'MT-SMOKE'"):
        load_catalogue([pack])


def test_run_lists_planned_tests_not_executed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.model.packs import discover, standard_packs_dir

    manifests = {m.id: m for m in discover([standard_packs_dir()]).values()}
    srvt, mt = manifests["srvt"].test_ids, manifests["dormant-mt"].test_ids
    read = "test_srv.py::test_positive[4.1.1-esme]"
    assert read in srvt
    run = tmp_path / "run"
    run.mkdir()
    plan = {
        "profile": "dmct",
        "packs": {"srvt": {"tests": srvt}, "dormant-mt": {"tests": mt}},
        "entries": [{"id": "E", "dmc": "D", "installation": "dormant"}],
    }
    (run / "plan.json").write_text(json.dumps(plan))
    line = {"entry": "E", "pack": "srvt", "test": read, "outcome": "passed", "at": "2026-11-28T10:00:00Z"}
    (run / "results.jsonl").write_text(json.dumps(line) + "\n")
    assert main(["ttm", "--run", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    not_executed = {(n["pack"], n["test"]) for n in out["not_executed"]}
    assert ("srvt", read) not in not_executed
    assert not_executed == {("srvt", t) for t in srvt if t != read} | {("dormant-mt", t) for t in mt}
    assert out["groups"]["Reads"]["executed"] == 1 and out["groups"]["Device Testing"]["executed"] == 0


def test_html_page_has_an_anchor_per_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The static TTM page the Allure report's requirement links open (``ttm.html#<id>``)."""
    from lxml import html

    pack = _pack(tmp_path, "NP-1")
    page = tmp_path / "site" / "ttm.html"
    assert main(["ttm", str(pack), "--json", "--html", str(page)]) == 0
    capsys.readouterr()
    doc = html.parse(str(page)).getroot()
    rows = {tr.get("id"): tr for tr in doc.iter("tr") if tr.get("id")}
    assert set(rows) == {r.id for r in load_catalogue([pack]).requirements}
    assert "np:" in rows["NP-1"].text_content() and "H14" in rows["NP-1"].text_content()
    assert doc.find(".//script") is None and "http" not in page.read_text()  # offline, no scripts
