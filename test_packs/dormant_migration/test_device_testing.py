"""Migration Device Testing: the S1SP reads identity and firmware and checks them against the EPCL.

Data Validation and Device Testing (SMETS1 migration phases) must find exactly the device models and
firmware versions the EPCL entry names; a meter on other firmware is not the DMC under test.
"""

from __future__ import annotations

import pytest

from device_drivers.roles import EsmeDriver
from harness.lab import DmcSpec, RigSpec


@pytest.mark.group("Device Testing")
@pytest.mark.roles("esme")
@pytest.mark.requirement("MT-DT-IDENTITY", "MT-DV-EPCL")
def test_esme_identity_matches_epcl_entry(esme: EsmeDriver, dmc: DmcSpec, rig: RigSpec) -> None:
    identity = esme.identity()
    expected = dmc.esme
    assert identity.model == expected.model, (
        f"ESME reports model {identity.model!r}, EPCL has {expected.model!r}"
    )
    assert identity.firmware_version == expected.firmware_version, (
        f"ESME reports firmware {identity.firmware_version!r}, EPCL entry has {expected.firmware_version!r}"
    )
    device = rig.device("esme")
    if device is not None and device.serial:
        assert identity.serial == device.serial, (
            f"ESME reports serial {identity.serial!r}, the lab inventory has {device.serial!r}"
        )
