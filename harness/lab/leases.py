"""Rig leases: exclusive use of a rig across xdist workers and across concurrent sessions on a host.

Two tests driving one meter at once corrupt each other's evidence (labgrid has no local locking and
two workers can open the same port). A lease is an ``flock`` on ``<lease dir>/<lab>/<rig>.lock`` (via
:mod:`filelock`), so the kernel frees it the instant its holder dies — a SIGKILLed run's rig is
reclaimed at once, a live holder's never. Beside it, a heartbeat file names the holder (run, pid,
host, since) and is refreshed every few seconds, so a refused session can say who holds the rig and
whether that holder is alive, and a holder can notice that its lease was lost (the lock file was
removed or taken over) and block its tests instead of reporting them as product failures.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from device_drivers.errors import LeaseLost

HEARTBEAT_S = 2.0
#: A heartbeat older than this means its writer is gone (or hung): shown as stale.
STALE_AFTER_S = 10.0


def lease_key(lab: str, instance: str | None = None) -> str:
    """The lease namespace of a lab's rigs: the lab name for real rigs (one set of hardware per host,
    whoever drives it), the lab name and the serving process's instance id for a virtual lab's rigs
    (each ``dmct lab up`` simulates its own devices, so two of them never share a rig)."""
    return f"{lab}@{instance}" if instance else lab


def lease_dir() -> Path:
    """Host-wide (not per results dir): every session on this host must see the same leases."""
    return Path(os.environ.get("DMCT_LEASE_DIR") or Path(tempfile.gettempdir()) / "dmct-leases")


@dataclass(frozen=True)
class Holder:
    run: str
    pid: int
    host: str
    since: str
    heartbeat: float

    @property
    def age_s(self) -> float:
        return time.time() - self.heartbeat

    def describe(self) -> str:
        state = "stale" if self.age_s > STALE_AFTER_S else "alive"
        return (
            f"run {self.run} (pid {self.pid} on {self.host}) since {self.since}, "
            f"heartbeat {self.age_s:.0f} s ago ({state})"
        )


class RigBusy(Exception):
    """The rig is leased by someone else and did not become free in time."""

    def __init__(self, rig: str, holder: Holder | None, waited_s: float):
        self.rig, self.holder = rig, holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"rig {rig} is leased by {who}; waited {waited_s:g} s")


class RigLease:
    """An exclusive, heartbeated lease on one rig. Use as a context manager or acquire/release."""

    def __init__(self, lab: str, rig: str, run: str, *, directory: Path | None = None) -> None:
        """``lab`` is the lease namespace (:func:`lease_key`)."""
        base = (directory or lease_dir()) / lab
        base.mkdir(parents=True, exist_ok=True)
        self.lab, self.rig, self.run = lab, rig, run
        self.lock_path = base / f"{rig}.lock"
        self.info_path = base / f"{rig}.holder.json"
        self._lock = FileLock(str(self.lock_path))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: str | None = None
        self._inode: int | None = None
        self.reclaimed_from: Holder | None = None

    # -- acquisition -------------------------------------------------------------------------------
    def acquire(self, wait_s: float = 0.0) -> RigLease:
        """Take the lease, waiting up to ``wait_s``; raise :class:`RigBusy` naming the holder if not."""
        start = time.monotonic()
        try:
            self._lock.acquire(timeout=max(wait_s, 0.0), poll_interval=0.05)
        except Timeout:
            raise RigBusy(self.rig, self.holder(), round(time.monotonic() - start, 1)) from None
        previous = self.holder()
        if previous is not None and (previous.pid, previous.host) != (os.getpid(), socket.gethostname()):
            self.reclaimed_from = previous  # its holder died without releasing: the kernel freed the lock
        self._inode = os.stat(self.lock_path).st_ino
        self._beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._heartbeat, name=f"lease-{self.rig}", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_S * 2)
            self._thread = None
        if self._lock.is_locked:
            with contextlib.suppress(FileNotFoundError):
                self.info_path.unlink()
            self._lock.release()

    def __enter__(self) -> RigLease:
        return self.acquire() if not self._lock.is_locked else self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- state ---------------------------------------------------------------------------------------
    @property
    def held(self) -> bool:
        return self._lock.is_locked and self._lost is None

    def check(self) -> None:
        """Raise :class:`LeaseLost` if the lease is no longer ours (tests must then be blocked)."""
        if not self._lock.is_locked:
            raise LeaseLost(self.rig, "lease not held")
        if self._lost is not None:
            raise LeaseLost(self.rig, self._lost)

    def holder(self) -> Holder | None:
        try:
            data: Any = json.loads(self.info_path.read_text(encoding="utf-8"))
            return Holder(
                str(data["run"]),
                int(data["pid"]),
                str(data["host"]),
                str(data["since"]),
                float(data["heartbeat"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- heartbeat -------------------------------------------------------------------------------------
    def _beat(self) -> None:
        since = getattr(self, "_since", None) or datetime.now(UTC).isoformat(timespec="seconds")
        self._since = since
        info = {
            "run": self.run,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": since,
            "heartbeat": time.time(),
            "lab": self.lab,
            "rig": self.rig,
        }
        tmp = self.info_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        tmp.replace(self.info_path)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                if os.stat(self.lock_path).st_ino != self._inode:
                    self._lost = "lock file was replaced"
                    return
                holder = self.holder()
                if holder is not None and holder.run != self.run:
                    self._lost = f"taken over by {holder.describe()}"
                    return
                self._beat()
            except FileNotFoundError:
                self._lost = "lock file was removed"
                return
            except OSError as exc:
                self._lost = f"heartbeat failed: {exc}"
                return
