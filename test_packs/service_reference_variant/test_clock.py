"""Standard DMCT SRVT, device clocks (issue 14): SRV 6.11 Synchronise Clock with clock errors the test
puts on the meter itself, and the CH's clock, each compared with :mod:`test_packs.oracles.clock`.

**Putting an error on a meter's clock.** DLMS ``shift_time`` through the meter's own port (IC 8 method
6) moves its clock relative to its own reading, so the error is exact however long the link takes. A
set to an absolute time would be stale by the link's latency, and the lab's clock may run thousands of
times faster than the wall clock (a millisecond is seconds of device time).

**Showing the clock was set to the reference, exactly.** A read of the meter bracketed by two answers of
the route bounds its offset only to the link's latency - coarse at a fast lab clock. The tolerance
itself is the fine instrument: after a synchronisation the meter's clock must *be* the reference time,
so an error put on it next is the whole error the next synchronisation sees, and the oracle says what
that one must do. Right after each adjustment a probe just beyond the tolerance is put on the clock:
it must be refused - a meter that moved only part of the way still carries the rest, which pulls the
probe back within the tolerance. Far errors are read directly as well: the offset a bracketed read
shows must be the error left, to the tolerance.

Nothing here imports ``labs``: a real meter with an optical port and a real route run it unchanged.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from device_drivers.route import RouteError
from test_packs.marks import role_param
from test_packs.oracles import clock as clock_oracle
from test_packs.oracles.window import Window
from test_packs.service_reference_variant._srvt import SrvtRig, parse_at

CONFIG = "Device Configuration"
TOL = clock_oracle.TOLERANCE_S
#: Errors inside the tolerance, each put on a clock just synchronised: 0.9 of it behind, ahead, and small.
WITHIN_S = (-0.9 * TOL, 0.9 * TOL, -0.3 * TOL)
#: The probe after each: just beyond the tolerance, ahead. A clock the synchronisation left at the
#: reference is then beyond it and refused; one left part of the way behind is within it and adjusted.
PROBE_S = 1.2 * TOL
#: Errors beyond it: just beyond, ahead; far ahead and far behind (15 minutes: the most one DLMS
#: shift_time moves).
BEYOND_S = (1.2 * TOL, 900.0, -900.0)
#: Device time the CH's clock is watched over (a clock drifting 5000 ppm gains 18 s an hour).
CH_WATCH = timedelta(hours=3)
FAKE_HAN_DEVICE = "0A-0B-0C-0D-0E-0F-10-15"
DEVICE_LOG_CHANGED = 0x8F12


def meters(*, requirement: str = "SRVT-6.11-{type}") -> list[Any]:
    return [
        role_param(r, srv="6.11", group=CONFIG, requirements=(requirement.format(type=r.upper()),))
        for r in ("esme", "gsme")
    ]


def shift(t: SrvtRig, role: str, seconds: float) -> None:
    """Put ``seconds`` more error on the meter's clock (DLMS shift_time, relative, exact)."""
    t.optical(role).shift_clock(round(seconds))


def meter_offset(t: SrvtRig, role: str) -> clock_oracle.Offset:
    """The meter's clock (its own port) against the reference (the route's answers around the read)."""
    before = t.route_now()
    reading = t.optical(role).clock()
    return clock_oracle.offset(reading, Window(before, t.route_now()))


def synchronise(t: SrvtRig, role: str, error_s: float) -> None:
    """SRV 6.11 with the meter ``error_s`` off the reference; what it must do is the oracle's: adjust
    (I0, 0x8145 logged) or refuse (E11 from the device, 0x81C6 logged and alerted)."""
    want = clock_oracle.synchronise(error_s)
    # The entry is stamped by the clock as the synchronisation leaves it: up to the error earlier than
    # a reading taken before, for a clock ahead that is set back.
    since = t.optical(role).clock() - timedelta(seconds=max(error_s, 0.0) + 1.0)
    try:
        result = t.submit("6.11", role)
        code, text, detail = result.code, result.text, result.instructions
    except RouteError as exc:
        code, text, detail = exc.code, str(exc), ()
    if want.adjusted:
        assert code == "I0" and [i.get("outcome") for i in detail] == ["actioned"], (
            f"SRV 6.11 with the {role}'s clock {error_s:+.0f} s off (tolerance {TOL:g} s) must adjust it; "
            f"route answered {code} {text} {detail}"
        )
    else:
        assert code == "E11", (
            f"SRV 6.11 with the {role}'s clock {error_s:+.0f} s off (tolerance {TOL:g} s) must be refused "
            f"by the meter (E11); route answered {code} {text} {detail}"
        )
    logged = t.log_codes(role, since=since)
    assert want.alert in logged, (
        f"the {role} logged no 0x{want.alert:04X} for an error of {error_s:+.0f} s: {logged}"
    )
    if not want.adjusted:
        t.alerts(want.alert, role, since=since)


@pytest.mark.parametrize("role", meters())
def test_clock_set_to_the_reference_within_tolerance(role: str, srvt: SrvtRig) -> None:
    """SRVT-6.11 (SRV 6.11 Synchronise Clock: within the tolerance the meter sets its clock to the
    reference time and raises 0x8145), oracle :func:`test_packs.oracles.clock.synchronise`: each error
    of ``WITHIN_S`` put on a synchronised clock is adjusted; then ``PROBE_S`` put on it must be refused
    (0x81C6), which it is only if the adjustment left the clock at the reference (module docstring);
    the probe is taken off again. The meter's clock then reads the reference to the tolerance (a
    bracketed read)."""
    t = srvt
    synchronise(t, role, 0.0)
    for error_s in WITHIN_S:
        shift(t, role, error_s)
        synchronise(t, role, error_s)
        shift(t, role, PROBE_S)
        try:
            synchronise(t, role, PROBE_S)
        except AssertionError as exc:
            raise AssertionError(
                f"after SRV 6.11 adjusted an error of {error_s:+.0f} s the {role}'s clock is not at the "
                f"reference: {PROBE_S:+.0f} s more should be beyond the tolerance. {exc}"
            ) from None
        finally:
            shift(t, role, -PROBE_S)
    got = meter_offset(t, role)
    assert got.near(0.0), (
        f"after SRV 6.11 the {role}'s clock is {got.lo:+.1f}..{got.hi:+.1f} s off the reference"
    )


@pytest.mark.parametrize("role", meters())
def test_clock_error_beyond_tolerance_refused_and_kept(role: str, srvt: SrvtRig) -> None:
    """SRVT-6.11 (SRV 6.11: an error beyond the tolerance is refused with 0x81C6 and the clock left
    alone), oracle :func:`test_packs.oracles.clock.synchronise`: for each error of ``BEYOND_S`` put on
    a synchronised clock, SRV 6.11 is refused by the meter (E11) with 0x81C6 logged and alerted; the
    clock keeps the error (far errors: a bracketed read shows it, to the tolerance), shown exactly by
    taking the error off again, after which SRV 6.11 adjusts."""
    t = srvt
    synchronise(t, role, 0.0)
    try:
        for error_s in BEYOND_S:
            shift(t, role, error_s)
            try:
                synchronise(t, role, error_s)
                if abs(error_s) >= 60 * TOL:
                    got = meter_offset(t, role)
                    assert got.near(error_s), (
                        f"the refused SRV 6.11 moved the {role}'s clock: {got.lo:+.1f}..{got.hi:+.1f} s off "
                        f"the reference, {error_s:+.0f} s expected"
                    )
            finally:
                shift(t, role, -error_s)
            synchronise(t, role, 0.0)
    finally:
        with contextlib.suppress(RouteError):  # whatever happened, try to leave the clock on the reference
            t.submit("6.11", role)


def ch_log_change(t: SrvtRig) -> tuple[datetime, Window]:
    """Make the CH log something (SRV 8.11 adds a HAN device to its device log: 0x8F12 in its security
    log, stamped by its clock) and take it out again; the entry's time and the reference-time window it
    was stamped in (the route's answer before the request, and the answer to the request itself)."""
    before = t.route_now()
    added = t.ok("8.11", "ch", {"add": {FAKE_HAN_DEVICE: "ihd"}})
    try:
        after = parse_at(added.responses[-1].get("at"))
        assert after is not None, "the route's answer to SRV 8.11 carries no time"
        entries = t.result("6.13", "ch", {"log": "security"})["entries"]
    finally:
        t.ok("8.11", "ch", {"remove": [FAKE_HAN_DEVICE]})
    changes = [e for e in entries if int(str(e["code"]), 16) == DEVICE_LOG_CHANGED]
    # The entry for this change: the one naming the device added, else the newest (the log is in order).
    mine = [e for e in changes if FAKE_HAN_DEVICE in str((e.get("details") or {}).get("added", ""))]
    entry = (mine or changes)[-1] if changes else None
    assert entry is not None, f"the CH logged no 0x8F12 for the device log change: {entries[-5:]}"
    stamp = parse_at(entry.get("at"))
    assert stamp is not None, f"the CH's 0x8F12 entry carries no time: {entry}"
    return stamp, Window(before, after)


@pytest.mark.dmct_srv("6.13")
@pytest.mark.dmct_group(CONFIG)
@pytest.mark.dmct_requirement("SRVT-CLK-CH")
@pytest.mark.dmct_roles("ch")
def test_ch_clock_keeps_the_reference(srvt: SrvtRig) -> None:
    """SRVT-CLK-CH (the CH's clock, which stamps its logs and alerts, keeps the reference time to the
    clock tolerance), oracle :func:`test_packs.oracles.clock.offset`: an entry the CH logs for an SRV
    (8.11, read back with 6.13) is stamped within the tolerance of the window, in reference time, from
    the route's answer before the request to its answer to it - now, and again after ``CH_WATCH`` of
    device time (a clock that drifts is off by then)."""
    t = srvt
    first, window = ch_log_change(t)
    got = clock_oracle.offset(first, window)
    assert got.near(0.0), f"the CH's clock is {got.lo:+.1f}..{got.hi:+.1f} s off the reference"
    deadline = time.monotonic() + 60.0
    while t.route_now() < window.hi + CH_WATCH:
        assert time.monotonic() < deadline, f"the route's clock did not pass {CH_WATCH} within 60 s"
        time.sleep(0.1)
    later, window = ch_log_change(t)
    got = clock_oracle.offset(later, window)
    assert got.near(0.0), (
        f"{CH_WATCH} after it kept the reference, the CH's clock is {got.lo:+.1f}..{got.hi:+.1f} s off it"
    )
