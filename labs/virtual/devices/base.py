"""What every simulated device shares: identity, reference clock and device clock, alert/log writer,
firmware, credentials, seeded defects, future-dated commands and the time-stepping loop.

Time only moves when someone looks: every public method first calls :meth:`Device.advance`, which
processes the interval since the last call in segments that end at the next *mark* (a TOU switch,
midnight, a billing date, a due future-dated command, a credit threshold, a GSME wake ...), so state
changes happen at the exact simulated instant no matter how coarsely the clock is sampled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from labs.virtual.clock import SimClock

from . import alerts as A
from .alerts import Alert, Alerter, LogEntry
from .behaviour import Behaviour
from .credentials import Authorisation, CredentialStore, KeyRef
from .devclock import ClockAdjustment, DeviceClock
from .errors import DeviceCommandError, RejectCode, UnknownDefectError
from .firmware import Firmware, FirmwareImage

Role = Literal["ch", "esme", "gsme", "ppmid", "ihd"]
US = timedelta(microseconds=1)

#: Drift of a clock with the ``clock_drifts`` defect: 18 s per simulated hour, visible within minutes.
CLOCK_DRIFT_DEFECT_PPM = 5000.0
#: Defects every device model implements.
COMMON_DEFECTS = frozenset(
    {
        "accepts_bad_signature",
        "old_credentials_accepted",
        "ignores_future_dating",
        "clock_drifts",
        "wrong_firmware_reported",
        "firmware_activation_ignored",
        "accepts_corrupt_firmware_image",
        "alerts_missing_timestamp",
        "acknowledges_without_applying",
        "read_responses_cached",
        "credential_rotation_keeps_old_keys",
        "firmware_change_alert_missing",
        "credentials_alert_repeated",
    }
)
#: Copies of 0x8F70 a device with the ``credentials_alert_repeated`` defect sends for one update (its
#: pending-alert flag is never cleared, so each retry of the alert path sends it again).
REPEATED_ALERT_COPIES = 5


@dataclass(frozen=True)
class Profile:
    """Firmware-dependent behaviour: seeded defects, supported SRVs, behaviour settings."""

    defects: frozenset[str] = frozenset()
    srvs: frozenset[str] = frozenset()
    behaviour: Behaviour = field(default_factory=Behaviour)
    needs_firmware_upgrade_before_migration: bool = False


@dataclass(frozen=True)
class CommandResult:
    """A command's outcome: executed now (``executed_at``) or accepted for later (``scheduled_for``)."""

    command: str
    executed_at: datetime | None
    scheduled_for: datetime | None = None
    instruction: int | None = None

    @property
    def executed(self) -> bool:
        return self.executed_at is not None


@dataclass
class ScheduledCommand:
    instruction: int
    command: str
    due: datetime
    action: Callable[[], object] = field(repr=False)


class Device:
    """Base of every simulated device. Subclasses add state and override the stepping hooks."""

    role: ClassVar[Role]
    #: Defects this class implements (subclasses extend it).
    KNOWN_DEFECTS: ClassVar[frozenset[str]] = COMMON_DEFECTS

    def __init__(
        self,
        *,
        clock: SimClock,
        device_id: str,
        model: str,
        firmware_version: str,
        manufacturer: str = "",
        hardware_version: str = "",
        profile: Profile | None = None,
        profile_for: Callable[[str], Profile] | None = None,
        credentials: Mapping[str, Iterable[KeyRef]] | None = None,
        drift_ppm: float = 0.0,
    ) -> None:
        self.clock = clock
        self.device_id = device_id
        self.model = model
        self.manufacturer = manufacturer
        self.hardware_version = hardware_version
        self.profile = profile or Profile()
        self.profile_for = profile_for
        self._check_defects(self.profile.defects)
        self._base_drift = drift_ppm
        self.devclock = DeviceClock(clock, drift_ppm=self._drift())
        self._processed = clock.now()
        self.alerter = Alerter(
            device_id,
            self._device_now,
            event_capacity=self.behaviour.event_log_capacity,
            security_capacity=self.behaviour.security_log_capacity,
            timestamps=not self.has_defect("alerts_missing_timestamp"),
        )
        self.alerter.send_suppressed = self.has_defect("alert_disable_ignored")
        self.firmware = Firmware(
            firmware_version, model, self.alerter, self.has_defect, self._firmware_changed
        )
        self.credentials = CredentialStore(credentials)
        self.powered = True
        self._stepping = False
        self._scheduled: list[ScheduledCommand] = []
        self._instructions = 0
        #: Called after every look at the device (and every alert it raises): an event-driven lab
        #: re-examines it then, to move its next wake-up (:meth:`next_due`). ``None``: nobody listens.
        self.on_touch: Callable[[Device], None] | None = None
        self.alerter.on_raise = self._touched

    # -- defects and profile --------------------------------------------------------------------------
    @property
    def defects(self) -> frozenset[str]:
        return self.profile.defects

    @property
    def behaviour(self) -> Behaviour:
        return self.profile.behaviour

    def has_defect(self, name: str) -> bool:
        return name in self.profile.defects

    def _check_defects(self, defects: Iterable[str]) -> None:
        for name in sorted(defects):
            if name not in self.KNOWN_DEFECTS:
                raise UnknownDefectError(name, sorted(self.KNOWN_DEFECTS), self.role)

    def _device_now(self) -> datetime:
        """Device time of the instant being processed: alerts raised while stepping carry the time
        their event happened, not the time someone next looked."""
        return self.devclock.device_at(self._processed)

    def _drift(self) -> float:
        return CLOCK_DRIFT_DEFECT_PPM if self.has_defect("clock_drifts") else self._base_drift

    def _firmware_changed(self, version: str) -> None:
        """New firmware, new behaviour: re-read defects and SRVs from the catalogue."""
        if self.profile_for is None:
            return
        profile = self.profile_for(version)
        self._check_defects(profile.defects)
        self.profile = profile
        self.devclock.set_drift(self._drift())
        self.alerter.timestamps = not self.has_defect("alerts_missing_timestamp")
        self.alerter.send_suppressed = self.has_defect("alert_disable_ignored")

    # -- identity and reads ----------------------------------------------------------------------------
    @property
    def firmware_version(self) -> str:
        """The firmware version the device reports (SRV 11.2); catches up with time first."""
        self.advance()
        return self.firmware.reported

    @property
    def outbox(self) -> list[Alert]:
        return self.alerter.outbox

    def drain_alerts(self) -> list[Alert]:
        self.advance()
        return self.alerter.drain()

    def event_log(self) -> list[LogEntry]:
        self.advance()
        return list(self.alerter.event_log)

    def security_log(self) -> list[LogEntry]:
        self.advance()
        return list(self.alerter.security_log)

    def device_time(self) -> datetime:
        self.advance()
        return self._device_now()

    def scheduled_commands(self) -> list[ScheduledCommand]:
        """Future-dated commands still waiting (SRV 5.2-like view)."""
        self.advance()
        return list(self._scheduled)

    # -- time stepping ---------------------------------------------------------------------------------
    def advance(self, until: datetime | None = None) -> None:
        """Process simulated time up to the reference clock's now (see the module docstring), or only
        up to reference instant ``until`` if that is earlier (an event-driven lab waking the device for
        its next mark needs no more; whoever looks next catches up the rest)."""
        if self._stepping:
            return  # a command run at a mark (future-dated, GSME wake) acts at that mark's instant
        self._stepping = True
        try:
            now = self.clock.now()
            self._advance_to(now if until is None or until > now else until)
        finally:
            self._stepping = False
        self._touched()

    def _touched(self) -> None:
        if self.on_touch is not None:
            self.on_touch(self)

    def next_due(self) -> datetime | None:
        """Reference instant of the device's next mark after the time processed so far (``None``: no
        mark is ahead): when an event-driven lab must look at it again for its state to change
        unasked — a TOU switch, midnight, a billing date, a future-dated command, a credit threshold,
        a GSME wake. The same marks :meth:`_advance_to` steps through, save those a model says nobody
        needs to witness as they happen (:meth:`_due_reference_marks`)."""
        start = self._processed
        marks = [self.devclock.reference_at(m) for m in self._device_marks(self.devclock.device_at(start))]
        marks += self._due_reference_marks(start)
        step = self._step_limit(start)
        if step is not None:
            marks.append(step)
        return min(marks) if marks else None

    def _advance_to(self, target: datetime) -> None:
        while self._processed < target:
            start = self._processed
            dstart = self.devclock.device_at(start)
            end = target
            for mark in self._device_marks(dstart):
                end = min(end, self.devclock.reference_at(mark))
            for mark in self._reference_marks(start):
                end = min(end, mark)
            step = self._step_limit(start)
            if step is not None:
                end = min(end, step)
            end = max(end, start + US)
            self._consume(start, end, dstart)
            self._processed = end
            self._fire(end, self.devclock.device_at(end))

    def _device_marks(self, dnow: datetime) -> list[datetime]:
        """Device-time instants after ``dnow`` where something happens."""
        return [self._scheduled[0].due] if self._scheduled else []

    def _reference_marks(self, now: datetime) -> list[datetime]:
        """Reference-time instants after ``now`` where something happens."""
        return []

    def _due_reference_marks(self, now: datetime) -> list[datetime]:
        """The reference marks an event-driven lab must look at the device for, when they come: by
        default every one. A model may leave out marks whose effects nobody sees until they next look
        at it (a sleeping GSME's idle wakes): the look catches them up, mark by mark, as ``advance``
        always does, so what the device did at each is the same — only computed later."""
        return self._reference_marks(now)

    def _step_limit(self, start: datetime) -> datetime | None:
        """Reference instant at which a continuously changing quantity crosses a threshold."""
        return None

    def _consume(self, start: datetime, end: datetime, dstart: datetime) -> None:
        """Accumulate whatever flows during ``[start, end)``; nothing switches inside a segment."""

    def _fire(self, now: datetime, dnow: datetime) -> None:
        """Handle every mark reached at reference ``now`` / device ``dnow``."""
        while self._scheduled and self._scheduled[0].due <= dnow:
            self._run_scheduled(self._scheduled.pop(0))

    def _run_scheduled(self, cmd: ScheduledCommand) -> None:
        details: dict[str, A.Detail] = {"instruction": cmd.instruction, "command": cmd.command}
        try:
            cmd.action()
        except DeviceCommandError as exc:
            self.alerter.raise_alert(A.FUTURE_DATED_NOT_ACTIONED, {**details, "reason": exc.code.value})
        else:
            self.alerter.raise_alert(A.FUTURE_DATED_ACTIONED, details)

    def _begin(self) -> datetime:
        """Start of every command: catch up with time, refuse when unpowered; returns device now."""
        self.advance()
        if not self.powered:
            raise DeviceCommandError(RejectCode.NOT_POWERED, f"{self.role} {self.device_id} has no power")
        return self._device_now()

    def _maybe_future(self, command: str, at: datetime | None, action: Callable[[], object]) -> CommandResult:
        """Run ``action`` now, or at device time ``at`` (future-dated; 0x8F66/0x8F67 when it runs)."""
        now = self._begin()
        if at is None or at <= now or self.has_defect("ignores_future_dating"):
            action()
            return CommandResult(command, now)
        if not self.behaviour.future_dating:
            raise DeviceCommandError(RejectCode.NOT_SUPPORTED, "this firmware cannot future-date commands")
        self._instructions += 1
        self._scheduled.append(ScheduledCommand(self._instructions, command, at, action))
        self._scheduled.sort(key=lambda c: (c.due, c.instruction))
        return CommandResult(command, None, at, self._instructions)

    # -- security --------------------------------------------------------------------------------------
    def check_authorisation(self, auth: Authorisation) -> None:
        """Called by the protocol layer before a signed command: rejects bad signatures and old keys."""
        self._begin()
        if not auth.signature_valid and not self.has_defect("accepts_bad_signature"):
            self.alerter.raise_alert(
                A.TRUSTED_SOURCE_AUTH_FAILURE, {"role": auth.role, "reason": "signature"}
            )
            raise DeviceCommandError(RejectCode.BAD_SIGNATURE, "command signature does not verify")
        accept_retired = self.accepts_retired_key(auth.command)
        if not self.credentials.trusts(auth.role, auth.key, accept_retired=accept_retired):
            retired = self.credentials.is_retired(auth.role, auth.key)
            self.alerter.raise_alert(
                A.TRUSTED_SOURCE_AUTH_FAILURE,
                {"role": auth.role, "reason": "retired" if retired else "unknown"},
            )
            raise DeviceCommandError(
                RejectCode.UNKNOWN_CREDENTIAL,
                f"{auth.role} key {auth.key.key_id} v{auth.key.version} is "
                f"{'retired' if retired else 'unknown'}",
            )

    def accepts_retired_key(self, command: str | None) -> bool:
        """Whether a key retired by a rotation still signs ``command`` (seeded defects only)."""
        return self.has_defect("old_credentials_accepted")

    def update_credentials(
        self, role: str, keys: Iterable[KeyRef], *, at: datetime | None = None
    ) -> CommandResult:
        """SRV 6.15.1 / 6.23: replace ``role``'s keys (future-datable); the old ones stop working.
        With the seeded defect ``credential_rotation_keeps_old_keys`` every role but the SMSO's gets the
        new keys beside the old ones (the SMSO anchor, which migration checks, is replaced)."""
        new = tuple(keys)
        keep_old = role != "smso" and self.has_defect("credential_rotation_keeps_old_keys")

        def run() -> None:
            kept = tuple(self.credentials.active(role)) if keep_old else ()
            retired = self.credentials.replace(role, (*kept, *new))
            copies = REPEATED_ALERT_COPIES if self.has_defect("credentials_alert_repeated") else 1
            for _ in range(copies):
                self.alerter.raise_alert(
                    A.CREDENTIALS_UPDATED,
                    {"role": role, "retired": ",".join(k.key_id for k in sorted(retired))},
                )
            if role == "smso":
                self._anchor_replaced()

        return self._maybe_future("update_credentials", at, run)

    def _anchor_replaced(self) -> None:
        """Subclass hook: the SMSO anchor credential was replaced, i.e. the device was commissioned
        under a new SMSO (migration). Nothing else about the device may change (meters: seeded defects)."""

    def read_credentials(self, role: str) -> frozenset[KeyRef]:
        """SRV 6.24.1."""
        self._begin()
        return self.credentials.active(role)

    # -- clock -----------------------------------------------------------------------------------------
    def set_clock(self, when: datetime) -> None:
        """Privileged set of the device clock (lab/fault injection; no tolerance check)."""
        self._begin()
        self.devclock.set(when)
        self._clock_stepped()

    def shift_clock(self, step: timedelta) -> None:
        """DLMS shift_time: move the device clock by ``step`` relative to its own reading."""
        self._begin()
        self.devclock.shift(step)
        self._clock_stepped()

    def synchronise_clock(self, reference_time: datetime, *, at: datetime | None = None) -> ClockAdjustment:
        """SRV 6.11: adjust within tolerance (0x8145) or refuse (0x81C6 and a rejection). ``at``: the
        reference instant ``reference_time`` was read (see :meth:`DeviceClock.synchronise`)."""
        self._begin()
        at = self.clock.now() if at is None else at
        tolerance = self.behaviour.clock_tolerance_s
        if self.has_defect("clock_sync_ignores_tolerance"):
            tolerance = float("inf")
        target = reference_time
        if self.has_defect("clock_sync_half_applied"):
            here = self.devclock.device_at(at)
            target = here + (reference_time - here) / 2
        result = self.devclock.synchronise(target, tolerance, at=at)
        if not result.adjusted:
            self.alerter.raise_alert(
                A.CLOCK_NOT_ADJUSTED_OUTSIDE_TOLERANCE, {"delta_s": round(result.delta_s, 3)}
            )
            raise DeviceCommandError(
                RejectCode.CLOCK_OUTSIDE_TOLERANCE,
                f"clock error {result.delta_s:.1f} s exceeds tolerance {self.behaviour.clock_tolerance_s} s",
            )
        if not self.has_defect("clock_adjusted_alert_missing"):
            self.alerter.raise_alert(A.CLOCK_ADJUSTED, {"delta_s": round(result.delta_s, 3)})
        self._clock_stepped()
        return result

    def set_drift(self, drift_ppm: float) -> None:
        """Fault injection: make the device clock drift from now on."""
        self.advance()
        self._base_drift = drift_ppm
        self.devclock.set_drift(self._drift())

    def _clock_stepped(self) -> None:
        """Recompute calendar marks after the device clock jumped (skipped marks are not replayed)."""

    # -- firmware (SRV 11.1 transfer, 11.3 activation) -----------------------------------------------------
    def start_firmware_transfer(self, image: FirmwareImage) -> None:
        self._begin()
        self.firmware.start_transfer(image)

    def write_firmware_block(self, index: int, data: bytes) -> None:
        self._begin()
        self.firmware.write_block(index, data)

    def verify_firmware(self) -> None:
        self._begin()
        self.firmware.verify()

    def activate_firmware(self, *, at: datetime | None = None) -> CommandResult:
        """Run the verified image now or at ``at`` (future-dated). Rejected unless an image is verified."""
        self._begin()
        self.firmware.check_activatable()
        return self._maybe_future("activate_firmware", at, self.firmware.activate)

    # -- power and events --------------------------------------------------------------------------------
    def power_off(self) -> None:
        """The rig's power relay opened."""
        self.advance()
        self.powered = False

    def power_on(self) -> None:
        """The rig's power relay closed."""
        self.advance()
        self.powered = True

    def reboot(self) -> None:
        """Power-cycle at one instant. Everything the models hold is non-volatile, so only the power
        alerts of the subclass show it (an outage of zero length)."""
        self.power_off()
        self.power_on()

    def configure_alert(self, code: int, *, send: bool) -> None:
        """SRV 6.22: switch sending of one alert code on or off (it is logged either way)."""
        self._begin()
        if code >= 0x81A0 and self.has_defect("alert_config_ignores_high_codes"):
            return  # acknowledged, not applied: a configuration table sized for 0x8100-0x819F
        self.alerter.configure(code, send=send)

    def clear_event_log(self) -> None:
        """SRV 3.3."""
        self._begin()
        self.alerter.clear_event_log()
