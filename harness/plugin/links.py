"""Session-long device links, borrowed per test (:class:`LinkPool`).

pyserial's ``socket://`` handler sleeps 0.3 s on every close, so links stay open for the session and
each test borrows one with its own transcript. A link is made (and its protocol module imported) when a
test first borrows it, so a worker's start-up pays for no driver (issue 21).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from device_drivers.errors import InfrastructureFault
from harness.plugin.state import D, M

if TYPE_CHECKING:  # imported when a test first borrows a link, not when the plugin loads (issue 21)
    from device_drivers.links import Link
    from device_drivers.protocols.display import DisplayPort
    from device_drivers.protocols.meter_optical import MeterOptical
    from device_drivers.transcript import Transcript
    from harness.lab.inventory import DeviceSpec, RigSpec, Role

K = TypeVar("K")


def _device_and_driver(rig: RigSpec, role: Role, kind: type[K]) -> tuple[DeviceSpec, type[K]]:
    """The rig's ``role`` device (not applicable when it has none) and its driver class: ``kind``, or
    the ``dmct.devices`` entry point the device names, which must extend ``kind``."""
    device = rig.device(role)
    if device is None:
        pytest.skip(f"not applicable: rig {rig.id} has no {role}")
    if device.driver and device.driver != role:
        from device_drivers.registry import driver_class

        chosen = driver_class(device.driver)
        if not issubclass(chosen, kind):
            raise pytest.UsageError(f"rig {rig.id} {role}: driver {device.driver!r} is not a {kind.__name__}")
        return device, chosen
    return device, kind


class LinkPool:
    """Device connections stay open for the whole session (one per interface per worker).

    Opening per test would be wasteful: a DLMS association costs several round trips, and pyserial's
    ``socket://`` close sleeps 0.3 s "in case of quick reconnects". Each test borrows the meter's
    connections with its own transcript; protocols discard stale input before every exchange, and a
    connection that failed is dropped and reopened on next use, so one test's trouble never leaks
    into the next.
    """

    def __init__(self, endpoints: dict[str, str]) -> None:
        self.endpoints = endpoints
        self._links: dict[tuple[str, str], Link] = {}
        self._optical: dict[tuple[str, str], MeterOptical] = {}
        self._displays: dict[tuple[str, str], DisplayPort] = {}

    def _readout(self, rig: RigSpec, device: DeviceSpec) -> Link | None:
        spec = device.links.get("optical")
        if spec is None:
            return None
        key = (rig.id, device.role)
        if key not in self._links:
            from device_drivers.links import Link

            self._links[key] = Link(
                spec.url, device=f"{rig.id}/{device.role}", timeout=spec.timeout, endpoints=self.endpoints
            )
        return self._links[key]

    def _dlms(self, rig: RigSpec, device: DeviceSpec) -> MeterOptical | None:
        spec = device.links.get("dlms")
        if spec is None:
            return None
        key = (rig.id, device.role)
        if key not in self._optical:
            from device_drivers.protocols.meter_optical import MeterOptical

            self._optical[key] = MeterOptical(
                spec.url,
                device=f"{rig.id}/{device.role}",
                password=spec.password.encode() if spec.password else None,
                timeout=spec.timeout,
                attempts=spec.attempts,
                backoff_s=spec.backoff_s,
                endpoints=self.endpoints,
            )
        return self._optical[key]

    @contextlib.contextmanager
    def meter(self, rig: RigSpec, role: Role, transcript: Transcript, kind: type[M]) -> Iterator[M]:
        """A role driver for the rig's ``role`` meter over its readout and DLMS connections.

        ``kind`` is the role's driver; a device naming another ``driver`` (a ``dmct.devices`` entry
        point) gets that one, which must extend it.
        """
        device, kind = _device_and_driver(rig, role, kind)
        readout, optical = self._readout(rig, device), self._dlms(rig, device)
        if readout is None and optical is None:
            pytest.skip(f"not applicable: rig {rig.id} wires no optical port for its {role}")
        policy = device.links.get("optical") or device.links["dlms"]
        for conn in (readout, optical):
            if conn is not None:
                conn.transcript = transcript
        try:
            yield kind(
                f"{rig.id}/{role}",
                readout,
                optical=optical,
                attempts=policy.attempts,
                backoff_s=policy.backoff_s,
            )
        except InfrastructureFault:
            for conn in (readout, optical):
                if conn is not None:
                    conn.close()  # reopened cleanly on next use
            raise
        finally:
            for conn in (readout, optical):
                if conn is not None:
                    conn.transcript = None

    @contextlib.contextmanager
    def display(self, rig: RigSpec, role: Role, transcript: Transcript, kind: type[D]) -> Iterator[D]:
        """A PPMID's or IHD's screen, read through its ``display`` link (DLMS/COSEM): what it shows."""
        device, kind = _device_and_driver(rig, role, kind)
        spec = device.links.get("display")
        if spec is None:
            pytest.skip(f"not applicable: rig {rig.id} wires no display interface for its {role}")
        key = (rig.id, role)
        if key not in self._displays:
            from device_drivers.protocols.display import DisplayPort

            self._displays[key] = DisplayPort(
                spec.url,
                device=f"{rig.id}/{role}",
                password=spec.password.encode() if spec.password else None,
                timeout=spec.timeout,
                attempts=spec.attempts,
                backoff_s=spec.backoff_s,
                endpoints=self.endpoints,
            )
        port = self._displays[key]
        port.transcript = transcript
        try:
            yield kind(f"{rig.id}/{role}", port)
        except InfrastructureFault:
            port.close()  # reopened cleanly on next use
            raise
        finally:
            port.transcript = None

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        for optical in [*self._optical.values(), *self._displays.values()]:
            optical.close()
        self._links.clear()
        self._optical.clear()
        self._displays.clear()
