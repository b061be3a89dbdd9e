"""The example non-standard pack's own tests for VDMC1 (20.17): a replacement and an addition.

Both use the standard SRVT pack's ``srvt`` fixture, as ``test_packs/service_reference_variant`` does:
the SRV goes through the service route and its answer is checked against the meter's optical port,
the DMC's EPCL record (``dmc``) and the lab's record of the device on the rig.
"""

from __future__ import annotations

import pytest

from harness.lab.inventory import DmcSpec
from test_packs.service_reference_variant._srvt import SrvtRig

LOAD_LIMIT_ARMED = 0x8F33  # supply armed by load limiting
ENABLED_AFTER_LOAD_LIMIT = 0x8F34  # supply enabled after the load limiting restoration period


@pytest.mark.dmct_requirement("SRVT-6.2.4-ESME")
@pytest.mark.dmct_srv("6.2.4")
@pytest.mark.dmct_group("Device Configuration")
@pytest.mark.dmct_roles("esme")
def test_esme_identity_matches_lab_record(srvt: SrvtRig, dmc: DmcSpec) -> None:
    """Replaces test_srv.py::test_positive[6.2.4-esme]: SRV 6.2.4 Read Device Configuration (Identity)
    on the ESME agrees with the optical port, the DMC's EPCL record and, stricter than the standard
    case, the serial the lab recorded for this meter and the S1SP inventory (SRV 8.2)."""
    config = srvt.result("6.2.4", "esme")
    meter = srvt.optical("esme").identity()
    device = srvt.spec("esme")
    assert config["device_id"].upper() == srvt.eui("esme").upper() == meter.device_id.upper(), (config, meter)
    assert device.serial, f"the lab file records no serial for the ESME of rig {srvt.rig.id}"
    assert config["serial"] == meter.serial == device.serial, (
        f"serial: route {config['serial']!r}, optical port {meter.serial!r}, lab record {device.serial!r}"
    )
    for name in ("manufacturer", "model", "hardware_version", "firmware_version"):
        expected = getattr(dmc.esme, name)
        assert config[name] == expected, f"{name}: route {config[name]!r}, EPCL {expected!r}"
    assert meter.firmware_version == dmc.esme.firmware_version, (meter, dmc.esme)
    inventory = srvt.result("8.2", "esme")
    for name in ("model", "firmware_version"):
        assert inventory[name] == config[name], (
            f"{name}: inventory {inventory[name]!r}, 6.2.4 {config[name]!r}"
        )


@pytest.mark.dmct_requirement("NS-VDMC1-LOAD-LIMIT-RESTORATION")
@pytest.mark.dmct_srv("6.4.1")
@pytest.mark.dmct_group("Device Configuration")
@pytest.mark.dmct_roles("esme")
def test_esme_load_limit_restores_supply_by_itself(srvt: SrvtRig) -> None:
    """Added for VDMC1: load limiting with a restoration period (SRV 6.4.1). 2 kW over a 1 kW limit for
    the period arms supply (0x8F33); once the demand has dropped and the restoration period has passed,
    the ESME enables supply by itself (0x8F34) and power flows again, measured by the lab's meter."""
    since = srvt.mark("esme")
    with srvt.esme_load(2000.0):
        try:
            limit = {"threshold_w": 1000.0, "period_s": 60.0, "restoration_s": 120.0}
            srvt.ok("6.4.1", "esme", limit)
            srvt.alerts(LOAD_LIMIT_ARMED, "esme", since=since)
            srvt.instruments.set_load(500.0)  # below the limit: nothing trips it again
            srvt.alerts(ENABLED_AFTER_LOAD_LIMIT, "esme", since=since)
            assert srvt.optical("esme").supply_state() == "enabled", "supply not back after restoration"
            assert srvt.instruments.measured_power() > 0, "no power flows after the restoration"
        finally:
            srvt.ok("6.4.1", "esme", {"threshold_w": 100000.0, "period_s": 60.0})
            srvt.restore_supply("esme")
            srvt.ok("6.4.2", "esme")
