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
from typing import Any

import pytest

from device_drivers.route import MISUSE, SECURITY_LOG, TAMPER, CraftedRequest, RouteAlert
from test_packs.service_reference_variant._srvt import BALANCE_TOLERANCE, SrvtRig

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
    return [
        pytest.param(
            role,
            id=role,
            marks=[
                pytest.mark.dmct_roles(role),
                pytest.mark.dmct_srv("7.2"),
                pytest.mark.dmct_group(GROUP),
                pytest.mark.dmct_requirement(*requirement),
            ],
        )
        for role in ("esme", "gsme")
    ]


@pytest.mark.parametrize("role", meters("MISUSE-UNSIGNED"))
def test_unsigned_critical_rejected(role: str, srvt: SrvtRig) -> None:
    """An unsigned Disable Supply is refused by the DCO gate (E8) and never reaches the device."""
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
    """A Disable Supply whose signature does not verify (or whose signer is unknown) is refused."""
    make, code = BAD[how]
    before, mark = _state(srvt, role), log_mark(srvt)
    answer = send_raw(srvt, make(srvt, role))
    assert answer["code"] == code, answer
    check_untouched(srvt, role, before)
    check_refusal_recorded(srvt, role, code, mark)


@pytest.mark.parametrize(
    "role",
    [
        pytest.param(
            r,
            id=r,
            marks=[
                pytest.mark.dmct_roles(r),
                pytest.mark.dmct_srv("1.5"),
                pytest.mark.dmct_group(GROUP),
                pytest.mark.dmct_requirement("MISUSE-REPLAY"),
            ],
        )
        for r in ("esme", "gsme")
    ],
)
def test_replayed_critical_rejected(role: str, srvt: SrvtRig) -> None:
    """A genuine Update Meter Balance sent again verbatim is refused (E10) and credits nothing."""
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
            marks=[
                pytest.mark.dmct_roles(r),
                pytest.mark.dmct_srv("7.2"),
                pytest.mark.dmct_group(GROUP),
                pytest.mark.dmct_requirement("MISUSE-WRONG-ROLE"),
            ],
        )
        for r, u, ur, _ in WRONG_ROLE
    ],
)
def test_wrong_user_role_rejected(role: str, user: str, user_role: str | None, srvt: SrvtRig) -> None:
    """Disable Supply from a User role not eligible for it is refused (E7) and changes nothing."""
    before, mark = _state(srvt, role), log_mark(srvt)
    srvt.rejected("E7", "7.2", role, user=user, role=user_role)
    check_untouched(srvt, role, before)
    check_refusal_recorded(srvt, role, "E7", mark)


TAMPERED = [
    # (role, how the Instruction is spoiled, requirement)
    ("esme", "signature", "MISUSE-BAD-SIGNATURE"),
    ("gsme", "signature", "MISUSE-BAD-SIGNATURE"),
    ("esme", "retired_credential", "MISUSE-OLD-CREDENTIAL"),
    ("gsme", "retired_credential", "MISUSE-OLD-CREDENTIAL"),
]


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        pytest.param(
            r,
            k,
            id=f"{r}-{k}",
            marks=[
                pytest.mark.dmct_roles(r),
                pytest.mark.dmct_srv("7.2"),
                pytest.mark.dmct_group(GROUP),
                pytest.mark.dmct_requirement(q),
            ],
        )
        for r, k, q in TAMPERED
    ],
)
def test_tampered_instruction_rejected_by_device(role: str, kind: str, srvt: SrvtRig) -> None:
    """Defence in depth: a Disable Supply whose Instruction is spoiled in transit after the DCO checks
    passed (its signature broken, or signed with the retired pre-migration credential) is refused by
    the device itself (E11), logged in its security log (0x8F3D) and changes nothing."""
    if not srvt.route.supports(TAMPER):
        pytest.skip("not applicable: this service route cannot tamper with its Instructions in transit")
    eui = srvt.eui(role)
    before = _state(srvt, role)
    srvt.route.tamper_next_instruction(eui, kind=kind)
    try:
        srvt.rejected("E11", "7.2", role)
    finally:
        srvt.route.clear_tamper(eui)  # never leave a spoiled Instruction for the next test
    check_untouched(srvt, role, before)
    srvt.expect_logged(role, TRUSTED_SOURCE_AUTH_FAILURE, security=True)


@pytest.mark.dmct_srv("6.24.1")
@pytest.mark.dmct_group(GROUP)
@pytest.mark.dmct_requirement("MISUSE-OLD-CREDENTIAL")
@pytest.mark.parametrize(
    "role", [pytest.param(r, marks=pytest.mark.dmct_roles(r)) for r in ("ch", "esme", "gsme")]
)
def test_old_smso_credential_retired(role: str, srvt: SrvtRig) -> None:
    """After migration no device trusts the old SMSO's keys: every credential role holds S1SP keys."""
    for credential_role in ("smso", "supplier", "network_operator"):
        keys = srvt.result("6.24.1", role, {"credential_role": credential_role})["keys"]
        assert keys, f"no {credential_role} credential on the {role}"
        old = [k for k in keys if not str(k["key_id"]).startswith("S1SP")]
        assert not old, f"the {role} still trusts pre-migration {credential_role} keys: {old}"
