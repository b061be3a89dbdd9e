"""The example non-standard pack's own tests for VDMC1 (20.17): a replacement and an addition.

Both use the standard SRVT pack's ``srvt`` fixture, as ``test_packs/service_reference_variant`` does:
the SRV goes through the service route and its answer is checked against the meter's optical port,
the DMC's EPCL record (``dmc``) and the lab's record of the device on the rig.
"""

from __future__ import annotations

import pytest

from harness.lab import DmcSpec
from test_packs.service_reference_variant._srvt import SrvtRig


@pytest.mark.requirement("SRVT-6.2.4-ESME")
@pytest.mark.srv("6.2.4")
@pytest.mark.group("Device Configuration")
@pytest.mark.roles("esme")
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


@pytest.mark.requirement("NS-VDMC1-ESME-FIRMWARE")
@pytest.mark.srv("11.2")
@pytest.mark.group("Firmware")
@pytest.mark.roles("esme")
def test_esme_firmware_agrees_on_every_path(srvt: SrvtRig, dmc: DmcSpec) -> None:
    """Added for VDMC1: the ESME reports its EPCL firmware version on every path a User or a lab reads
    it — SRV 11.2, SRV 6.2.4, the S1SP inventory (SRV 8.2) and the optical port."""
    expected = dmc.esme.firmware_version
    reads = {
        "SRV 11.2": srvt.result("11.2", "esme")["firmware_version"],
        "SRV 6.2.4": srvt.result("6.2.4", "esme")["firmware_version"],
        "SRV 8.2": srvt.result("8.2", "esme")["firmware_version"],
        "optical port": srvt.optical("esme").firmware_version(),
    }
    wrong = {path: version for path, version in reads.items() if version != expected}
    assert not wrong, f"the ESME's firmware is {expected!r} in its EPCL entry, but reads {wrong}"
