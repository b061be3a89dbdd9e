"""Evidence bundles: pack, verify, and every change, addition or removal of a file is caught and named."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from harness.cli import main
from harness.reports.evidence import CONTROL, _archive, read_members, verify_bundle


@pytest.fixture
def bundle(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> Path:
    assert (
        main(
            [
                "evidence",
                "pack",
                str(ds["R2"]),
                "--issues",
                "issues.json",
                "--new-key",
                "keys/k.pem",
                "-o",
                "b.tar.gz",
                "--date",
                "2026-11-30",
            ]
        )
        == 0
    )
    capsys.readouterr()
    return Path("b.tar.gz")


def _members(path: Path) -> dict[str, bytes]:
    return read_members(path.read_bytes(), str(path))


def test_pack_contents_and_verify(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = set(_members(bundle))
    assert names >= CONTROL
    assert {
        "run/plan.json",
        "run/results.jsonl",
        "run/run.json",
        "issues.json",
        "reports/dmct-testing-report-EPCL-ACME1-D.md",
        "reports/dmct-testing-report-EPCL-ACME1-D.html",
        "run/transcripts/EPCL-ACME1-D/mt-03.jsonl",
    } <= names
    key_text = Path("keys/k.pem").read_text()
    assert "PRIVATE KEY" in key_text and (Path("keys/k.pem").stat().st_mode & 0o777) == 0o600
    for data in _members(bundle).values():
        assert b"PRIVATE KEY" not in data  # the key never goes into the bundle
    assert main(["evidence", "verify", str(bundle)]) == 0
    assert main(["evidence", "verify", str(bundle), "--public-key", "keys/k.pem.pub"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "pinned" in out and "BEGIN" not in out


def _repack(path: Path, members: dict[str, bytes], out: str) -> Path:
    Path(out).write_bytes(_archive(members, "tar.gz"))
    return Path(out)


def test_every_file_changed_added_removed_is_named(bundle: Path) -> None:
    members = _members(bundle)
    for name in sorted(members):
        changed = dict(members)
        data = bytearray(changed[name])
        data[len(data) // 2] ^= 0x01
        changed[name] = bytes(data)
        res = verify_bundle(_archive(changed, "tar.gz"), "x")
        assert not res.ok and any(name in p for p in res.problems), (name, res.problems)
        removed = {k: v for k, v in members.items() if k != name}
        res = verify_bundle(_archive(removed, "tar.gz"), "x")
        assert not res.ok and any(f"removed: {name}" in p for p in res.problems), (name, res.problems)
    added = {**members, "run/transcripts/extra.jsonl": b"{}\n"}
    res = verify_bundle(_archive(added, "tar.gz"), "x")
    assert res.problems == ["added: run/transcripts/extra.jsonl"]


def test_resigned_bundle_fails_against_pinned_key(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.reports.evidence import build_bundle, generate_key, load_private_key

    members = {k: v for k, v in _members(bundle).items() if k not in CONTROL}
    members["run/results.jsonl"] = members["run/results.jsonl"].replace(b"failed", b"passed")
    generate_key(Path("keys/evil.pem"))
    forged = build_bundle(members, load_private_key(Path("keys/evil.pem")), {"run_id": "R2", "created": "x"})
    Path("forged.tar.gz").write_bytes(forged)
    assert main(["evidence", "verify", "forged.tar.gz"]) == 0  # integrity only, as the output says
    assert main(["evidence", "verify", "forged.tar.gz", "--public-key", "keys/k.pem.pub"]) == 1
    assert "public_key.pem" in capsys.readouterr().out


def test_cli_tamper_exit_1_and_corrupt_archive(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    members = _members(bundle)
    members["run/run.json"] = members["run/run.json"].replace(b"1.0.1", b"1.0.2")
    _repack(bundle, members, "t.tar.gz")
    assert main(["evidence", "verify", "t.tar.gz"]) == 1
    out = capsys.readouterr().out
    assert "changed: run/run.json" in out and "TAMPERED" in out
    raw = bytearray(bundle.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    Path("c.tar.gz").write_bytes(bytes(raw))
    assert main(["evidence", "verify", "c.tar.gz"]) == 1
    assert "TAMPERED" in capsys.readouterr().out


def test_zip_bundle(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "evidence",
                "pack",
                str(ds["R1"]),
                "--issues",
                "issues.json",
                "--new-key",
                "k.pem",
                "-o",
                "b.zip",
            ]
        )
        == 0
    )
    assert Path("b.zip").read_bytes()[:2] == b"PK"
    assert main(["evidence", "verify", "b.zip"]) == 0


def test_unsafe_member_is_rejected() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tf:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    from harness.reports.evidence import BundleCorrupt

    with pytest.raises(BundleCorrupt, match="unsafe"):
        read_members(raw.getvalue(), "x")


def test_bad_input_exit_2(ds: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    Path("notakey.pem").write_text("-----BEGIN PRIVATE KEY-----\nsecretmaterial\n-----END PRIVATE KEY-----\n")
    for argv in (
        ["evidence", "pack", str(ds["R1"])],  # no key at all
        ["evidence", "pack", str(ds["R1"]), "--key", "notakey.pem"],
        ["evidence", "pack", "nowhere", "--key", "notakey.pem"],
        ["evidence", "verify", "missing.tar.gz"],
        ["evidence", "verify", "x", "--public-key", "notakey.pem"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "secretmaterial" not in err, err
    Path("k.pem").write_text("x")
    assert main(["evidence", "pack", str(ds["R1"]), "--new-key", "k.pem"]) == 2  # never overwrites a key
