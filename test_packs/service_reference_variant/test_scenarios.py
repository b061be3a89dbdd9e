"""Standard DMCT SRVT, whole scenarios (issue 14): power events with the alerts and log entries they
must raise, and the state a meter must keep across them, checked against
:mod:`test_packs.oracles.supply` with outage durations measured in *device* time (the meter's own
log timestamps), never only against what another port of the same device says.

Power is switched by the rig's relays (lab instruments): a short cycle (the relay off and straight
back on) and a long one (off for a while of real time, which the lab's clock may turn into hours).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from test_packs.oracles import supply as supply_oracle
from test_packs.service_reference_variant._srvt import SrvtRig

SCENARIOS = "Scenarios"


def outage(t: SrvtRig, role: str, off_s: float) -> list[tuple[int, datetime]]:
    """Cycle the role's power relay; the meter's event log entries since just before, as (code, at)."""
    since = t.optical(role).clock()
    t.instruments.power_cycle(role, off_s=off_s)
    return [(r.code, r.at) for r in t.optical(role).event_log(since=since)]


@pytest.mark.dmct_srv("7.4")
@pytest.mark.dmct_group(SCENARIOS)
@pytest.mark.dmct_requirement("SRVT-SCN-POWER-ESME")
@pytest.mark.dmct_roles("esme")
def test_esme_power_cycles(srvt: SrvtRig) -> None:
    """SRVT-SCN-POWER-ESME, oracle :mod:`test_packs.oracles.supply`: each mains outage is logged and
    alerted as 0x8F57 and its end as 0x8F35 or 0x8F36 by the outage's device-time length (the two log
    timestamps); a prepayment ESME whose supply was disabled (SRV 7.2) comes back in prepayment mode
    with its supply still disabled (SRV 7.4 and the optical port)."""
    t = srvt
    optical = t.optical("esme")
    with t.payment_mode("esme", "prepayment"):
        try:
            t.ok("7.2", "esme")
            # A short, a medium and a long outage (real seconds the relay stays open). The medium one
            # lasts seconds to a minute or two of device time at the virtual lab's clock rate: a meter
            # that counts the 3-minute threshold in seconds shows itself only there (a 0 s outage can
            # be shorter than 3 device seconds). Each is judged by its own logged length.
            for off_s in (0.0, 0.01, 0.3):
                since = t.mark("esme")
                logged = outage(t, "esme", off_s)
                codes = [c for c, _ in logged]
                assert supply_oracle.SUPPLY_INTERRUPTED in codes, f"no 0x8F57 logged: {logged}"
                lost = next(at for c, at in logged if c == supply_oracle.SUPPLY_INTERRUPTED)
                back = [
                    (c, at)
                    for c, at in logged
                    if c in (supply_oracle.SUPPLY_RESTORED, supply_oracle.SUPPLY_RESTORED_LONG)
                ]
                assert back, f"no restoration (0x8F35/0x8F36) logged after the outage: {logged}"
                code, at = back[0]
                want = supply_oracle.restoration_alert(at - lost)
                assert code == want, (
                    f"outage of {at - lost} (device time): logged 0x{code:04X}, "
                    f"the supply oracle expects 0x{want:04X}"
                )
                t.alerts(supply_oracle.SUPPLY_INTERRUPTED, "esme", since=since)
                t.alerts(want, "esme", since=since)
                assert optical.payment_mode() == "prepayment", "the payment mode did not survive the outage"
                assert optical.supply_state() == "disabled", "the disabled supply did not survive the outage"
                assert t.result("7.4", "esme")["supply"] == "disabled", "SRV 7.4 after the outage"
        finally:
            t.ensure_balance("esme", 1000.0)
            t.restore_supply("esme")


@pytest.mark.dmct_srv("7.4")
@pytest.mark.dmct_group(SCENARIOS)
@pytest.mark.dmct_requirement("SRVT-SCN-POWER-GSME")
@pytest.mark.dmct_roles("gsme")
def test_gsme_power_cycle(srvt: SrvtRig) -> None:
    """SRVT-SCN-POWER-GSME, oracle :mod:`test_packs.oracles.supply`: a GSME whose power was lost
    raises 0x8F1D when it returns, and keeps its payment mode and valve state."""
    t = srvt
    optical = t.optical("gsme")
    mode, valve = optical.payment_mode(), optical.supply_state()
    logged = outage(t, "gsme", 0.3)
    assert supply_oracle.GSME_POWER_SUPPLY_LOSS in [c for c, _ in logged], f"no 0x8F1D logged: {logged}"
    assert optical.payment_mode() == mode, "the payment mode did not survive the power loss"
    assert optical.supply_state() == valve, "the valve state did not survive the power loss"
