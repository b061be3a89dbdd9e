"""SRV 4.x reads: what the meter reports must be internally consistent and move with consumption.

Until the service route exists (its own issue) the registers are read through the optical port, the
independent path the full pack will use to verify what the route returns.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from device_drivers.roles import EsmeDriver


@pytest.mark.srv("4.1.1")
@pytest.mark.group("Reads")
@pytest.mark.roles("esme")
@pytest.mark.requirement("SRVT-4.1.1-ESME")
def test_srv_4_1_1_read_instantaneous_import_registers(esme: EsmeDriver) -> None:
    """SRV 4.1.1 Read Instantaneous Import Registers: total and TOU registers in kWh, consistent."""
    first = esme.read_import_registers()
    assert first.unit == "kWh", f"import registers must be reported in kWh, got {first.unit!r}"
    assert first.tou, "the ESME reports no TOU import registers"
    # The total import register is the sum of the TOU registers, each rounded to the 0.001 kWh shown.
    tolerance = Decimal("0.001") * len(first.tou)
    assert abs(first.total - sum(first.tou)) <= tolerance, (
        f"total {first.total} kWh != sum of TOU registers {sum(first.tou)} kWh"
    )
    time.sleep(0.05)
    second = esme.read_import_registers()
    assert second.total >= first.total, f"import register went backwards: {first.total} -> {second.total}"
    for rate, (before, after) in enumerate(zip(first.tou, second.tou, strict=True), start=1):
        assert after >= before, f"TOU register {rate} went backwards: {before} -> {after}"
