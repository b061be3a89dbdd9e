"""The results journal: one JSON line per test execution, appended as it finishes, and read back folded.

Each record is one ``os.write`` on an ``O_APPEND`` descriptor, so lines from concurrent writers never
interleave and a crash loses at most the record being written, never earlier ones.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from harness.model.interchange import ResultRecord

if TYPE_CHECKING:
    from harness.model.interchange import Plan
    from harness.rules.verdict import ResultIndex


class JournalWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: ResultRecord) -> None:
        os.write(self._fd, (record.to_json() + "\n").encode("utf-8"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def stream_results(plan: Plan, paths: Sequence[Path], *, keep_records: bool = False) -> ResultIndex:
    """Fold every journal into a :class:`ResultIndex`, naming file, line and field of a bad record.

    The cyclic garbage collector is paused meanwhile: the fold allocates millions of short-lived
    containers and no cycles, and the collector's repeated passes over the growing index cost a quarter
    of the time at a million lines.
    """
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _stream(plan, paths, keep_records)
    finally:
        if paused:
            gc.enable()


def _stream(plan: Plan, paths: Sequence[Path], keep_records: bool) -> ResultIndex:
    from harness.rules.verdict import ResultIndex
    from harness.yamlio import text_lines

    index = ResultIndex(plan, keep_records=keep_records)
    add = index.add_line
    for path in paths:
        source = str(path)
        for number, text in text_lines(path):
            add(text, source, number)
    return index
