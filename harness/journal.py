"""The results journal writer: one JSON line per test execution, appended as it finishes.

Each record is one ``os.write`` on an ``O_APPEND`` descriptor, so lines from concurrent writers never
interleave and a crash loses at most the record being written, never earlier ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from harness.interchange import ResultRecord


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
