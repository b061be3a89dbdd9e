"""Standard DMCT SRVT, device events the lab's instruments cause (issue 14): a tamper with the ESME's
terminal cover, with the supply tamper state SRV 6.25 sets, and a GSME battery run low. Each is checked
against what the requirement says must follow - the supply state, the alerts, their log entries and
their device time - never against another port's account of the same device.

Instruments (``docs/instruments.md``): ``esme_terminal_cover``, an actuator that lifts the ESME's
terminal cover (a physical tamper, 0x8F76), and ``gsme_battery_level``, the GSME's battery eliminator set
to present a battery at a given charge. A rig without them makes these tests not applicable.

Every "when" is a device-time window (two reads of the meter's clock around the instrument's write), so
tolerances are stated in device time: the lab's clock may run thousands of times faster than the wall.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from test_packs.oracles.window import Window
from test_packs.service_reference_variant import _metering as metering
from test_packs.service_reference_variant._srvt import SrvtRig, parse_at

#: GBCS alert codes (gbcs-alert-codes.csv).
TERMINAL_COVER_REMOVED = 0x8F76  # Unauthorised Physical Access - Terminal Cover Removed
SUPPLY_LOCKED_BY_TAMPER = 0x81BE  # Supply Disabled Then Locked - Supply Tamper State Cause
LOW_BATTERY = 0x8F1F  # Low Battery Capacity
#: A tamper acts at once: the alert and the disablement are stamped within the window of the
#: actuator's write, widened by the meter clock's one-second resolution either side.
CLOCK_RESOLUTION = timedelta(seconds=1)
#: A battery-powered GSME need not measure its battery continuously: it must notice a low battery
#: within one HAN wake cycle, 30 minutes of device time at most for the SMETS1 GSMEs modelled.
BATTERY_NOTICED_WITHIN = timedelta(minutes=30)
#: Charges well above and well below any GSME's low-battery level (10-20 % in practice).
WELL_CHARGED_PCT, FLAT_PCT = 60.0, 4.0
LOAD_W = 1500.0


def needs_point(t: SrvtRig, point: str) -> None:
    if point not in t.instruments.map:
        pytest.skip(f"not applicable: rig {t.rig.id}'s instruments have no {point} point")


def actuate(t: SrvtRig, role: str, point: str, value: float | bool) -> Window:
    """Write an instrument point; the device-time window (the role's meter clock) it happened in."""
    optical = t.optical(role)
    lo = optical.clock()
    t.instruments.write(point, value)
    return Window(lo, optical.clock())


def stamped_in(at: datetime | None, window: Window, what: str) -> None:
    assert at is not None and window.lo <= at <= window.hi, (
        f"{what} stamped {at}; the device-time window allows {window.lo}..{window.hi}"
    )


def tamper(t: SrvtRig) -> Window:
    """Lift the ESME's terminal cover and put it back; the window of the lifting (the tamper)."""
    try:
        return actuate(t, "esme", "esme_terminal_cover", True).widened(CLOCK_RESOLUTION)
    finally:
        t.instruments.write("esme_terminal_cover", False)


@pytest.mark.dmct_srv("6.25")
@pytest.mark.dmct_group("Device Configuration")
@pytest.mark.dmct_requirement("SRVT-6.25-ESME")
@pytest.mark.dmct_roles("esme")
def test_tamper_with_supply_tamper_state(srvt: SrvtRig) -> None:
    """SRVT-6.25-ESME, SRV 6.25 Set Electricity Supply Tamper State: with the state 'unchanged' a tamper
    (the terminal cover lifted, 0x8F76) leaves supply as it was; with 'locked' the same tamper disables
    supply and raises 0x81BE. Oracle: the requirement's two states, checked with the lab's instruments
    (power flowing through the meter or not) and SRV 7.4, the alerts stamped within the device-time
    window of the actuator's write (+- the clock's 1 s resolution)."""
    t = srvt
    needs_point(t, "esme_terminal_cover")
    optical = t.optical("esme")
    t.restore_supply("esme")
    with t.esme_load(LOAD_W):
        try:
            # 'unchanged': the tamper is alerted, supply stays on, power still flows.
            t.ok("6.25", "esme", {"state": "unchanged"})
            when = tamper(t)
            alert = t.alerts(TERMINAL_COVER_REMOVED, "esme", since=when.lo)[0]
            stamped_in(parse_at(alert.at), when, "the tamper alert 0x8F76 (state unchanged)")
            assert optical.supply_state() == "enabled", "state 'unchanged': a tamper must not cut supply"
            assert t.instruments.measured_power() > LOAD_W / 2, "state 'unchanged': power stopped"
            # 'locked': the same tamper disables supply, 0x81BE, and no power flows.
            t.ok("6.25", "esme", {"state": "locked"})
            assert optical.supply_state() == "enabled", "setting the tamper state must not cut supply"
            when = tamper(t)
            alert = t.alerts(TERMINAL_COVER_REMOVED, "esme", since=when.lo)[0]
            stamped_in(parse_at(alert.at), when, "the tamper alert 0x8F76 (state locked)")
            state = optical.supply_state()
            assert state == "disabled", f"state 'locked': supply {state} after a tamper, must be disabled"
            assert t.result("7.4", "esme")["supply"] == "disabled", "SRV 7.4 after the locked tamper"
            assert t.instruments.measured_power() <= 0.5, "state 'locked': power still flows after a tamper"
            locked = t.alerts(SUPPLY_LOCKED_BY_TAMPER, "esme", since=when.lo)[0]
            stamped_in(parse_at(locked.at), when, "0x81BE (supply disabled then locked)")
            logged = [*t.log_codes("esme", since=when.lo), *t.log_codes("esme", since=when.lo, security=True)]
            assert SUPPLY_LOCKED_BY_TAMPER in logged, f"0x81BE in neither log of the ESME: {logged}"
        finally:
            t.instruments.write("esme_terminal_cover", False)
            t.ok("6.25", "esme", {"state": "unchanged"})
            t.restore_supply("esme")
    assert optical.supply_state() == "enabled", "supply not restored after the tamper test"


@pytest.mark.dmct_group("Scenarios")
@pytest.mark.dmct_requirement("SRVT-SCN-BATTERY-GSME")
@pytest.mark.dmct_roles("gsme")
def test_gsme_low_battery_alert(srvt: SrvtRig) -> None:
    """SRVT-SCN-BATTERY-GSME: a GSME whose battery falls below its low-battery level raises 0x8F1F
    (GBCS Low Battery Capacity), and does not while it is well charged. Oracle: the requirement and the
    lab's battery eliminator (the charge it presents); the alert and its event-log entry are stamped
    between the write that ran the battery low and ``BATTERY_NOTICED_WITHIN`` (30 min of device time)
    after it; a well-charged battery raises none over the same stretch."""
    t = srvt
    needs_point(t, "gsme_battery_level")
    optical = t.optical("gsme")
    before = float(t.instruments.read("gsme_battery_level"))
    try:
        since = actuate(t, "gsme", "gsme_battery_level", WELL_CHARGED_PCT).lo
        metering.wait_device_time(t, "gsme", optical.clock() + BATTERY_NOTICED_WITHIN)
        assert LOW_BATTERY not in t.log_codes("gsme", since=since), (
            f"0x8F1F logged with the battery at {WELL_CHARGED_PCT:g} %"
        )
        when = actuate(t, "gsme", "gsme_battery_level", FLAT_PCT)
        due = Window(when.lo - CLOCK_RESOLUTION, when.hi + BATTERY_NOTICED_WITHIN)
        alert = t.alerts(LOW_BATTERY, "gsme", since=due.lo)[0]
        stamped_in(parse_at(alert.at), due, f"0x8F1F after the battery fell to {FLAT_PCT:g} %")
        logged = [r.at for r in optical.event_log(since=due.lo) if r.code == LOW_BATTERY]
        assert logged, f"the GSME's event log has no 0x8F1F since the battery fell to {FLAT_PCT:g} %"
        stamped_in(logged[0], due, "the 0x8F1F event-log entry")
    finally:
        t.instruments.write("gsme_battery_level", before)
