"""How the S1SP executes: sleepy-GSME queueing, multi-Instruction outcomes, future dating (device and
DSP), HAN error GT01, DCC schedules, alerts of all three kinds, and seeded defects changing outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from device_drivers.route import RouteAlert, VirtualServiceRoute
from labs.virtual.devices import make_utrn

from .conftest import Rig, RouteLab


def later(lab: RouteLab, **kw: float) -> str:
    return (lab.clock.now() + timedelta(**kw)).isoformat()


def test_sleepy_gsme_commands_are_queued_until_it_wakes(lab: RouteLab, route: VirtualServiceRoute) -> None:
    gsme = lab.inst().gsme
    assert gsme is not None
    first = route.submit("1.2.1", gsme.device_id, {"prices": [7.5]}, user="supplier", wait=False)
    assert (first.code, first.final, first.outcomes()) == ("I99", False, ["queued"])
    # Nothing yet while the GSME sleeps, unless it has already woken (a loaded machine at the lab's clock
    # rate): then the delivery must come after the queueing, in device time (checked below either way).
    applied_at_once = lab.call(lambda: gsme.tariff.prices) == (7.5,)
    # the route keeps serving the ESME meanwhile
    assert route.submit("4.1.1", lab.inst().esme.device_id, user="supplier").code == "I0"
    final = route.wait_result(first.request_id)
    assert final.code == "I0" and final.acknowledged and final.outcomes() == ["actioned"]
    instruction = final.instructions[0]
    assert instruction["delivered_at"] > first.instructions[0]["queued_at"], (instruction, applied_at_once)
    assert lab.call(lambda: gsme.tariff.prices) == (7.5,)


def test_gsme_reads_come_from_the_ch_cache(lab: RouteLab, route: VirtualServiceRoute) -> None:
    gsme = lab.inst().gsme
    assert gsme is not None
    route.submit("6.2.8", gsme.device_id, user="supplier")  # wait for one wake: the cache fills
    result = route.submit("4.1.1", gsme.device_id, user="supplier")
    assert not result.acknowledged and result.result["source"] == "ch_cache"


def test_one_request_several_instructions_each_with_its_outcome(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    esme = lab.inst().esme.device_id
    debts = [
        {"name": "time_debt_1", "amount": 500.0, "rate": 10.0},
        {"name": "time_debt_2", "amount": -1.0, "rate": 10.0},  # the meter rejects a negative debt
        {"name": "payment_debt", "amount": 300.0, "rate": 20.0},
    ]
    result = route.submit("2.3", esme, {"debts": debts}, user="supplier")
    assert result.code == "I0"
    assert result.outcomes() == ["actioned", "failed", "actioned"]
    assert [i["number"] for i in result.instructions] == [1, 2, 3]
    assert {i["total"] for i in result.instructions} == {3}
    assert result.instructions[1]["code"] == "E11" and result.instructions[1]["reason"] == "invalid_argument"
    assert [w["code"] for w in result.warnings] == ["W1"]
    all_bad = route.submit("2.3", esme, {"debts": debts[1:2]}, user="supplier", check=False)
    assert all_bad.code == "E11"


def test_dependent_instructions_stop_at_the_first_failure(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme
    lab.call(lambda: esme.power_off())
    result = route.submit("11.1", esme.device_id, {"version": "9.9.9"}, user="supplier", check=False)
    assert result.code == "E12"
    assert result.outcomes() == ["failed"] + ["not_sent"] * 5


def test_device_future_dated_command_and_its_0x8f66(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme
    result = route.submit(
        "1.2.1",
        esme.device_id,
        {"prices": [1.0, 2.0, 3.0, 4.0]},
        user="supplier",
        future_date=later(lab, hours=1),
    )
    assert result.code == "I0" and result.outcomes() == ["scheduled"]
    assert lab.call(lambda: esme.tariff.prices) != (1.0, 2.0, 3.0, 4.0)
    (alert,) = route.wait_alerts(lambda a: a.code == "0x8F66" and a.request_id == result.request_id, 5)
    assert (alert.kind, alert.instruction, alert.total_instructions) == ("device", 1, 1)
    assert lab.call(lambda: esme.tariff.prices) == (1.0, 2.0, 3.0, 4.0)


def test_future_dated_command_that_fails_when_due_raises_0x8f67(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    esme = lab.inst().esme.device_id
    route.submit("11.1", esme, {"version": "1.4.9"}, user="supplier")
    activation = route.submit("11.3", esme, {}, user="supplier", future_date=later(lab, hours=1))
    assert activation.outcomes() == ["scheduled"]
    # a new transfer replaces the verified image before the activation is due
    route.submit("11.1", esme, {"version": "1.5.0", "image_model": "OTHER"}, user="supplier")
    (alert,) = route.wait_alerts(lambda a: a.code == "0x8F67" and a.request_id == activation.request_id, 5)
    assert alert.details["command"] == "activate_firmware"
    assert lab.call(lambda: lab.inst().esme.firmware.running) == "1.4.2"


def test_dsp_future_dated_request_is_held_by_the_route(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme
    first = route.submit(
        "3.1", esme.device_id, {"text": "later"}, user="supplier", future_date=later(lab, hours=1), wait=False
    )
    assert first.code == "I99" and not first.final
    assert lab.call(lambda: esme.last_message) is None
    final = route.wait_result(first.request_id)
    assert final.code == "I0" and lab.call(lambda: esme.last_message) == "later"


def test_firmware_without_future_dating_refuses_it(make_lab: Any) -> None:
    lab = make_lab(Rig(esme=("VESME-1P", "1.3.0")))
    route = lab.route()
    result = route.submit(
        "1.2.1",
        lab.inst().esme.device_id,
        {"prices": [1.0, 2.0, 3.0, 4.0]},
        user="supplier",
        future_date=later(lab, hours=1),
        check=False,
    )
    assert result.code == "E13" and result.instructions[0]["reason"] == "not_supported"


def test_defect_ignores_future_dating_runs_at_once(make_lab: Any) -> None:
    lab = make_lab(Rig(esme=("VESME-1P", "1.4.3-buggy")))
    route = lab.route()
    result = route.submit(
        "1.2.1",
        lab.inst().esme.device_id,
        {"prices": [1.0, 2.0, 3.0, 4.0]},
        user="supplier",
        future_date=later(lab, hours=5),
    )
    assert result.outcomes() == ["actioned"]  # the clean firmware says "scheduled" (test above)
    assert lab.call(lambda: lab.inst().esme.tariff.prices) == (1.0, 2.0, 3.0, 4.0)


def test_gsme_that_never_wakes_gives_gt01(make_lab: Any) -> None:
    lab = make_lab(Rig(defects={"gsme": ("gsme_never_wakes",)}))
    route = lab.route()
    gsme = lab.inst().gsme
    assert gsme is not None
    result = route.submit("6.2.8", gsme.device_id, user="supplier", check=False)
    assert result.acknowledged and result.code == "E12"
    assert result.instructions[0]["reason"] == "GT01"
    (alert,) = route.wait_alerts(lambda a: a.kind == "s1sp" and a.code == "HanErrorGT01", 5)
    assert alert.request_id == result.request_id and not gsme.pending


def test_defect_loses_debt_on_top_up(make_lab: Any) -> None:
    def debts_after_top_up(fw: str) -> float:
        lab = make_lab(Rig(esme=("VESME-1P", fw)))
        route = lab.route()
        esme = lab.inst().esme.device_id
        route.submit(
            "2.3", esme, {"debts": [{"name": "time_debt_1", "amount": 800.0, "rate": 1.0}]}, user="supplier"
        )
        route.submit("2.2", esme, {"utrn": make_utrn(esme, 1000, 7)}, user="supplier")
        values = route.submit("4.3", esme, user="supplier").result
        return float(values["debts"]["time_debt_1"][0])

    assert debts_after_top_up("1.4.2") == 800.0
    assert debts_after_top_up("1.4.3-buggy") == 0.0


def test_defect_rejects_valid_utrn_is_a_device_rejection(make_lab: Any) -> None:
    lab = make_lab(Rig(gsme=("VGSME-U6", "1.2.1-buggy")))
    route = lab.route()
    gsme = lab.inst().gsme
    assert gsme is not None
    result = route.submit(
        "2.2", gsme.device_id, {"utrn": make_utrn(gsme.device_id, 500, 1)}, user="supplier", check=False
    )
    assert result.acknowledged and result.code == "E11"
    assert result.instructions[0]["reason"] == "utrn_not_authentic"


def test_defect_accepts_corrupt_firmware_image(make_lab: Any) -> None:
    def verify_outcome(defects: tuple[str, ...]) -> str:
        lab = make_lab(Rig(defects={"esme": defects}))
        result = lab.route().submit(
            "11.1",
            lab.inst().esme.device_id,
            {"version": "2.0", "image_model": "OTHER"},
            user="supplier",
            check=False,
        )
        return str(result.instructions[-1]["outcome"])

    assert verify_outcome(()) == "failed"
    assert verify_outcome(("accepts_corrupt_firmware_image",)) == "actioned"


def test_device_dcc_and_s1sp_alerts_are_forwarded(lab: RouteLab, route: VirtualServiceRoute) -> None:
    inst = lab.inst()
    route.submit("7.2", inst.esme.device_id, user="supplier")
    route.submit("7.3", inst.esme.device_id, user="supplier")
    (armed,) = route.wait_alerts(lambda a: a.code == "0x8F32", 5)
    assert armed.kind == "device" and armed.device == inst.esme.device_id and armed.rig == "rig-1"
    r = route.submit("8.11", inst.ch.device_id, {"add": {"01-02-03-04-05-06-07-08": "ihd"}}, user="supplier")
    (n24,) = route.wait_alerts(lambda a: a.code == "N24", 5)
    assert n24.kind == "dcc" and n24.request_id == r.request_id
    (log_changed,) = route.wait_alerts(lambda a: a.code == "0x8F12", 5)
    assert log_changed.device == inst.ch.device_id
    lab.call(lambda: inst.esme.tamper("meter_cover"))
    (tamper,) = route.wait_alerts(lambda a: a.code == "0x8F74", 5)
    assert isinstance(tamper, RouteAlert) and tamper.at is not None


def test_dcc_schedule_runs_and_answers(lab: RouteLab, route: VirtualServiceRoute) -> None:
    esme = lab.inst().esme.device_id
    sid = route.submit(
        "5.1", esme, {"srv": "4.6.1", "start": later(lab, hours=2), "period_s": 3600}, user="supplier"
    ).result["schedule_id"]
    first = route.client.wait_response(f"{sid}#1", 5)
    second = route.client.wait_response(f"{sid}#2", 5)
    assert first["schedule_id"] == second["schedule_id"] == sid
    assert first["code"] == second["code"] == "I0"
    assert isinstance(first["result"]["reads"], list)
