"""Standard DMCT SRVT sweeps: the DCO's role check and the S1SP's device-status check over every
critical SRV, not one representative (issue 14, item 3).

Which SRVs and which refusals come from data, not from a hand list: the critical SMETS1 SRVs the packs
use are those the DUIS catalogue (``device_drivers.duis.catalogue``) marks critical and SMETS1-applicable,
cross-checked with the DUIS SRV matrix (``specifications/duis_srv_matrix.yaml``); the device types each
targets, the User roles eligible to send it and the fuel of each role come from that matrix. The virtual
S1SP's own catalogue is the product's configuration and is never read here: a route that has a role
wrong in its table must fail these tests, not agree with them.

A refusal alone proves little: every request sent here carries valid parameters that *would* change the
device (``ACTIONS``), and the device is read before and after on its own optical port (supply, payment
mode, balance and emergency credit, firmware, the ESME's supply tamper state) and, for the devices that
answer at once (ESME, CH), with the read SRV the change would show in. A GSME takes commands only at its
next wake, so a request the route wrongly let through is answered I99 (queued) instead of the refusal and
fails on the code; its own port is still read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

import specifications
from device_drivers.duis.catalogue import SRVS as DUIS_SRVS
from device_drivers.errors import DeviceError
from device_drivers.route import DCC_INVENTORY, RouteCannotExpress, RouteError
from test_packs.marks import role_marks
from test_packs.service_reference_variant._cases import srv_key
from test_packs.service_reference_variant._srvt import BALANCE_TOLERANCE, SrvtRig
from test_packs.service_reference_variant.test_misuse import check_refusal_recorded, log_mark

#: The DUIS SRV matrix (a published specification, data shared with the simulator's side).
MATRIX: dict[str, Any] = specifications.load("duis_srv_matrix")
#: Pack roles -> the matrix's device types.
DEVICE_TYPE = {"ch": "CHF", "esme": "ESME", "gsme": "GSME"}
#: The lab's test Users and the roles their certificates carry (docs/protocols/service-route.md,
#: section 5; the DUIS lab gives its Users the same names and roles).
USERS: dict[str, tuple[str, ...]] = {
    "supplier": ("IS", "GS"),
    "network_operator": ("ED",),
    "gas_transporter": ("GT",),
}
#: Inventory statuses that take no SRVs (docs/protocols/service-route.md, E14: "device not
#: Commissioned") and from which SRV 8.4 may take a device back to Commissioned, most usual first. Which
#: of them a route can set is its own rule (DUIS's 8.4 has no Suspended; the inventory allows some
#: changes only): the sweep uses the first this route takes (:func:`suspend`).
NOT_SERVING = ("Suspended", "InstalledNotCommissioned")
#: Statuses this session's route could not set (found once, then not asked again).
_UNSETTABLE: dict[str, str] = {}


def critical_srvs() -> dict[str, tuple[str, ...]]:
    """Every critical SMETS1 SRV the packs send (the DUIS catalogue) -> the pack roles it targets (the
    DUIS matrix's target device types)."""
    out: dict[str, tuple[str, ...]] = {}
    for srv in sorted((s for s, e in DUIS_SRVS.items() if e.critical and e.smets1), key=srv_key):
        targets = MATRIX["srvs"].get(srv, {}).get("targets", ())
        out[srv] = tuple(r for r, dtype in DEVICE_TYPE.items() if dtype in targets)
    return out


def may_act(srv: str, user_role: str, role: str) -> bool:
    """Whether the matrix lets ``user_role`` send ``srv`` to the pack role's device: the role is
    eligible for the SRV and the device is of its fuel (or shared: hub and HAN displays)."""
    dtype = DEVICE_TYPE[role]
    fuel_ok = dtype in MATRIX["shared_device_types"] or MATRIX["role_fuel"].get(user_role) == dtype
    return user_role in MATRIX["srvs"][srv]["roles"] and fuel_ok


def wrong_senders(srv: str, role: str) -> list[tuple[str, str]]:
    """(User, role) pairs of the lab's Users the matrix does not allow to send ``srv`` to this device."""
    return [(u, r) for u, roles in USERS.items() for r in roles if not may_act(srv, r, role)]


# -- what each SRV would change, and where that shows ---------------------------------------------------
Params = Callable[[SrvtRig, str], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """A valid request of one critical SRV that would change the device, and where the change shows."""

    params: Params
    #: Route reads of the device (ESME, CH: answered at once) whose answer the SRV would change.
    reads: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: Put the device where the SRV would change it (a supply the SRV would enable or arm is disabled).
    prepare: Callable[[SrvtRig, str], None] | None = None


def _none(t: SrvtRig, role: str) -> dict[str, Any]:
    return {}


def _tariff(t: SrvtRig, role: str) -> dict[str, Any]:
    return {"rates": 2, "prices": [41.17, 43.19], "standing_charge": 77.0}


def _prices(t: SrvtRig, role: str) -> dict[str, Any]:
    rates = int(t.result("4.11.1", role)["rates"]) if role == "esme" else 4
    return {"prices": [41.17 + n for n in range(rates)], "standing_charge": 77.0}  # DUIS needs both


def _mode(t: SrvtRig, role: str) -> dict[str, Any]:
    return {"mode": "credit" if t.optical(role).payment_mode() == "prepayment" else "prepayment"}


def _prepay(t: SrvtRig, role: str) -> dict[str, Any]:
    return {"low_credit_threshold": 271.0, "max_credit": 9_111.0}


def _debt(t: SrvtRig, role: str) -> dict[str, Any]:
    return {"debts": [{"name": "time_debt_2", "amount": 777.0, "rate": 13.0}]}


def _tamper(t: SrvtRig, role: str) -> dict[str, Any]:
    return {"state": "unchanged" if t.optical(role).supply_tamper_state() == "locked" else "locked"}


def _disable_first(t: SrvtRig, role: str) -> None:
    """Enable and Arm Supply change a disabled supply: disable the ESME's (genuinely) first. Not the
    GSME's: its Disable Supply waits for its wake, and a 7.3 the route wrongly passes to it is answered
    only at that wake, not with the refusal, so the code already fails it."""
    if role == "esme" and t.optical(role).supply_state() != "disabled":
        t.ok("7.2", role)


#: A billing calendar each meter does not hold, in the form a DCC User sends it (SRV 6.8: the ESME's a
#: time of day and periodicity, the GSME's a start and periodicity), so both routes can say it.
CALENDAR: dict[str, dict[str, Any]] = {
    "esme": {"billing_time": "03:17:00", "period": "weekly", "day": 3},
    "gsme": {"start": "2098-03-01T00:00:00+00:00", "period": "weekly"},
}


ACTIONS: dict[str, Action] = {
    "1.1.1": Action(_tariff, reads=(("4.11.1", {}),)),
    "1.2.1": Action(_prices, reads=(("4.11.1", {}),)),
    "1.5": Action(lambda t, r: {"delta": 5000.0}),
    "1.6": Action(_mode),
    "2.1": Action(_prepay, reads=(("4.13", {}),)),
    "2.3": Action(_debt, reads=(("4.3", {}),)),
    "2.5": Action(_none),
    "6.4.1": Action(lambda t, r: {"threshold_w": 4321.0, "period_s": 60.0}),
    "6.8": Action(lambda t, r: CALENDAR[r]),
    "6.11": Action(_none),
    "6.15.1": Action(_none, reads=(("6.24.1", {"credential_role": "supplier"}),)),
    "6.25": Action(_tamper),
    "7.1": Action(_none, prepare=_disable_first),
    "7.2": Action(_none),
    "7.3": Action(_none, prepare=_disable_first),
    "11.3": Action(_none, reads=(("11.2", {}),)),
}


#: The SRVs that change the meter balance or the emergency credit directly.
CREDIT_SRVS = frozenset({"1.5", "2.5"})


def fingerprint(t: SrvtRig, role: str, srv: str) -> dict[str, Any]:
    """What the device shows that ``srv`` would change: its own optical port (meters: supply, payment
    mode, firmware, the ESME's supply tamper state, and balance and emergency credit for the credit
    SRVs) and the route reads of ``ACTIONS`` on the devices that answer them at once (not the sleeping
    GSME)."""
    seen: dict[str, Any] = {}
    if role in ("esme", "gsme"):
        optical = t.optical(role)
        balance = optical.balance()
        seen |= {
            "supply": optical.supply_state(),
            "payment_mode": balance.payment_mode,
            "firmware": optical.firmware_version(),
        }
        if srv in CREDIT_SRVS:  # elsewhere energy, gas and standing charges move it between the reads
            seen |= {"balance": balance.balance_pence, "emergency_credit": balance.emergency_credit_pence}
        if role == "esme":
            seen["supply_tamper_state"] = optical.supply_tamper_state()
    if role != "gsme":
        for read, params in ACTIONS[srv].reads:
            data = dict(t.result(read, role, params))
            if read == "4.3":  # what SRV 2.3 sets; balance and credit move with time and energy
                data = {"debts": data.get("debts")}
            seen[f"SRV {read}"] = data
    return seen


def unchanged(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    """The device shows what it showed before. Balance and emergency credit: not raised (only a credit
    raises them; the energy, gas and standing charges of the seconds between the reads lower them, by
    more on a slower route, so a fall says nothing about the request); everything else exactly."""
    for key, value in before.items():
        now = after.get(key)
        if isinstance(value, Decimal) and isinstance(now, Decimal):
            assert now - value <= BALANCE_TOLERANCE, f"{what} raised the {key}: {value} -> {now}"
        else:
            assert now == value, f"{what} changed the {key}: {value} -> {now}"


def _restore(t: SrvtRig, role: str, before: dict[str, Any]) -> None:
    """Bring the supply back (7.1 and 7.3 disabled it first) and put back what a wrongly actioned
    request (a product failure, already reported) changed, for the tests after; best effort."""
    if role not in ("esme", "gsme"):
        return
    with contextlib.suppress(AssertionError, DeviceError):
        optical = t.optical(role)
        if role == "esme" and optical.supply_tamper_state() != before["supply_tamper_state"]:
            t.ok("6.25", role, {"state": before["supply_tamper_state"]})
        if optical.payment_mode() != before["payment_mode"]:
            t.ok("1.6", role, {"mode": before["payment_mode"]})
        t.restore_supply(role)


CRITICAL = critical_srvs()


def _params(group: str, requirement: str, *, wrong_role: bool = False) -> list[Any]:
    """One parameter per critical SRV and device type it targets (for the role sweep: those a lab User
    holds a role the matrix refuses for), each with its marks."""
    return [
        pytest.param(
            srv,
            role,
            id=f"{srv}-{role}",
            marks=role_marks(role, srv=srv, group=group, requirements=(requirement,)),
        )
        for srv, roles in CRITICAL.items()
        for role in roles
        if not wrong_role or wrong_senders(srv, role)
    ]


def suspend(t: SrvtRig, role: str) -> tuple[str, bool]:
    """Put the device in the first status of ``NOT_SERVING`` this route can set with SRV 8.4 (a User's
    own means); where it can set none (it cannot say them, or refuses the change: E14, or E6 from DUIS's
    E20), have the DCC suspend it (:data:`DCC_INVENTORY`, as the DCC does when a model leaves the CPL).
    A route offering neither makes the sweep not applicable (SRVT-8.4 checks 8.4 itself). Returns the
    status set and whether the DCC set it (then the DCC reinstates the device, :func:`reinstate`)."""
    for status in NOT_SERVING:
        if status in _UNSETTABLE:
            continue
        try:
            result = t.submit("8.4", role, {"status": status})
        except RouteCannotExpress as exc:
            _UNSETTABLE[status] = str(exc)
            continue
        except RouteError as exc:
            if exc.code not in ("E6", "E14"):  # E6: DUIS answers a refused status change E20
                raise
            _UNSETTABLE[status] = str(exc)
            continue
        assert result.code == "I0" and (result.result or {}).get("status") == status, result.result
        return status, False
    if not t.route.supports(DCC_INVENTORY):
        raise RouteCannotExpress(
            f"SRV 8.4 sets no status that takes no SRVs, nor can the DCC be asked: {_UNSETTABLE}"
        )
    assert t.route.set_dcc_status(t.eui(role), "Suspended") == "Suspended"
    return "Suspended", True


def reinstate(t: SrvtRig, role: str, *, by_dcc: bool) -> None:
    """The device Commissioned again, by whoever took it out of service (:func:`suspend`)."""
    if by_dcc:
        assert t.route.set_dcc_status(t.eui(role), "Commissioned") == "Commissioned"
    else:
        assert t.result("8.4", role, {"status": "Commissioned"})["status"] == "Commissioned"
    assert t.result("8.2", role)["status"] == "Commissioned", f"the {role} is not Commissioned again"


def _action(srv: str) -> Action:
    assert MATRIX["srvs"][srv]["critical"], f"SRV {srv}: critical in the DUIS catalogue, not in the matrix"
    action = ACTIONS.get(srv)
    assert action is not None, f"critical SRV {srv} has no request in ACTIONS: the sweep would skip it"
    return action


@pytest.mark.parametrize(("srv", "role"), _params("Security Misuse", "MISUSE-WRONG-ROLE", wrong_role=True))
def test_role_sweep(srv: str, role: str, srvt: SrvtRig) -> None:
    """MISUSE-WRONG-ROLE:
    6.3 (b) and the DUIS SRV matrix over every critical SRV: a request from each role of the lab's
    Users the matrix does not allow for this SRV and device type (a role not eligible for the SRV, or a
    supplier or network role of the other fuel) is refused by the DCO with E7 (service-route.md,
    section 4), logged and alerted (N42), and not actioned. Oracle: the matrix's eligible roles and
    role fuels (not the route's own table); the device's optical port and its read SRV, before and
    after, show nothing changed."""
    t, action = srvt, _action(srv)
    senders = wrong_senders(srv, role)
    if action.prepare is not None:
        action.prepare(t, role)
    before = fingerprint(t, role, srv)
    try:
        params = action.params(t, role)
        sent, unsaid = [], []
        for user, user_role in senders:
            mark = log_mark(t)
            try:
                t.rejected("E7", srv, role, params, user=user, role=user_role)
            except RouteCannotExpress as exc:  # e.g. DUIS names no role: a supplier acts in its fuel's
                unsaid.append(f"{user}/{user_role}: {exc}")
                continue
            check_refusal_recorded(t, role, "E7", mark)
            sent.append(f"{user}/{user_role}")
        if not sent:
            raise RouteCannotExpress(f"SRV {srv} to the {role} from no refused role: {'; '.join(unsaid)}")
        unchanged(before, fingerprint(t, role, srv), f"SRV {srv} from a role the matrix does not allow")
    finally:
        _restore(t, role, before)


@pytest.mark.parametrize(("srv", "role"), _params("Negative", "SRVT-NEG-DEVICE-STATUS"))
def test_status_sweep(srv: str, role: str, srvt: SrvtRig) -> None:
    """SRVT-NEG-DEVICE-STATUS:
    the S1SP's device-status check over every critical SRV: to a device SRV 8.4 (or, where the route's
    8.4 cannot, the DCC) has made Suspended (or another status that takes no SRVs, :func:`suspend`), a
    request from an eligible User
    (the supplier) with valid parameters is refused with E14 (service-route.md, section 5: only a
    Commissioned device takes SRVs) and not actioned; the device is Commissioned again afterwards.
    Oracle: the inventory status the test set (read back with SRV 8.2); the device's optical port and
    its read SRV, before and after."""
    t, action = srvt, _action(srv)
    if action.prepare is not None:
        action.prepare(t, role)
    before = fingerprint(t, role, srv)
    try:
        params = action.params(t, role)
        status, by_dcc = suspend(t, role)
        try:
            assert t.result("8.2", role)["status"] == status, f"the {role} was not made {status}"
            t.rejected("E14", srv, role, params)
        finally:
            reinstate(t, role, by_dcc=by_dcc)
        unchanged(before, fingerprint(t, role, srv), f"SRV {srv} to a {status} device")
    finally:
        _restore(t, role, before)
