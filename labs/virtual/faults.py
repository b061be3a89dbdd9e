"""Fault injection for the virtual lab: latency, dropped replies, corrupted frames, disconnects.

Real labs are noisy (optical heads slip, serial servers stall); the harness must tell such lab trouble
from a product failure and ride through it with retries. So every simulated device's outgoing bytes
pass through a :class:`FaultInjector`, configured from the lab file or changed at run time through the
control API (:mod:`labs.virtual.control`). Decisions are drawn from a seeded RNG so a faulty run is
reproducible, and **every injected fault is logged** (device, kind, detail, time) so a test can prove
that retries, not luck, produced its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FaultConfig:
    """What to do to a device's replies. Probabilities are per reply (one write of the server)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0  # uniform in [-jitter, +jitter], never below zero total
    drop: float = 0.0  # the reply is never sent
    corrupt: float = 0.0  # one byte of the reply is inverted
    disconnect: bool = False  # connections are refused / cut: the link is down

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        merged = replace(base or cls(), **data)
        for name in ("drop", "corrupt"):
            if not 0.0 <= getattr(merged, name) <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1")
        if merged.latency_ms < 0 or merged.jitter_ms < 0:
            raise ValueError("latency_ms and jitter_ms must not be negative")
        return merged


@dataclass
class FaultLog:
    """Every fault injected in this lab process, in order; optionally mirrored to a JSON Lines file."""

    path: Path | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, device: str, kind: str, detail: str = "") -> None:
        entry = {"at": time.time(), "device": device, "kind": kind, "detail": detail}
        self.entries.append(entry)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")


class FaultInjector:
    """Applies a device's :class:`FaultConfig` to each reply it sends."""

    def __init__(self, device: str, log: FaultLog, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.device = device
        self.log = log
        self.config = config or FaultConfig()
        self._rng = random.Random(f"{seed}:{device}")
        self._not_before = 0.0  # replies keep their order even with random latency

    def set(self, config: FaultConfig) -> None:
        self.config = config
        self.log.add(self.device, "configure", json.dumps(asdict(config), sort_keys=True))

    @property
    def active(self) -> bool:
        c = self.config
        return bool(c.latency_ms or c.jitter_ms or c.drop or c.corrupt or c.disconnect)

    def plan(self, data: bytes) -> tuple[float, bytes | None]:
        """Decide the fate of one reply: ``(delay_s, bytes to send or None if dropped)``."""
        c = self.config
        if c.drop and self._rng.random() < c.drop:
            self.log.add(self.device, "drop", f"{len(data)} bytes")
            return 0.0, None
        if c.corrupt and data and self._rng.random() < c.corrupt:
            index = self._rng.randrange(len(data))
            data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
            self.log.add(self.device, "corrupt", f"byte {index} of {len(data)}")
        delay = 0.0
        if c.latency_ms or c.jitter_ms:
            jitter = self._rng.uniform(-c.jitter_ms, c.jitter_ms) if c.jitter_ms else 0.0
            delay = max(0.0, c.latency_ms + jitter) / 1000.0
            now = time.monotonic()
            due = max(now + delay, self._not_before)
            self._not_before = due
            delay = due - now
        return delay, data

    def send(self, write: Callable[[bytes], None], data: bytes) -> None:
        """Send ``data`` through ``write`` with this device's faults (call from the event loop)."""
        if not self.active:
            write(data)
            return
        delay, out = self.plan(data)
        if out is None:
            return
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, _safe_write, write, out)
        else:
            write(out)


def _safe_write(write: Callable[[bytes], None], data: bytes) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError, OSError):
        write(data)  # the client may have gone away while the reply was delayed
