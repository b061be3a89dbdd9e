"""The xdist worker cap (``harness.plugin.session._cap_workers``) as a rule, without a session.

The end-to-end check (a real ``-n 2`` session on a one-rig lab) is in ``make slow``; this keeps the
rule itself in ``make test``: never more workers than usable rigs, unless ``--share-rigs``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.plugin.session import _cap_workers


class _Config:
    """Just what ``_cap_workers`` reads and writes: xdist's options, --share-rigs, a console."""

    def __init__(self, tx: list[str] | None, share: bool = False) -> None:
        self.option = SimpleNamespace(tx=tx, numprocesses=len(tx or []))
        self._share = share
        self.lines: list[str] = []
        self.pluginmanager = SimpleNamespace(get_plugin=lambda _name: self)

    def getoption(self, name: str) -> Any:
        assert name == "--share-rigs"
        return self._share

    def write_line(self, text: str) -> None:
        self.lines.append(text)


@pytest.mark.parametrize(
    ("workers", "rigs", "share", "expected"),
    [
        (4, 2, False, 2),
        (2, 1, False, 1),
        (2, 2, False, 2),
        (1, 3, False, 1),
        (4, 2, True, 4),
        (3, 0, False, 3),
    ],
)
def test_workers_are_capped_at_usable_rigs(workers: int, rigs: int, share: bool, expected: int) -> None:
    config = _Config([f"popen{i}" for i in range(workers)], share)
    _cap_workers(config, rigs)  # type: ignore[arg-type]
    assert config.option.numprocesses == expected and len(config.option.tx) == expected
    capped = expected < workers
    assert bool(config.lines) == capped
    if capped:
        assert config.lines == [
            f"dmct: {workers} workers asked for but {rigs} usable rig(s): running {rigs} "
            "(tests are ordered per rig; --share-rigs to share them)"
        ]


def test_no_xdist_is_left_alone() -> None:
    config = _Config(None)
    _cap_workers(config, 1)  # type: ignore[arg-type]
    assert config.option.tx is None and not config.lines
