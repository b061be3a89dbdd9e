"""The bad-input corpus (issue 18): every command that reads a file or a run directory is run against
files that are missing, empty, a directory, malformed, of the wrong type, not UTF-8, truncated,
oversize or holding NUL bytes, and against hostile ids and out-of-range numbers and dates. Each must end
with exactly one line on stderr (``dmct: error: …``), the documented exit status (2: bad input,
docs/exit-codes.md), no traceback, nothing on stdout, and no file created, changed or removed.

Commands run in this process through :func:`harness.cli.main` (a process each would take minutes).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main
from tests.store_pg.runs import journal, write_run

#: Bad contents of a file, by kind. ``None``: the path is a directory; "missing": no such file.
KINDS: dict[str, bytes | str | None] = {
    "missing": "missing",
    "empty": b"",
    "directory": None,
    "not-utf8": b"\xff\xfe\xfa plan \x80\x81\n",
    "nul-bytes": b"\x00\x00\x00\x00\n",
    "malformed": b'{"profile": "dmct", "packs": {\n',
    "truncated": b'{"profile":"dmct","packs":{"srvt":{"tests":["a","b"',
    "wrong-type": b"[1, 2, 3]\n",
    "wrong-field-type": b'{"profile": 7, "packs": "srvt", "entries": {"id": []}}\n',
    "oversize-line": b'{"x": "' + b"A" * 3_000_000 + b'"\n',
}


def _line(**fields: object) -> bytes:
    """One journal line, valid but for ``fields``."""
    line = {
        "entry": "E1",
        "pack": "srvt",
        "test": "srvt-1",
        "outcome": "passed",
        "at": "2027-01-11T09:00:00Z",
    }
    return (json.dumps({**line, **fields}) + "\n").encode()


#: Journal contents: an empty or missing journal is a run with no results (valid), so not here.
JOURNAL_KINDS = {
    "directory": None,
    "not-utf8": b'{"entry":"E1"}\n\xff\xfe\n',
    "nul-bytes": b"\x00\x00\n",
    "malformed": b"{not json\n",
    "truncated": b'{"entry":"E1","pack":"srvt","test":"srvt-1","outcome":"pas',
    "wrong-type": b"[1, 2]\n",
    "wrong-field-type": _line(entry=1),
    "unknown-outcome": _line(outcome="won"),
    "no-timezone": _line(at="2027-01-11T09:00:00"),
    "unknown-entry": _line(entry="E9"),
}


def _put(path: Path, content: bytes | str | None) -> None:
    if path.is_dir():
        path.rmdir()
    elif path.exists():
        path.unlink()
    if content is None:
        path.mkdir()
    elif content != "missing":
        assert isinstance(content, bytes)
        path.write_bytes(content)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a digest of its content and its mode."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        if p.is_dir():
            out[key] = "dir"
        else:
            out[key] = f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mode:o}"
    return out


class World:
    """A results directory holding one good run and one run to spoil, and a store with one issue."""

    def __init__(self, root: Path, *, build: bool = False) -> None:
        self.root = root
        self.results = root / "results"
        self.good = self.results / "good"
        self.bad = self.results / "bad"
        self.file = root / "input.yaml"
        self.store = f"sqlite:///{root / 'results' / 'dmct.sqlite'}"
        if build:
            write_run(self.good, "good", journal("good"))
            write_run(self.bad, "bad", journal("bad"))
            main(["issues", "add", "--title", "t", "--severity", "3", "--entry", "E1", "--store", self.store,
                  "--by", "corpus"])  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module (the store's migrations cost half a second), copied for every case."""
    root = tmp_path_factory.mktemp("corpus") / "world"
    World(root, build=True)
    return root


@pytest.fixture
def world(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    root = tmp_path / "world"
    shutil.copytree(template, root)
    monkeypatch.setenv("DMCT_RESULTS", str(root / "results"))
    monkeypatch.setenv("DMCT_USER", "corpus")
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_EVIDENCE_KEY", raising=False)
    monkeypatch.chdir(root)
    return World(root)


def _assert_one_line(
    capsys: pytest.CaptureFixture[str], world: World, argv: list[str], expected: int = 2
) -> str:
    before = _snapshot(world.root)
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    lines = captured.err.splitlines()
    assert code == expected and len(lines) == 1 and lines[0].startswith("dmct"), (code, captured.err[:500])
    assert captured.out == "", captured.out[:300]
    assert _snapshot(world.root) == before, "a file changed"
    return lines[0]


# ------------------------------------------------------------------------------ files given by name

#: Commands taking a plan / issues / lab file: ``F`` stands for the bad file.
FILE_COMMANDS: dict[str, Callable[[World], list[str]]] = {
    "verdict --plan": lambda w: ["verdict", "--plan", "F", "--results", str(w.good / "results.jsonl"),
                                 "--issues", str(w.good / "plan.json")],
    "verdict --issues": lambda w: ["verdict", "--run", str(w.good), "--issues", "F"],
    "issues import": lambda w: ["issues", "import", "F", "--store", w.store],
    "workoff --issues": lambda w: ["workoff", "--issues", "F", "--certificate-date", "2026-12-04"],
    "lab check": lambda _: ["lab", "check", "F"],
    "run --lab": lambda w: ["run", "--lab", "F", "--results-dir", str(w.results)],
    "report --issues": lambda w: ["report", "testing", "--run", str(w.good), "--entry", "E1",
                                  "--issues", "F"],
    "evidence verify --public-key": lambda w: ["evidence", "verify", str(w.good / "plan.json"),
                                               "--public-key", "F"],
    "report --redact-key": lambda w: ["report", "testing", "--run", str(w.good), "--entry", "E1",
                                      "--redact", "--redact-key", "F"],
}  # fmt: skip


ISSUE_FILES = ("verdict --issues", "issues import", "workoff --issues", "report --issues")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_a_bad_file_is_one_line_exit_2_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    if kind == "empty" and command in ISSUE_FILES:
        pytest.skip("an empty issues file is an empty log (docs/interchange.md), not bad input")
    if command == "report --redact-key" and kind not in ("missing", "directory", "empty"):
        pytest.skip("any bytes make an HMAC key: only a key that cannot be read is bad input")
    _put(world.file, KINDS[kind])
    argv = [str(world.file) if a == "F" else a for a in FILE_COMMANDS[command](world)]
    line = _assert_one_line(capsys, world, argv)
    assert str(world.file) in line or world.file.name in line, line


# -------------------------------------------------------------------------------- run directories

RUN_COMMANDS: dict[str, Callable[[World], list[str]]] = {
    "verdict": lambda w: ["verdict", "--run", str(w.bad), "--store", w.store],
    "report testing": lambda w: ["report", "testing", "--run", str(w.bad), "--entry", "E1",
                                 "--store", w.store],
    "report epcl": lambda w: ["report", "epcl", "--run", str(w.bad), "--entry", "E1", "--store", w.store],
    "report weekly": lambda w: ["report", "weekly", "--run", str(w.bad), "--week", "2027-W02",
                                "--store", w.store],
    "report junit": lambda w: ["report", "junit", "--run", str(w.bad)],
    "ttm --run": lambda w: ["ttm", "--run", str(w.bad)],
    "diff": lambda w: ["diff", str(w.good), str(w.bad)],
    "merge": lambda w: ["merge", str(w.good), str(w.bad), "-o", str(w.root / "merged")],
    "results push": lambda w: ["results", "push", str(w.bad), "--store", w.store],
    "evidence pack": lambda w: ["evidence", "pack", str(w.bad), "--key", str(w.good / "plan.json")],
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(JOURNAL_KINDS))
@pytest.mark.parametrize("command", sorted(RUN_COMMANDS))
def test_a_bad_journal_is_one_line_exit_2_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    if command == "report junit" and kind == "unknown-entry":
        pytest.skip("JUnit XML lists what ran; it judges nothing against the plan")
    _put(world.bad / "results.jsonl", JOURNAL_KINDS[kind])
    line = _assert_one_line(capsys, world, RUN_COMMANDS[command](world))
    assert "results.jsonl" in line or "key" in line, line  # the journal, or (evidence) the key first


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8", "malformed", "wrong-type", "truncated"])
@pytest.mark.parametrize("command", sorted(RUN_COMMANDS))
def test_a_bad_plan_is_one_line_exit_2_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    if command == "report junit" and kind != "missing":
        pytest.skip("JUnit XML needs a run directory (plan.json present), not the plan's content")
    _put(world.bad / "plan.json", KINDS[kind])
    _assert_one_line(capsys, world, RUN_COMMANDS[command](world))


@pytest.mark.parametrize("kind", ["directory", "not-utf8", "malformed", "wrong-type"])
@pytest.mark.parametrize("command", ["report testing", "report junit", "diff", "merge"])
def test_bad_run_facts_are_one_line_exit_2_and_change_nothing(
    world: World, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    _put(world.bad / "run.json", KINDS[kind])
    _assert_one_line(capsys, world, RUN_COMMANDS[command](world))


# ------------------------------------------------------------- hostile ids, numbers, dates, outputs

HOSTILE: list[tuple[list[str], str]] = [
    (["issues", "show", "TI-0001\nforged line"], "no such issue"),
    (["issues", "show", "'; DROP TABLE testing_issues; --"], "no such issue"),
    (["issues", "show", "../../etc/passwd"], "no such issue"),
    (["issues", "add", "--title", "t", "--severity", "99999999999999999999999"], "--severity"),
    (["issues", "add", "--title", "t", "--severity", "3", "--id", "x" * 100_000], "id"),
    (["issues", "add", "--title", "\x00", "--severity", "3"], "title"),
    (["issues", "update", "TI-0001", "--title", "x", "--expect-version", "9" * 40], "--expect-version"),
    (["issues", "update", "TI-0001", "--title", "x", "--expect-version", "-1"], "--expect-version"),
    (["workoff", "--certificate-date", "9999-12-31"], "--certificate-date"),
    (["workoff", "--certificate-date", "0001-01-01"], "--certificate-date"),
    (["workoff", "--certificate-date", "2026-12-04", "--today", "9999-12-31"], "--today"),
    (["workoff", "--certificate-date", "2026-02-30"], "--certificate-date"),
    (["report", "weekly", "--run", "GOOD", "--week", "2027-W99"], "--week"),
    (["report", "testing", "--run", "GOOD", "--entry", "E1", "--date", "99999-01-01"], "--date"),
    (["report", "testing", "--run", "GOOD", "--entry", "E1", "-o", "ROOT"], "is a directory"),
    (["report", "junit", "--run", "GOOD", "-o", "GOOD/plan.json/x.xml"], "not a directory"),
    (["issues", "export", "-o", "ROOT"], "is a directory"),
    (["run", "--lab", "LAB", "--run-id", "../evil"], "--run-id"),
    (["run", "--lab", "LAB", "-n", "abc"], "-n"),
    (["run", "--lab", "LAB", "-n", "1e9"], "-n"),
    (["run", "--lab", "LAB", "--pack", "/nonexistent"], "--pack"),
    (["run", "--lab", "LAB", "--results-dir", "GOOD/plan.json"], "--results-dir"),
    (["ttm", "/nonexistent"], "/nonexistent"),
    (["results", "pull", "--run-id", "nope", "-o", "ROOT/pulled"], "nope"),
    (["diff", "/nonexistent", "GOOD"], "/nonexistent"),
    (["lab", "up", "LAB", "--endpoints", "ROOT"], "is a directory"),
]


@pytest.mark.parametrize(("argv", "fragment"), HOSTILE, ids=[" ".join(a)[:60] for a, _ in HOSTILE])
def test_hostile_values_are_one_line_exit_2_and_change_nothing(
    world: World, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    from tests.conftest import REPO

    subst = {"GOOD": str(world.good), "ROOT": str(world.root), "LAB": str(REPO / "labs/virtual.yaml")}
    argv = [subst.get(a, a) for a in argv]
    argv = [a.replace("GOOD/", str(world.good) + "/").replace("ROOT/", str(world.root) + "/") for a in argv]
    if argv[0] == "issues" or argv[:2] == ["results", "pull"]:
        argv += ["--store", world.store]
    if argv[0] == "workoff":
        argv += ["--store", world.store]
    line = _assert_one_line(capsys, world, argv)
    assert fragment in line, line
    assert not (world.root.parent / "evil").exists()
