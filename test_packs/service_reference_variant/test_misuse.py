"""Standard DMCT SRVT, security misuse of critical SRVs (6.3 (b)): every misuse is rejected by the DCO
gate or the device, and nothing reaches or changes the device.

Unsigned, badly signed and replayed requests are crafted in the route's own message form
(:meth:`ServiceRoute.craft`: framed messages, or DUIS XML the DSP refuses with its own codes, mapped to
the route codes checked here); a route that cannot craft them (:data:`MISUSE`) makes these tests not
applicable. Wrong user roles go through the ordinary :meth:`ServiceRoute.submit`. The old
SMSO credential is shown retired on every device with SRV 6.24.1 (the S1SP checks it is rejected
during migration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from device_drivers.duis.catalogue import SRVS as DUIS_SRVS
from device_drivers.route import MISUSE, SECURITY_LOG, TAMPER, CraftedRequest, RouteAlert
from test_packs.marks import by_role, role_marks, role_param
from test_packs.service_reference_variant._srvt import BALANCE_TOLERANCE, SrvtRig, parse_at

GROUP = "Security Misuse"
TRUSTED_SOURCE_AUTH_FAILURE = 0x8F3D


def send_raw(t: SrvtRig, message: CraftedRequest) -> dict[str, Any]:
    """Send a crafted request as it is; the route's final answer."""
    return dict(t.route.send_crafted(message, timeout=10.0).responses[-1])


def crafted(
    t: SrvtRig, srv: str, role: str, params: dict[str, Any], *, misuse: str | None = None
) -> CraftedRequest:
    if not t.route.supports(MISUSE):
        pytest.skip("not applicable: this service route cannot craft misuse")
    return t.route.craft(srv, t.eui(role), params, user=t.user, misuse=misuse)


def _state(t: SrvtRig, role: str) -> tuple[str, Any]:
    """What a misused Disable Supply would change: supply state, and the device security log."""
    optical = t.optical(role)
    return optical.supply_state(), [r.code for r in optical.security_log(since=t.mark(role))]


def check_untouched(t: SrvtRig, role: str, before: tuple[str, Any]) -> None:
    state, _security = _state(t, role)
    assert state == before[0], f"a rejected Disable Supply changed the supply: {before[0]} -> {state}"
    # The route keeps working for the genuine User afterwards.
    assert t.result("7.4", role)["supply"] == state


def log_mark(t: SrvtRig) -> int | None:
    """Where the route's security log stands now (None: the route keeps no log it lets us read)."""
    if not t.route.supports(SECURITY_LOG):
        return None
    log = t.route.security_log()
    return log[-1].entry_id if log else 0


def check_refusal_recorded(t: SrvtRig, role: str, code: str, mark: int | None) -> None:
    """6.3 (b): a misuse is rejected *and* logged and alerted by the system: the route's security log
    holds the refusal of a request for this device, and the service users receive its DCC alert.
    A route that keeps no readable security log (a real S1SP: the DCC's own records are the evidence)
    leaves only the rejection to check here."""
    if mark is None:
        return
    eui = t.eui(role).upper()
    logged = [
        e for e in t.route.security_log(after=mark) if e.code == code and (e.device or "").upper() == eui
    ]
    assert logged, f"the route's security log holds no {code} refusal for the {role} {eui}"
    event = logged[-1]
    assert event.alert_code, f"the {code} refusal raised no DCC alert: {event}"

    def match(a: RouteAlert) -> bool:
        return a.kind == "dcc" and a.code == event.alert_code and a.request_id == event.request_id

    t.expect_alerts(match, f"DCC alert {event.alert_code} for the refused request {event.request_id}")


def meters(*requirement: str) -> list[Any]:
    return [role_param(r, srv="7.2", group=GROUP, requirements=requirement) for r in ("esme", "gsme")]


@pytest.mark.parametrize("role", meters("MISUSE-UNSIGNED"))
def test_unsigned_critical_rejected(role: str, srvt: SrvtRig) -> None:
    """MISUSE-UNSIGNED (6.3 (b)): an unsigned Disable Supply is refused by the DCO gate (E8), logged
    and alerted, and never reaches the device. Compared with: the requirement's code (E8), the meter's
    supply state on its optical port before and after (unchanged), and the route's security log and
    DCC alert for this request."""
    before, mark = _state(srvt, role), log_mark(srvt)
    answer = send_raw(srvt, crafted(srvt, "7.2", role, {}, misuse="unsigned"))
    assert answer["code"] == "E8", answer
    check_untouched(srvt, role, before)
    check_refusal_recorded(srvt, role, "E8", mark)


def _tampered(t: SrvtRig, role: str) -> CraftedRequest:
    return crafted(t, "7.2", role, {}, misuse="tampered")  # signed content changed after signing


def _corrupt_sig(t: SrvtRig, role: str) -> CraftedRequest:
    return crafted(t, "7.2", role, {}, misuse="corrupt_signature")


def _unknown_signer(t: SrvtRig, role: str) -> CraftedRequest:
    return crafted(t, "7.2", role, {}, misuse="unknown_signer")


BAD: dict[str, tuple[Callable[[SrvtRig, str], CraftedRequest], str]] = {
    "tampered": (_tampered, "E8"),
    "corrupt-signature": (_corrupt_sig, "E8"),
    "unknown-signer": (_unknown_signer, "E9"),
}


@pytest.mark.parametrize("how", sorted(BAD))
@pytest.mark.parametrize("role", meters("MISUSE-BAD-SIGNATURE"))
def test_badly_signed_critical_rejected(role: str, how: str, srvt: SrvtRig) -> None:
    """MISUSE-BAD-SIGNATURE (6.3 (b)): a Disable Supply whose signature does not verify (tampered
    content, corrupted signature: E8) or whose signer is unknown (E9) is refused, logged and alerted.
    Compared with: the requirement's code per kind of misuse, the meter's supply state on its optical
    port (unchanged), and the route's security log and DCC alert."""
    make, code = BAD[how]
    before, mark = _state(srvt, role), log_mark(srvt)
    answer = send_raw(srvt, make(srvt, role))
    assert answer["code"] == code, answer
    check_untouched(srvt, role, before)
    check_refusal_recorded(srvt, role, code, mark)


#: Every critical SRV (DUIS SRV matrix: critical, SMETS1-applicable) and the device types it targets.
CRITICAL_SRVS: dict[str, tuple[str, ...]] = {
    "1.1.1": ("esme", "gsme"),
    "1.2.1": ("esme", "gsme"),
    "1.5": ("esme", "gsme"),
    "1.6": ("esme", "gsme"),
    "2.1": ("esme", "gsme"),
    "2.3": ("esme", "gsme"),
    "2.5": ("esme", "gsme"),
    "6.4.1": ("esme",),
    "6.8": ("esme", "gsme"),
    "6.11": ("esme", "gsme"),
    "6.15.1": ("ch", "esme", "gsme"),
    "6.25": ("esme",),
    "7.1": ("esme",),
    "7.2": ("esme", "gsme"),
    "7.3": ("esme", "gsme"),
    "11.3": ("ch", "esme", "gsme"),
}


#: What the sweep's request of an SRV carries where the SRV is not sent empty: a real request, which
#: every route can build (DUIS needs the SRV's fields: a request without them is never sent), whose
#: signature alone is spoiled. A one-rate tariff and one price (what a gas tariff in DUIS holds too),
#: a calendar in each fuel's form (an ESME's is a billing time and period: docs/protocols/duis.md).
SWEEP_PARAMS: dict[str, dict[str, Any]] = {
    "1.1.1": {
        "rates": 1,
        "prices": [20.0],
        "standing_charge": 50.0,
        "switches": [{"at": "00:00:00", "rate": 1}],
    },
    "1.2.1": {"prices": [20.0], "standing_charge": 50.0},
    "1.5": {"delta": 100.0},
    "1.6": {"mode": "prepayment"},
    "2.3": {
        "debts": [
            {"name": n, "amount": 0.0, "rate": 0.0} for n in ("time_debt_1", "time_debt_2", "payment_debt")
        ]
    },
    "6.4.1": {"threshold_w": 5000.0, "period_s": 60.0, "restoration_s": 60.0},
    "6.25": {"state": "unchanged"},
}
SWEEP_CALENDAR: dict[str, dict[str, Any]] = {
    "esme": {"billing_time": "00:00:00", "period": "monthly", "day": 28},
    "gsme": {"start": "2030-01-28T00:00:00+00:00", "period": "monthly"},
}


def sweep_params(srv: str, role: str) -> dict[str, Any]:
    return SWEEP_CALENDAR[role] if srv == "6.8" else SWEEP_PARAMS.get(srv, {})


@pytest.mark.dmct_group(GROUP)
@pytest.mark.dmct_requirement("MISUSE-UNSIGNED", "MISUSE-BAD-SIGNATURE")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme"))
def test_every_critical_srv_signature_checked(role: str, srvt: SrvtRig) -> None:
    """MISUSE-UNSIGNED, MISUSE-BAD-SIGNATURE, 6.3 (b) over the set it covers: *every* critical SRV the
    device type takes (``CRITICAL_SRVS``, the DUIS matrix's critical flag cross-checked with the route
    drivers' catalogue), sent unsigned and
    with a corrupted signature, is refused by the DCO gate (E8) and the refusal is logged and alerted -
    not only the one representative (Disable Supply) the other misuse tests use. The route answers the
    genuine User afterwards (a read of the device). Compared with: the DUIS SRV matrix's critical set
    (the list must equal it) and the requirement's code, security log entry and DCC alert per request."""
    duis_critical = {s for s, e in DUIS_SRVS.items() if e.critical and e.smets1}
    assert set(CRITICAL_SRVS) == duis_critical, "critical SRV list is stale"
    refused: list[str] = []
    for srv in sorted(s for s, roles in CRITICAL_SRVS.items() if role in roles):
        for how, make in (("unsigned", _unsigned_for), ("corrupt-signature", _corrupt_for)):
            mark = log_mark(srvt)
            answer = send_raw(srvt, make(srvt, srv, role))
            assert answer["code"] == "E8", f"SRV {srv} {how} to the {role}: {answer}"
            check_refusal_recorded(srvt, role, "E8", mark)
            refused.append(f"{srv}/{how}")
    assert refused, f"no critical SRV targets the {role}"
    srvt.result("11.2", role)  # the genuine User is still served


def _unsigned_for(t: SrvtRig, srv: str, role: str) -> CraftedRequest:
    return crafted(t, srv, role, sweep_params(srv, role), misuse="unsigned")


def _corrupt_for(t: SrvtRig, srv: str, role: str) -> CraftedRequest:
    return crafted(t, srv, role, sweep_params(srv, role), misuse="corrupt_signature")


@pytest.mark.parametrize(
    "role",
    [role_param(r, srv="1.5", group=GROUP, requirements=("MISUSE-REPLAY",)) for r in ("esme", "gsme")],
)
def test_replayed_critical_rejected(role: str, srvt: SrvtRig) -> None:
    """MISUSE-REPLAY (6.3 (b)): a genuine Update Meter Balance sent again verbatim is refused (E10),
    logged and alerted, and credits nothing. Compared with: oracle :mod:`test_packs.oracles.prepay`
    terms — the balance on the meter's optical port rises by the 300 p sent once (within the
    tolerance), and not again for the replay."""
    b0 = srvt.balance(role)
    for _ in range(5):  # another worker signing as the same User may take the counter first (E10)
        message = crafted(srvt, "1.5", role, {"delta": 300.0})
        first = send_raw(srvt, message)
        if first["code"] != "E10":
            break
    assert first["code"] == "I0", first
    b1 = srvt.balance(role)
    assert b0 + 300 - BALANCE_TOLERANCE <= b1 <= b0 + 301, f"the genuine request did not credit: {b0} -> {b1}"
    mark = log_mark(srvt)
    replay = send_raw(srvt, message)
    assert replay["code"] == "E10", replay
    check_refusal_recorded(srvt, role, "E10", mark)
    b2 = srvt.balance(role)
    assert b2 <= b1 + 1, f"the replay credited the meter again: {b1} -> {b2}"


#: Critical SRVs a genuine request can be sent with at any point of the pack and changes nothing that
#: lasts (a synchronisation, enabling an enabled supply, a key rotation the route follows), per role:
#: the replay sweep sends each once genuinely and then verbatim again.
REPLAYABLE: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "ch": (("6.15.1", {}),),
    "esme": (("6.11", {}), ("7.1", {}), ("6.15.1", {})),
    "gsme": (("6.11", {}), ("6.15.1", {})),
}


@pytest.mark.dmct_group(GROUP)
@pytest.mark.dmct_requirement("MISUSE-REPLAY")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme"))
def test_every_device_type_replay_refused(role: str, srvt: SrvtRig) -> None:
    """MISUSE-REPLAY, 6.3 (b) beyond the one representative (Update Meter Balance): on every device
    type, critical SRVs of ``REPLAYABLE`` sent genuinely and then again verbatim are refused the second
    time by the DCO gate (E10), logged and alerted. Compared with: the requirement's code (I0 for the
    genuine request, E10 for its replay) and the route's security log entry and DCC alert."""
    t = srvt
    if role == "esme":
        t.restore_supply("esme")  # 7.1 then changes nothing
    for srv, params in REPLAYABLE[role]:
        for _ in range(5):  # another worker signing as the same User may take the counter first (E10)
            message = crafted(t, srv, role, params)
            first = send_raw(t, message)
            if first["code"] != "E10":
                break
        assert first["code"] == "I0", f"the genuine SRV {srv} to the {role}: {first}"
        mark = log_mark(t)
        replay = send_raw(t, message)
        assert replay["code"] == "E10", f"the replayed SRV {srv} to the {role}: {replay}"
        check_refusal_recorded(t, role, "E10", mark)


WRONG_ROLE = [
    # (role, user, user role or None, why)
    ("esme", "network_operator", None, "a network operator may not disable supply"),
    ("gsme", "gas_transporter", None, "a gas transporter may not disable supply"),
    ("esme", "supplier", "GS", "a gas supplier role acts on gas meters only"),
]


@pytest.mark.parametrize(
    ("role", "user", "user_role"),
    [
        pytest.param(
            r,
            u,
            ur,
            id=f"{r}-{u}{'-' + ur if ur else ''}",
            marks=role_marks(r, srv="7.2", group=GROUP, requirements=("MISUSE-WRONG-ROLE",)),
        )
        for r, u, ur, _ in WRONG_ROLE
    ],
)
def test_wrong_user_role_rejected(role: str, user: str, user_role: str | None, srvt: SrvtRig) -> None:
    """MISUSE-WRONG-ROLE (6.3 (b); DUIS SRV matrix: who may send 7.2): Disable Supply from a User role
    not eligible for it is refused (E7), logged and alerted, and changes nothing. Compared with: the
    matrix's eligible roles (the requirement) and the meter's supply state on its optical port."""
    before, mark = _state(srvt, role), log_mark(srvt)
    srvt.rejected("E7", "7.2", role, user=user, role=user_role)
    check_untouched(srvt, role, before)
    check_refusal_recorded(srvt, role, "E7", mark)


TAMPERED = [
    # (role, how the Instruction is spoiled, requirement)
    ("ch", "signature", "MISUSE-BAD-SIGNATURE"),
    ("esme", "signature", "MISUSE-BAD-SIGNATURE"),
    ("gsme", "signature", "MISUSE-BAD-SIGNATURE"),
    ("esme", "retired_credential", "MISUSE-OLD-CREDENTIAL"),
    ("gsme", "retired_credential", "MISUSE-OLD-CREDENTIAL"),
]
#: The critical SRV each device type is sent spoiled: Disable Supply to a meter; the CH has no supply, so
#: Update Security Credentials (KRP), whose effect (the supplier key's version) SRV 6.24.1 reads back.
SPOILED_SRV = {"ch": "6.15.1", "esme": "7.2", "gsme": "7.2"}


def _ch_keys(t: SrvtRig) -> list[tuple[str, int]]:
    keys = t.result("6.24.1", "ch", {"credential_role": "supplier"})["keys"]
    return sorted((str(k["key_id"]), int(k["version"])) for k in keys)


def _ch_security_codes_since(t: SrvtRig, since: datetime) -> list[int]:
    entries = t.result("6.13", "ch", {"log": "security"})["entries"]
    stamped = [(parse_at(e.get("at")), int(str(e["code"]), 16)) for e in entries]
    return [code for at, code in stamped if at is not None and at >= since]


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        pytest.param(
            r,
            k,
            id=f"{r}-{k}",
            marks=role_marks(r, srv=SPOILED_SRV[r], group=GROUP, requirements=(q,)),
        )
        for r, k, q in TAMPERED
    ],
)
def test_tampered_instruction_rejected_by_device(role: str, kind: str, srvt: SrvtRig) -> None:
    """MISUSE-BAD-SIGNATURE / MISUSE-OLD-CREDENTIAL, defence in depth, on every device type: a critical
    SRV (``SPOILED_SRV``: Disable Supply to a meter, Update Security Credentials to the CH) whose
    Instruction is spoiled in transit after the DCO checks passed (its signature broken, or signed with
    the retired pre-migration credential) is refused by the device itself (E11), logged in its security
    log (0x8F3D; the CH's read with SRV 6.13) and changes nothing. Compared with: the device's own
    state - the meter's supply on its optical port, the CH's supplier key (SRV 6.24.1) - before and
    after, and its security log."""
    if not srvt.route.supports(TAMPER):
        pytest.skip("not applicable: this service route cannot tamper with its Instructions in transit")
    eui, srv = srvt.eui(role), SPOILED_SRV[role]
    if role == "ch":
        keys, since = _ch_keys(srvt), srvt.route_now()
    else:
        before = _state(srvt, role)
    srvt.route.tamper_next_instruction(eui, kind=kind)
    try:
        srvt.rejected("E11", srv, role)
    finally:
        srvt.route.clear_tamper(eui)  # never leave a spoiled Instruction for the next test
    if role == "ch":
        assert _ch_keys(srvt) == keys, f"a spoiled SRV {srv} changed the CH's supplier key: {keys}"
        logged = _ch_security_codes_since(srvt, since)
        assert TRUSTED_SOURCE_AUTH_FAILURE in logged, f"the CH's security log has no 0x8F3D: {logged}"
        return
    check_untouched(srvt, role, before)
    srvt.expect_logged(role, TRUSTED_SOURCE_AUTH_FAILURE, security=True)


@pytest.mark.dmct_srv("6.24.1")
@pytest.mark.dmct_group(GROUP)
@pytest.mark.dmct_requirement("MISUSE-OLD-CREDENTIAL")
@pytest.mark.parametrize("role", by_role("ch", "esme", "gsme"))
def test_old_smso_credential_retired(role: str, srvt: SrvtRig) -> None:
    """MISUSE-OLD-CREDENTIAL: after migration no device trusts the old SMSO's keys: every credential
    role (SMSO, supplier, network operator) holds S1SP keys only. Compared with: the requirement (the
    old SMSO loses access) — key ids must be the S1SP's, on every device."""
    for credential_role in ("smso", "supplier", "network_operator"):
        keys = srvt.result("6.24.1", role, {"credential_role": credential_role})["keys"]
        assert keys, f"no {credential_role} credential on the {role}"
        old = [k for k in keys if not str(k["key_id"]).startswith("S1SP")]
        assert not old, f"the {role} still trusts pre-migration {credential_role} keys: {old}"
