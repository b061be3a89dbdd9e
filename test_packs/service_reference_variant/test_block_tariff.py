"""Standard DMCT SRVT, SRV 1.1.1 with a *block* tariff: energy really flows across every block threshold
and the meter's balance and block registers are compared with :mod:`test_packs.oracles.tariff`.

SRV 1.1.1 carries block thresholds (kWh) and block prices besides the TOU switches: the block counter
counts the energy imported in the billing period, and block ``n``'s price applies once the counter has
reached threshold ``n``. The test reads the meter's block counter (SRV 4.1.2, the sum of its block
registers), puts the thresholds ahead of it so that the stretch of flow it then runs crosses all three,
and checks, from static reads taken with nothing flowing:

* the energy registered against what the lab's instruments pushed through the meter over the
  device-time interval the clock reads bracket (tariff oracle: constant power x device time);
* the balance change against the block cost of *that* energy from the counter read before (each part
  at its block's price), less the standing charge of any device midnight between the reads;
* the block registers (SRV 4.1.2) against the oracle's split of that energy at the thresholds.

This module runs before ``test_srv.py`` in each worker's per-rig order: gas must flow through the GSME,
whose valve ``test_srv.py`` shuts (SMETS1 has no remote enable for gas; see ``docs/packs.md``).
"""

from __future__ import annotations

import random
from datetime import time
from decimal import Decimal
from typing import Any

import pytest

from test_packs.oracles import tariff as tariff_oracle
from test_packs.service_reference_variant import _metering as metering
from test_packs.service_reference_variant._inputs import note, seeded
from test_packs.service_reference_variant._srvt import KWH_TOLERANCE, SrvtRig

TARIFF = "Tariff and Payment"
#: Device hours of flow: the thresholds are put between 10 % and 85 % of the energy this should bring,
#: so the stretch crosses all three with room to spare.
BLOCK_HOURS = 2.0
#: Least step between neighbouring block prices (p/kWh): a kWh priced in a neighbouring block shows.
MIN_STEP = 5.0


def draw_blocks(rng: random.Random) -> tuple[list[Decimal], list[float]]:
    """Varied inputs (seeded): where the three thresholds fall in the flow's energy (shares, at least
    15 % apart so every block gets energy) and four block prices to two decimals, rising (the usual
    block tariff) or falling (a declining one), neighbours at least ``MIN_STEP`` apart. Hundredths of a
    penny: what both service routes carry (DUIS holds an electricity price as a 16-bit integer times
    one ``PriceScale`` shared by the tariff's prices, so thousandths fit only below 32.767 p)."""
    s1 = rng.uniform(0.10, 0.25)
    s2 = s1 + rng.uniform(0.15, 0.30)
    s3 = s2 + rng.uniform(0.15, 0.30)
    prices = [round(rng.uniform(5.0, 30.0), 2)]
    for _ in range(3):
        prices.append(round(prices[-1] + rng.uniform(MIN_STEP, 20.0), 2))
    if rng.random() < 0.5:
        prices.reverse()
    return [Decimal(str(round(s, 3))) for s in (s1, s2, s3)], prices


#: Two balance reads, each to the penny the meter shows.
BALANCE_ROUNDING = Decimal(1)


def d(value: Any) -> Decimal:
    return Decimal(str(value))


def block_counter(t: SrvtRig, role: str) -> tuple[Decimal, list[Decimal]]:
    """The meter's block registers (SRV 4.1.2) and their sum, the block counter of the billing period."""
    blocks = [d(x) for x in t.result("4.1.2", role)["block_kwh"]]
    return sum(blocks, Decimal(0)), blocks


def planned_watts(t: SrvtRig, role: str) -> Decimal:
    """The power the lab's flow will amount to: the load source's level for the ESME; for the GSME the
    flow rig's level converted with the meter's own configuration (SRV 6.2.8, gas oracle)."""
    if role == "esme":
        return d(metering.ESME_LOAD_W)
    return d(metering.GSME_FLOW_LPH) / 1000 * metering.kwh_per_m3(t) * 1000


@pytest.mark.dmct_srv("1.1.1")
@pytest.mark.dmct_group(TARIFF)
@pytest.mark.parametrize(
    "role",
    [
        pytest.param(
            r,
            id=r,
            marks=[pytest.mark.dmct_requirement(f"SRVT-1.1.1-{r.upper()}"), pytest.mark.dmct_roles(r)],
        )
        for r in ("esme", "gsme")
    ],
)
def test_block_tariff_prices_each_block(srvt: SrvtRig, role: str) -> None:
    """SRVT-1.1.1 (block tariff): block n's price applies once the block counter has passed threshold
    n. Oracle :mod:`test_packs.oracles.tariff` (:func:`~test_packs.oracles.tariff.block_cost_pence`,
    :func:`~test_packs.oracles.tariff.energy_by_block`, :func:`~test_packs.oracles.tariff.energy_by_rate`
    for the energy the instruments pushed). Tolerances: 0.002 kWh per register read (static reads),
    the device time each clock-bracketed read and flow switch took, a penny of balance rounding
    (two reads). Inputs varied, seeded and recorded in the transcript (:func:`draw_blocks`): where the
    thresholds fall, rising or falling block prices with two decimals."""
    t = srvt
    idle = metering.Flow(t, role)  # nothing flows but the stretch measured (the lab file may set a load)
    idle.set(False)
    try:
        run_block_tariff(t, role)
    finally:
        idle.restore()


def run_block_tariff(t: SrvtRig, role: str) -> None:
    before = t.result("4.11.1", role)
    counter0, _ = block_counter(t, role)
    plan = planned_watts(t, role) / 1000 * d(BLOCK_HOURS)
    shares, prices = draw_blocks(seeded(t.request, f"block tariff {role}"))
    thresholds = [float(round(counter0 + plan * s, 3)) for s in shares]
    note(t.request, "block tariff", counter=str(counter0), thresholds=thresholds, prices=prices)
    restore = {
        "rates": before["rates"],
        "prices": before["prices"],
        "standing_charge": before["standing_charge"],
        "switches": [{"at": s["at"], "rate": s["rate"]} for s in before["switches"]],
    }
    sent = restore | {"block_thresholds": thresholds, "block_prices": prices}
    if role == "gsme":
        # A gas tariff is TOU or block (DUIS GasPriceElements and GasDayProfile hold one or the other):
        # the block tariff is one rate, its TOU price block 1's, on every route. The meter charges the
        # block prices either way; the restore brings the TOU tariff back.
        sent |= {"rates": 1, "prices": prices[:1], "switches": [{"at": "00:00:00", "rate": 1}]}
    if before.get("block_thresholds"):
        restore |= {"block_thresholds": before["block_thresholds"], "block_prices": before["block_prices"]}
    try:
        t.ok("1.1.1", role, sent)
        held = t.result("4.11.1", role)
        assert [float(x) for x in held["block_thresholds"]] == thresholds, f"read back {held}, sent {sent}"
        assert [float(x) for x in held["block_prices"]] == prices, held
        counter1, blocks1 = block_counter(t, role)
        assert abs(counter1 - counter0) <= KWH_TOLERANCE, (
            f"the block counter moved {counter0} -> {counter1} kWh at the tariff change with nothing "
            "flowing; only a billing-calendar snapshot resets it"
        )
        m = metering.meter_for(t, role, BLOCK_HOURS)
        energy = m.last.total - m.first.total
        # The energy itself: constant power from the instruments over the bracketed device time.
        one = [tariff_oracle.Switch(time(0), 1)]
        lo = tariff_oracle.energy_by_rate(one, 1, *m.inner, m.watts)[0]
        hi = tariff_oracle.energy_by_rate(one, 1, *m.outer, m.watts)[0]
        slack = KWH_TOLERANCE * len(m.first.tou)
        assert lo - slack <= energy <= hi + slack, (
            f"the {role} registered {energy:.3f} kWh; {m.watts:.1f} W over the flow's device time "
            f"gives {lo:.3f}..{hi:.3f} kWh ({metering.describe(m)})"
        )
        assert counter1 + energy > d(thresholds[-1]), (
            f"the flow ({energy:.3f} kWh from counter {counter1}) did not cross every threshold "
            f"{thresholds}: the test could not exercise the blocks"
        )
        # The cost: each part of the energy at the price of the block the counter was in.
        cost = tariff_oracle.block_cost_pence(thresholds, prices, counter1, energy)
        cost_slack = slack * d(max(prices)) + BALANCE_ROUNDING
        moved = m.last.balance - m.first.balance
        options = [-(cost + d(before["standing_charge"]) * n) for n in m.midnights()]
        assert any(abs(moved - want) <= cost_slack for want in options), (
            f"the {role}'s balance moved {moved:.2f} p for {energy:.3f} kWh from block counter "
            f"{counter1:.3f} kWh (thresholds {thresholds}, prices {prices}); the tariff "
            f"oracle expects {[f'{o:.2f}' for o in options]} +- {cost_slack:.2f} p "
            f"({metering.describe(m)})"
        )
        # The block registers: the same energy split at the thresholds.
        _, blocks2 = block_counter(t, role)
        want = tariff_oracle.energy_by_block(thresholds, counter1, energy)
        got = [b - a for a, b in zip(blocks1, blocks2, strict=True)]
        for n, (g, w) in enumerate(zip(got, want, strict=True)):
            assert abs(g - w) <= slack, (
                f"block register {n + 1} of the {role} gained {g:.3f} kWh; the tariff oracle splits "
                f"{energy:.3f} kWh from counter {counter1:.3f} at {thresholds} into "
                f"{[f'{x:.3f}' for x in want]}"
            )
    finally:
        t.ok("1.1.1", role, restore)
