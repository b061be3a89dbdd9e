"""Transcripts: every byte exchanged with a device, timestamped, kept per test as evidence.

A transcript is what lets an auditor (and the engineer at 9 a.m.) see exactly what the device said.
Entries carry both directions and an optional decoded note from the protocol layer; retries and
injected faults are noted too. Written as JSON Lines so tools can read them and humans can grep them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Direction = Literal["tx", "rx", "note"]


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    at: float  # UNIX time, seconds
    device: str
    direction: Direction
    data: bytes = b""
    note: str = ""

    def to_json(self) -> str:
        stamp = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="microseconds")
        obj: dict[str, str] = {
            "at": stamp.replace("+00:00", "Z"),
            "device": self.device,
            "dir": self.direction,
        }
        if self.data:
            obj["hex"] = self.data.hex()
            text = self.data.decode("ascii", "replace")
            if text.isprintable() or all(c.isprintable() or c in "\r\n\x02\x03\x06" for c in text):
                obj["ascii"] = text
        if self.note:
            obj["note"] = self.note
        return json.dumps(obj, separators=(",", ":"))


@dataclass
class Transcript:
    """An append-only record of exchanges with every device a test touched."""

    entries: list[TranscriptEntry] = field(default_factory=list)

    def record(self, device: str, direction: Direction, data: bytes = b"", note: str = "") -> None:
        self.entries.append(TranscriptEntry(time.time(), device, direction, bytes(data), note))

    def note(self, device: str, text: str) -> None:
        self.record(device, "note", note=text)

    def write(self, path: Path) -> Path:
        """Write atomically (temp file then rename) so a reader never sees half a transcript."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(e.to_json() + "\n" for e in self.entries), encoding="utf-8")
        tmp.replace(path)
        return path
