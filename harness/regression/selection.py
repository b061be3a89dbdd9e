"""Which planned tests a night's pytest arguments select (``-k``, ``-m``, node ids), without a lab.

The packs are collected once in a child pytest with a small recording plugin; the night then plans
exactly those tests (see :mod:`harness.regression.nightly`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

# ------------------------------------------------------------------------------ pytest selection


class _Recorder:
    """A tiny pytest plugin: records the path and node id of every collected (selected) item."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def pytest_collection_finish(self, session: Any) -> None:
        self.items = [(str(item.path), item.nodeid) for item in session.items]


def collect_main(argv: Sequence[str]) -> int:
    """``python -c 'from harness.regression.selection import collect_main; ...' OUT -- PYTEST ARGS``: collect
    only.
    """
    import pytest

    out, args = argv[0], list(argv[1:])
    if args and args[0] == "--":
        args = args[1:]
    recorder = _Recorder()
    status = int(pytest.main([*args, "--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[recorder]))
    Path(out).write_text(json.dumps(recorder.items), encoding="utf-8")
    return status


def collect_selection(packs: Sequence[Path], pytest_args: Sequence[str]) -> dict[str, set[str]]:
    """Pack id → test ids that pytest selects with ``pytest_args`` (collected without a lab)."""
    from harness.model.packs import find_pack_root, pack_id, test_id

    with tempfile.TemporaryDirectory(prefix="dmct-nightly-") as tmp:
        out = Path(tmp) / "items.json"
        code = (
            "import sys; from harness.regression.selection import collect_main; "
            "sys.exit(collect_main(sys.argv[1:]))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, str(out), "--", *map(str, packs), *pytest_args],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode == 5 or (
            proc.returncode == 0 and out.is_file() and json.loads(out.read_text()) == []
        ):
            raise DmctInputError(
                "--", f"the pytest arguments {' '.join(pytest_args)!r} select no test of the packs"
            )
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise DmctInputError("--", f"pytest cannot collect with {' '.join(pytest_args)!r}: {tail[0]}")
        items = json.loads(out.read_text(encoding="utf-8"))
    selection: dict[str, set[str]] = {}
    roots: dict[Path, tuple[Path, str] | None] = {}
    for path_text, nodeid in items:
        path = Path(path_text)
        if path.parent not in roots:
            root = find_pack_root(path.parent)
            roots[path.parent] = (root.resolve(), pack_id(root)) if root is not None else None
        found = roots[path.parent]
        if found is not None:
            selection.setdefault(found[1], set()).add(test_id(path, found[0], nodeid))
    return selection
