"""Behaviour model of a simulated SMETS1 communications hub (CH).

The CH is the rig's router: it keeps the HAN device log (whitelist of EUI-64s, SRV 8.11), lets listed
devices join and unjoin (8.7.2 / 8.8.2), knows each joined device's link quality, has a WAN that can be
lost, and routes commands — to the ESME at once, to the GSME by holding them until its next wake. It
keeps a cache of the GSME's latest readings, refreshed at every GSME wake (what a SMETS1 head-end reads
instead of waking the meter), and forwards what the meters publish to joined PPMIDs and IHDs.

Faults a lab injects: WAN loss (``set_wan``), HAN loss per device (``set_han_loss``: the device stops
being reachable), link quality (``set_link_quality``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from . import alerts as A
from .base import COMMON_DEFECTS, Device
from .errors import DeviceCommandError, RejectCode
from .gsme import Gsme, PendingCommand
from .han import HanDisplay
from .meter import HanUpdate, Meter, SupplyState

CH_DEFECTS = COMMON_DEFECTS | {"han_device_log_not_updated", "joins_device_not_in_log", "gsme_cache_stale"}
DeviceType = Literal["esme", "gsme", "ppmid", "ihd", "other"]
#: A joined GSME silent for this many wake intervals is reported with HAN error GT01.
GT01_MISSED_WAKES = 3
T = TypeVar("T")


def _unwatched() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class GsmeCache:
    """The CH's copy of the GSME's latest readings (taken at a wake)."""

    at: datetime
    total_kwh: float
    volume_m3: float
    balance: float
    supply: SupplyState
    battery_pct: float


@dataclass(frozen=True)
class HanStatus:
    """One device log entry as the CH sees it (SRV 8.9)."""

    eui: str
    device_type: DeviceType
    joined: bool
    reachable: bool
    link_quality: int
    error: str | None


class CommsHub(Device):
    role = "ch"
    KNOWN_DEFECTS: ClassVar[frozenset[str]] = CH_DEFECTS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.device_log: dict[str, DeviceType] = {}
        self.joined: set[str] = set()
        self.on_han: dict[str, Device] = {}
        self.link_quality: dict[str, int] = {}
        self.han_lost: set[str] = set()
        self.wan_connected = True
        self._gsme_cache: GsmeCache | None = None
        self._joined_at: dict[str, datetime] = {}

    # -- the HAN ----------------------------------------------------------------------------------------
    def attach(self, device: Device) -> None:
        """Put a device in radio range of this CH (rig wiring; not a join)."""
        self.on_han[device.device_id] = device
        self.link_quality.setdefault(device.device_id, 200)

    def update_device_log(
        self, add: Mapping[str, DeviceType] | None = None, remove: list[str] | tuple[str, ...] = ()
    ) -> None:
        """SRV 8.11: add/remove whitelist entries; removing a joined device unjoins it. 0x8F12."""
        self._begin()
        if self.has_defect("han_device_log_not_updated"):
            self.alerter.raise_alert(A.CH_DEVICE_LOG_CHANGED)
            return
        for eui in remove:
            if eui in self.joined:
                self._drop(eui)
            self.device_log.pop(eui, None)
        self.device_log.update(add or {})
        self.alerter.raise_alert(
            A.CH_DEVICE_LOG_CHANGED, {"added": ",".join(sorted(add or {})), "removed": ",".join(remove)}
        )

    def join(self, eui: str) -> None:
        """SRV 8.7.2: a device in range and in the device log joins (0x8F49); otherwise 0x8F48."""
        self._begin()
        device = self.on_han.get(eui)
        listed = eui in self.device_log or self.has_defect("joins_device_not_in_log")
        problem = None
        if device is None or eui in self.han_lost:
            problem = "device not reachable on the HAN"
        elif not listed:
            problem = "device is not in the CH device log"
        elif not device.powered:
            problem = "device has no power"
        if problem is not None:
            self.alerter.raise_alert(A.JOIN_FAILED, {"eui": eui, "reason": problem})
            raise DeviceCommandError(
                RejectCode.UNREACHABLE if device is None else RejectCode.INVALID_STATE, problem
            )
        assert device is not None
        if eui in self.joined:
            return
        self.joined.add(eui)
        self._joined_at[eui] = self._processed
        if isinstance(device, Meter):
            device.han_sinks.append(self._forward)
        if isinstance(device, Gsme):
            device.wake_listeners.append(self._on_gsme_wake)
            # Its effect (the cache, the readings forwarded to displays) is seen only by whoever next
            # looks, and every such look catches the GSME up first (gsme_cache, catch_up_han):
            # nobody needs its idle wakes witnessed as they happen.
            device.wake_listener_watched[self._on_gsme_wake] = _unwatched
        if isinstance(device, HanDisplay):
            device.joined_to, device.hub = self.device_id, self
            self._wake_gsmes_for_displays()
        self.alerter.raise_alert(A.JOIN_SUCCEEDED, {"eui": eui})

    def unjoin(self, eui: str) -> None:
        """SRV 8.8.2: 0x8F4B, or 0x8F4A for a device that is not joined."""
        self._begin()
        if eui not in self.joined:
            self.alerter.raise_alert(A.UNJOIN_FAILED, {"eui": eui})
            raise DeviceCommandError(RejectCode.INVALID_STATE, f"{eui} is not joined")
        self._drop(eui)
        self.alerter.raise_alert(A.UNJOIN_SUCCEEDED, {"eui": eui})

    def _drop(self, eui: str) -> None:
        self.catch_up_han()  # wakes before the unjoin are forwarded as they were heard
        self.joined.discard(eui)
        self._joined_at.pop(eui, None)
        device = self.on_han.get(eui)
        if isinstance(device, Meter) and self._forward in device.han_sinks:
            device.han_sinks.remove(self._forward)
        if isinstance(device, Gsme) and self._on_gsme_wake in device.wake_listeners:
            device.wake_listeners.remove(self._on_gsme_wake)
            device.wake_listener_watched.pop(self._on_gsme_wake, None)
        if isinstance(device, HanDisplay):
            device.joined_to, device.hub = None, None

    def set_link_quality(self, eui: str, lqi: int) -> None:
        """Fault injection: the HAN link quality (0-255) the CH reports for ``eui``."""
        if not 0 <= lqi <= 255:
            raise ValueError("link quality is 0..255")
        self.link_quality[eui] = lqi

    def set_han_loss(self, eui: str, lost: bool = True) -> None:
        """Fault injection: ``eui`` drops off the HAN (unreachable) or comes back."""
        self.catch_up_han()  # the GSME wakes before the change are heard (or not) as they were
        (self.han_lost.add if lost else self.han_lost.discard)(eui)

    def set_wan(self, connected: bool) -> None:
        """Fault injection: the CH's WAN connection."""
        self.advance()
        self.wan_connected = connected

    def reachable(self, eui: str) -> bool:
        device = self.on_han.get(eui)
        return eui in self.joined and eui not in self.han_lost and device is not None and device.powered

    def han_status(self) -> list[HanStatus]:
        """SRV 8.9 read device log, with reachability and HAN error codes."""
        self.advance()
        out = []
        for eui, device_type in sorted(self.device_log.items()):
            out.append(
                HanStatus(
                    eui,
                    device_type,
                    eui in self.joined,
                    self.reachable(eui),
                    self.link_quality.get(eui, 0),
                    self.han_error(eui),
                )
            )
        return out

    def han_error(self, eui: str) -> str | None:
        """``"GT01"`` for a joined GSME that has not been heard for several wake intervals."""
        self.advance()
        device = self.on_han.get(eui)
        if not isinstance(device, Gsme) or eui not in self.joined:
            return None
        device.advance()
        since = device.last_wake or self._joined_at[eui]
        if self._processed - since > GT01_MISSED_WAKES * device.wake_interval:
            return "GT01"
        return None

    # -- routing ------------------------------------------------------------------------------------------
    def _route_check(self, eui: str) -> None:
        self._begin()
        if not self.wan_connected:
            raise DeviceCommandError(RejectCode.WAN_UNAVAILABLE, "the CH has no WAN connection")
        if not self.reachable(eui):
            raise DeviceCommandError(RejectCode.UNREACHABLE, f"{eui} is not reachable on the HAN")

    def send_now(self, eui: str, action: Callable[[], T]) -> T:
        """Route a command to an always-listening device (ESME, PPMID, IHD): it runs at once."""
        self._route_check(eui)
        if isinstance(self.on_han[eui], Gsme):
            raise DeviceCommandError(RejectCode.INVALID_STATE, "the GSME sleeps; use send_to_gsme")
        return action()

    def send_to_gsme(self, eui: str, command: str, action: Callable[[], object]) -> PendingCommand:
        """Hold a command for the GSME until its next wake; the returned ticket fills in then."""
        self._route_check(eui)
        device = self.on_han[eui]
        if not isinstance(device, Gsme):
            raise DeviceCommandError(RejectCode.INVALID_STATE, f"{eui} is not a GSME")
        return device.enqueue(command, action)

    def han_command(self, source: str, target: str, command: str, fn: Callable[[Any], object]) -> object:
        """A command from a HAN device (PPMID) to a meter: both must be joined and reachable; for the
        GSME it waits for the next wake (a :class:`PendingCommand` is returned). No WAN needed."""
        self._begin()
        for eui in (source, target):
            if not self.reachable(eui):
                raise DeviceCommandError(RejectCode.UNREACHABLE, f"{eui} is not reachable on the HAN")
        device = self.on_han[target]
        if isinstance(device, Gsme):
            return device.enqueue(command, lambda: fn(device))
        return fn(device)

    # -- GSME cache and HAN forwarding --------------------------------------------------------------------
    def _on_gsme_wake(self, gsme: Gsme, at: datetime) -> None:
        if self.has_defect("gsme_cache_stale") and self._gsme_cache is not None:
            return
        if gsme.device_id in self.han_lost:
            return
        self._gsme_cache = GsmeCache(
            gsme.devclock.device_at(at),
            gsme.total_kwh(),
            gsme.volume_m3,
            gsme.account.balance,
            gsme.supply,
            gsme.battery_pct,
        )
        self._forward(HanUpdate(gsme.device_id, "reading", {"volume_m3": round(gsme.volume_m3, 3)}, at))

    def _wake_gsmes_for_displays(self) -> None:
        """A display joined: the joined GSMEs are caught up to now (their earlier wakes forwarded)."""
        self.catch_up_han()

    def catch_up_han(self, until: datetime | None = None) -> None:
        """Bring every joined GSME up to reference instant ``until`` (default: now), so the wakes it
        had by then reach the cache and the joined displays, in order. The displays, the cache and
        every forwarded update call this before they are read or delivered: the CH's wake listener
        is never needed as a wake happens, and an idle lab does not look at every GSME wake."""
        for eui in sorted(self.joined):
            device = self.on_han.get(eui)
            if isinstance(device, Gsme):
                device.advance(until)

    def gsme_cache(self) -> GsmeCache | None:
        """The latest GSME readings the CH holds (brings the attached GSMEs up to date first)."""
        self.advance()
        for device in self.on_han.values():
            if isinstance(device, Gsme):
                device.advance()
        return self._gsme_cache

    def _order_seen(self) -> bool:
        """Whether a joined display would show the order of its updates: one that keeps only its
        first (``display_frozen``) and has none yet. Otherwise a display keeps the latest balance,
        reading and messages per meter, whatever order the meters' and the GSME's updates came in,
        so a meter's update needs no catch-up of the GSMEs first — a catch-up every meter would do
        at once at midnight, when each publishes its balance (a burst of work at a thousand rigs)."""
        for eui in self.joined:
            device = self.on_han.get(eui)
            if isinstance(device, HanDisplay) and device.has_defect("display_frozen") and not device.updates:
                return True
        return False

    def _forward(self, update: HanUpdate) -> None:
        if update.source in self.han_lost:
            return
        source = self.on_han.get(update.source)
        if not isinstance(source, Gsme) and source is not None and self._order_seen():
            # A meter's update, at the instant it is processing: the GSME wakes before it reach the
            # displays first, as they would have had each wake been looked at when it came.
            self.catch_up_han(source._processed)
        for eui in sorted(self.joined):
            device = self.on_han.get(eui)
            if isinstance(device, HanDisplay) and eui not in self.han_lost:
                device.receive(update)
