"""Every SMETS1-applicable SRV of the catalogue has a happy path through the real protocol.

Each case names its target device, its parameters (or a setup that returns them) and a check on the
result or on the device model afterwards, so a route that answered I0 without acting fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from device_drivers.route import SrvResult, VirtualServiceRoute
from labs.virtual.devices import PaymentMode, SupplyState, make_utrn
from labs.virtual.s1sp import load_srv_catalogue

from .conftest import RouteLab

Params = dict[str, Any]
Setup = Callable[[RouteLab, VirtualServiceRoute], Params]
Check = Callable[[RouteLab, SrvResult], object]


@dataclass(frozen=True)
class Case:
    target: str
    params: Params | Setup
    check: Check
    user: str = "supplier"


def later(lab: RouteLab, **kw: float) -> str:
    return (lab.clock.now() + timedelta(**kw)).isoformat()


def _disabled(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    lab.call(lab.inst().esme.disable_supply)
    return {}


def _ec_available(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    esme = lab.inst().esme

    def setup() -> None:
        esme.apply_load(0.0)
        esme.set_payment_mode(PaymentMode.PREPAYMENT)
        esme.adjust_balance(50.0 - esme.prepay_values().balance)

    lab.call(setup)
    return {}


def _top_up(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    return {"utrn": make_utrn(lab.inst().esme.device_id, 1000, 1)}


def _schedule(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    sid = route.submit(
        "5.1",
        lab.inst().esme.device_id,
        {"srv": "4.6.1", "start": later(lab, days=10), "period_s": 86400},
        user="supplier",
    ).result["schedule_id"]
    return {"schedule_id": sid}


def _unjoined_ihd(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    inst = lab.inst()
    assert inst.ihd is not None
    lab.call(lambda: inst.ch.unjoin(inst.ihd.device_id))  # type: ignore[union-attr]
    return {}


def _image(lab: RouteLab, route: VirtualServiceRoute) -> Params:
    route.submit("11.1", lab.inst().esme.device_id, {"version": "1.4.9"}, user="supplier")
    return {}


def ihd_joined(lab: RouteLab) -> bool:
    inst = lab.inst()
    assert inst.ihd is not None
    return inst.ihd.device_id in inst.ch.joined


def esme(lab: RouteLab) -> Any:
    return lab.inst().esme


CASES: dict[str, Case] = {
    "1.1.1": Case(
        "esme",
        {"rates": 2, "prices": [10.0, 20.0], "standing_charge": 40.0},
        lambda lab, r: esme(lab).tariff.prices == (10.0, 20.0),
    ),
    "1.2.1": Case(
        "esme",
        {"prices": [11.0, 21.0, 31.0, 41.0]},
        lambda lab, r: esme(lab).tariff.prices == (11.0, 21.0, 31.0, 41.0),
    ),
    # from 0 p, +500 p, minus what the meter used meanwhile (40 p per real second at this clock rate: a
    # loaded machine may take a while), so well above 0 only if the delta arrived
    "1.5": Case("esme", {"delta": 500.0}, lambda lab, r: r.result["balance"] > 250.0),
    "1.6": Case(
        "esme", {"mode": "prepayment"}, lambda lab, r: esme(lab).payment_mode is PaymentMode.PREPAYMENT
    ),
    "2.1": Case(
        "esme",
        {"low_credit_threshold": 300.0},
        lambda lab, r: esme(lab).account.config.low_credit_threshold == 300.0,
    ),
    "2.2": Case("esme", _top_up, lambda lab, r: r.result["amount"] == 1000.0),
    "2.3": Case(
        "esme",
        {"debts": [{"name": "time_debt_1", "amount": 1000.0, "rate": 50.0}]},
        lambda lab, r: esme(lab).account.debts["time_debt_1"].amount == 1000.0,
    ),
    "2.5": Case("esme", _ec_available, lambda lab, r: esme(lab).account.ec_active),
    "3.1": Case(
        "esme", {"text": "Hello from the DCC"}, lambda lab, r: esme(lab).last_message == "Hello from the DCC"
    ),
    "3.2": Case(
        "esme", {"from_date": "2025-01-01T00:00:00+00:00"}, lambda lab, r: "restricted_from" in r.result
    ),
    "3.4": Case(
        "esme", {"name": "Virtual Energy"}, lambda lab, r: esme(lab).supplier_name == "Virtual Energy"
    ),
    "4.1.1": Case("esme", {}, lambda lab, r: r.result["total_kwh"] >= 1900.0),
    "4.1.2": Case("esme", {}, lambda lab, r: len(r.result["tou_kwh"]) == 4),
    "4.3": Case("esme", {}, lambda lab, r: r.result["mode"] == "credit"),
    "4.4.2": Case("esme", {}, lambda lab, r: isinstance(r.result["records"], list)),
    "4.6.1": Case("esme", {}, lambda lab, r: isinstance(r.result["reads"], list)),
    "4.8.1": Case(
        "esme", {}, lambda lab, r: r.result["resolution"] == "daily" and r.warnings[0]["code"] == "W2"
    ),
    "4.11.1": Case("esme", {}, lambda lab, r: r.result["rates"] == 4),
    "4.13": Case("esme", {}, lambda lab, r: r.result["max_credit"] == 10000.0),
    "4.18": Case("esme", {}, lambda lab, r: "balance" in r.result),
    "5.1": Case(
        "esme",
        {"srv": "4.6.1", "start": "2030-01-01T00:00:00+00:00", "period_s": 86400},
        lambda lab, r: r.result["schedule_id"].startswith("S"),
    ),
    "5.2": Case("esme", _schedule, lambda lab, r: len(r.result["schedules"]) == 1),
    "5.3": Case("esme", _schedule, lambda lab, r: not lab.service.schedules.items),
    "6.2.1": Case("esme", {}, lambda lab, r: r.result["variant"] == "single_element"),
    "6.2.2": Case("esme", {}, lambda lab, r: "randomised_offset_limit_s" in r.result),
    "6.2.3": Case("esme", {}, lambda lab, r: "billing_calendar" in r.result),
    "6.2.4": Case(
        "esme", {}, lambda lab, r: r.result["model"] == "VESME-1P" and r.result["firmware_version"] == "1.4.2"
    ),
    "6.2.5": Case("esme", {}, lambda lab, r: "load_limit" in r.result),
    "6.2.7": Case("esme", {}, lambda lab, r: r.result == {"mpxn": ""}),
    "6.2.8": Case("gsme", {}, lambda lab, r: r.acknowledged and r.result["calorific_value"] == 39.5),
    "6.2.9": Case("esme", {}, lambda lab, r: r.result == {"payment_mode": "credit"}),
    "6.2.10": Case("esme", {}, lambda lab, r: r.result == {"suppressed": []}),
    "6.4.1": Case(
        "esme",
        {"threshold_w": 5000.0, "period_s": 60.0},
        lambda lab, r: esme(lab).load_limit.threshold_w == 5000.0,
    ),
    "6.4.2": Case("esme", {}, lambda lab, r: esme(lab).load_limit_counter == 0),
    "6.8": Case(
        "esme",
        {"start": "2025-02-01T00:00:00+00:00", "period": "monthly"},
        lambda lab, r: esme(lab).billing_calendar.period == "monthly",
    ),
    "6.11": Case("esme", {}, lambda lab, r: r.result["adjusted"] is True),
    "6.13": Case("esme", {"log": "security"}, lambda lab, r: r.result["log"] == "security"),
    "6.15.1": Case(
        "esme", {}, lambda lab, r: lab.service.route_key(esme(lab).device_id, "supplier").version == 2
    ),
    "6.20.1": Case("esme", {"mpxn": "1234567890123"}, lambda lab, r: esme(lab).mpxn == "1234567890123"),
    "6.22": Case(
        "esme",
        {"alerts": [{"code": "0x8F35", "send": False}]},
        lambda lab, r: 0x8F35 in esme(lab).alerter.suppressed,
    ),
    "6.23": Case(
        "esme",
        {"new_supplier": "90-B3-D5-1F-30-01-00-01"},
        lambda lab, r: lab.service.route_key(esme(lab).device_id, "supplier").version == 2,
    ),
    "6.24.1": Case(
        "esme",
        {"credential_role": "supplier"},
        lambda lab, r: r.result["keys"] == [{"key_id": "S1SP-SUPPLIER", "version": 1}],
    ),
    "6.25": Case("esme", {"state": "locked"}, lambda lab, r: esme(lab).supply_tamper_state == "locked"),
    "7.1": Case("esme", _disabled, lambda lab, r: esme(lab).supply is SupplyState.ENABLED),
    "7.2": Case("esme", {}, lambda lab, r: esme(lab).supply is SupplyState.DISABLED),
    "7.3": Case("esme", _disabled, lambda lab, r: esme(lab).supply is SupplyState.ARMED),
    "7.4": Case("esme", {}, lambda lab, r: r.result == {"supply": "enabled"}),
    "8.2": Case(
        "esme", {}, lambda lab, r: r.result["status"] == "Commissioned" and r.result["region"] == "SMETS1"
    ),
    "8.3": Case("ihd", {}, lambda lab, r: r.result["status"] == "Decommissioned"),
    "8.4": Case("esme", {"status": "Suspended"}, lambda lab, r: r.result["status"] == "Suspended"),
    "8.7.2": Case("ihd", _unjoined_ihd, lambda lab, r: ihd_joined(lab)),
    "8.8.2": Case("ihd", {}, lambda lab, r: not ihd_joined(lab)),
    "8.9": Case("ch", {}, lambda lab, r: len(r.result["devices"]) == 4),
    "8.11": Case(
        "ch",
        {"add": {"01-02-03-04-05-06-07-08": "ihd"}},
        lambda lab, r: "01-02-03-04-05-06-07-08" in lab.inst().ch.device_log,
    ),
    "11.1": Case(
        "esme",
        {"version": "1.4.9"},
        lambda lab, r: r.outcomes() == ["actioned"] * 6 and esme(lab).firmware.state.value == "verified",
    ),
    "11.2": Case("esme", {}, lambda lab, r: r.result == {"firmware_version": "1.4.2"}),
    "11.3": Case("esme", _image, lambda lab, r: esme(lab).firmware.running == "1.4.9"),
}


def test_every_applicable_srv_has_a_case() -> None:
    assert sorted(CASES) == sorted(load_srv_catalogue().applicable())


@pytest.mark.parametrize("srv", sorted(CASES, key=lambda s: [int(p) for p in str(s).split(".")]))
def test_happy_path(srv: str, lab: RouteLab, route: VirtualServiceRoute) -> None:
    case = CASES[srv]
    inst = lab.inst()
    target = {"esme": inst.esme, "gsme": inst.gsme, "ch": inst.ch, "ihd": inst.ihd}[case.target]
    assert target is not None
    params = case.params(lab, route) if callable(case.params) else case.params
    result = route.submit(srv, target.device_id, params, user=case.user)
    assert result.code == "I0", result
    assert lab.call(lambda: case.check(lab, result)), result
