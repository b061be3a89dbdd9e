"""The HAN displays (PPMID, IHD) of the DMC: what the CH forwards to them, and the SRVs that target them.

SMETS1 notes: a DMC is CH + ESME + GSME with an optional PPMID and IHD; the CH forwards what the meters
publish to every joined display. DUIS SRV matrix: 6.13, 6.15.1, 6.24.1 and 11.1-11.3 target "ANY
(... PPMID/IHD per GBCS)". Each test reads the display on its own screen (its ``display`` link) or
through the route, and compares with what the requirement says the display must show, computed from the
test's inputs: the text of an SRV 3.1 sent to the ESME; the ESME's balance before a top-up plus what the
top-up must credit (:func:`test_packs.oracles.prepay.top_up`); the firmware version the lab file records
and the one activated; one key version per rotation; the reference time (:mod:`test_packs.oracles.clock`).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from device_drivers.errors import LinkTimeout
from device_drivers.roles import DisplayDriver
from device_drivers.route import TAMPER
from test_packs.marks import role_param
from test_packs.oracles import clock as clock_oracle
from test_packs.oracles import prepay as prepay_oracle
from test_packs.oracles.window import Window
from test_packs.service_reference_variant._srvt import BALANCE_TOLERANCE, SrvtRig, parse_at

DISPLAYS = ("ppmid", "ihd")
TYPE = {"ppmid": "PPMID", "ihd": "IHD"}
CREDENTIALS_UPDATED = 0x8F70
FW_CHANGED = 0x8F43
FW_VERIFIED = 0x8F72
FW_VERIFY_FAILED = 0x8F1C
TRUSTED_SOURCE_AUTH_FAILURE = 0x8F3D
FUTURE_ACTIONED = 0x8F66
#: How far ahead a rotation is future-dated: device hours pass in real seconds, and the route must get the
#: request before its date.
FUTURE = timedelta(hours=4)
#: Device time a display's clock is watched for drift (the CH's clock test watches as long).
WATCH = timedelta(hours=3)


def per_display(srv: str, group: str, *requirements: str, also: tuple[str, ...] = ()) -> pytest.MarkDecorator:
    """One parameter per HAN display, marked with its roles, SRV, group and requirements."""
    return pytest.mark.parametrize(
        "role",
        [
            role_param(
                role, srv=srv, group=group, also=also,
                requirements=tuple(r.format(TYPE=TYPE[role]) for r in requirements),
            )
            for role in DISPLAYS
        ],
    )  # fmt: skip


def _screen(srvt: SrvtRig, role: str) -> DisplayDriver:
    display = srvt.request.getfixturevalue(role)
    assert isinstance(display, DisplayDriver)
    return display


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _supplier_keys(t: SrvtRig, role: str) -> list[dict[str, Any]]:
    return list(t.result("6.24.1", role, {"credential_role": "supplier"})["keys"])


def _security_codes_since(t: SrvtRig, role: str, since: datetime) -> list[int]:
    """The codes the device's security log (SRV 6.13) holds from ``since`` on (its own stamps)."""
    entries = t.result("6.13", role, {"log": "security"})["entries"]
    stamped = [(parse_at(e.get("at")), int(str(e["code"]), 16)) for e in entries]
    return [code for at, code in stamped if at is not None and at >= since]


def _alerts_since(t: SrvtRig, role: str, code: int, since: datetime, *, at_most: int) -> list[Any]:
    """The alerts ``code`` from the role's device since ``since``: the first within the route's alert
    timeout, then any further copy arriving within a second of the last, up to ``at_most + 1`` (one more
    than allowed, so a device that repeats an alert shows it). A wait takes the alerts it returns."""
    eui = t.eui(role).upper()
    want = f"0x{code:04X}"

    def match(a: Any) -> bool:
        at = parse_at(a.at)
        return a.code == want and (a.device or "").upper() == eui and at is not None and at >= since

    found: list[Any] = []
    timeout = 10.0
    while len(found) <= at_most:
        try:
            found += t.route.wait_alerts(match, timeout)
        except LinkTimeout:
            break
        timeout = 1.0
    return found


def _other_version(version: str, tag: str) -> str:
    return f"{version[: 8 - len(tag) - 1]}-{tag}"  # DUIS FirmwareVersion: 1-8 characters


# ------------------------------------------------------------------------------- display forwarding
@per_display("3.1", "Display and Customer", "SRVT-3.1-{TYPE}", also=("esme",))
def test_display_shows_what_the_ch_forwards(role: str, srvt: SrvtRig) -> None:
    """SRVT-3.1 on a HAN display: SRV 3.1 sent to the ESME goes to the meter and every joined display, so
    the display shows each new message; a UTRN top-up (SRV 2.2) is forwarded as the ESME's new balance.
    Oracle: the text sent (two, new each run: a display that keeps an older one fails), and the ESME's
    balance before the top-up (its optical port, no load flowing) plus what :func:`prepay.top_up` says
    the top-up credits given the ESME's payment debt and limits (SRV 4.3, 4.13)."""
    t = srvt
    display = _screen(t, role)
    for n in (1, 2):
        text = f"HAN {n} {uuid.uuid4().hex[:8]}"
        t.ok("3.1", "esme", {"text": text})
        shown = display.displayed_message()
        assert shown == text, f"the {role} shows {shown!r} after SRV 3.1 sent {text!r} to the ESME"
    esme = t.eui("esme").upper()
    value = 1000
    with t.esme_load(0.0):
        cfg = t.result("4.13", "esme")
        amount, rate = t.result("4.3", "esme")["debts"].get("payment_debt", (0, 0))
        before = t.balance("esme")
        want = prepay_oracle.top_up(
            value, balance=before, payment_debt=_d(amount), payment_debt_rate_pct=_d(rate),
            max_credit=_d(cfg["max_credit"]), max_balance=_d(cfg["max_balance"]),
        )  # fmt: skip
        t.ok("2.2", "esme", {"utrn": t.utrn("esme", value)})
        row = display.displayed_meters().get(esme)
    assert row is not None and row.balance_pence is not None, (
        f"the {role} shows no balance for the ESME {esme} after a top-up: {display.displayed_meters()}"
    )
    expected = before + want.credited
    assert abs(row.balance_pence - expected) <= BALANCE_TOLERANCE, (
        f"the {role} shows {row.balance_pence} p for the ESME; {before} p before a {value} p top-up "
        f"crediting {want.credited} p must show {expected} p"
    )


# ----------------------------------------------------------------------------------------- firmware
@per_display("11.3", "Firmware", "SRVT-11.1-{TYPE}", "SRVT-11.2-{TYPE}", "SRVT-11.3-{TYPE}")
def test_display_firmware_read_verified_and_activated(role: str, srvt: SrvtRig) -> None:
    """SRVT-11.1/11.2/11.3 on a HAN display: SRV 11.2 reads the version the lab file records, as its
    screen does; an image built for another model fails the display's own verification (0x8F1C) and
    never runs; another image transferred (0x8F72) and activated runs — SRV 11.2 and the screen show it,
    the display sends 0x8F43 — and the DMC's image is restored. Oracle: the lab file's version, the
    version activated and the requirement (SMETS1 firmware verification)."""
    t = srvt
    display = _screen(t, role)
    original = t.spec(role).firmware_version
    read = t.result("11.2", role)["firmware_version"]
    assert read == original, f"SRV 11.2 reads {read!r} on the {role}; the DMC's version is {original!r}"
    assert display.firmware_version() == original, "the display's screen shows another firmware version"
    since = t.route_now()
    wrong = t.submit("11.1", role, {"version": _other_version(original, "o"), "image_model": "NOT-THIS"})
    verify = wrong.instructions[-1]
    assert verify["command"].startswith("verify") and verify["outcome"] == "failed", (
        f"an image for another model passed the {role}'s verification: {wrong.code} {wrong.instructions}"
    )
    target = _other_version(original, "h")
    try:
        t.ok("11.1", role, {"version": target})
        t.ok("11.3", role)
        read = t.result("11.2", role)["firmware_version"]
        assert read == target, f"SRV 11.2 reads {read!r} while {target!r} was activated on the {role}"
        assert display.firmware_version() == target, "the display's screen does not show the new image"
        assert _alerts_since(t, role, FW_CHANGED, since, at_most=1), f"the {role} sent no 0x8F43"
        logged = _security_codes_since(t, role, since)
        for code in (FW_VERIFY_FAILED, FW_VERIFIED, FW_CHANGED):
            assert code in logged, (
                f"the {role}'s security log has no 0x{code:04X}: {[hex(c) for c in logged]}"
            )
    finally:
        if t.result("11.2", role)["firmware_version"] != original:
            t.ok("11.1", role, {"version": original})
            t.ok("11.3", role)
    assert t.result("11.2", role)["firmware_version"] == original, "could not restore the DMC's firmware"


# -------------------------------------------------------------------------------------- credentials
@per_display(
    "6.15.1", "Security Credentials", "SRVT-6.15.1-{TYPE}", "SRVT-6.24.1-{TYPE}", "MISUSE-OLD-CREDENTIAL"
)
def test_display_credentials_rotated_once_and_future_dated_held(role: str, srvt: SrvtRig) -> None:
    """SRVT-6.15.1/6.24.1 on a HAN display: every credential role holds the S1SP's keys only (none of
    the pre-migration SMSO's); a rotation raises the supplier key's version by exactly one, alerted once
    (0x8F70); a rotation future-dated ``FUTURE`` ahead is held by the display (scheduled), changes nothing
    before its date and applies after it. Oracle: the key version before each rotation and the date
    sent (the requirement: one rotation, one version, one alert; nothing before the date)."""
    t = srvt
    for credential_role in ("smso", "supplier", "network_operator"):
        keys = t.result("6.24.1", role, {"credential_role": credential_role})["keys"]
        old = [k for k in keys if not str(k["key_id"]).startswith("S1SP")]
        assert keys and not old, f"the {role} holds {credential_role} keys {keys}: not only the S1SP's"
    since = t.route_now()
    [before] = _supplier_keys(t, role)
    t.ok("6.15.1", role)
    [after] = _supplier_keys(t, role)
    assert (after["key_id"], after["version"]) == (before["key_id"], before["version"] + 1), (before, after)
    sent = _alerts_since(t, role, CREDENTIALS_UPDATED, since, at_most=1)
    assert len(sent) == 1, f"one rotation of the {role}: {len(sent)} 0x8F70 alert(s) {sent}"
    when = t.route_now() + FUTURE
    held = t.ok("6.15.1", role, future_date=when)
    assert held.outcomes() == ["scheduled"], f"the {role} did not hold it: {held.instructions}"
    [pending] = _supplier_keys(t, role)
    if t.route_now() < when:  # read before the date (a slow route may answer after it: then unchecked)
        assert pending["version"] == after["version"], f"a rotation dated {when} applied before it: {pending}"
    alert = t.alerts(FUTURE_ACTIONED, role, request_id=held.request_id)[0]
    assert (parse_at(alert.at) or when) >= when - timedelta(seconds=10), f"actioned before {when}: {alert.at}"
    [applied] = _supplier_keys(t, role)
    assert applied["version"] == after["version"] + 1, f"the rotation dated {when} never applied: {applied}"


@per_display("6.15.1", "Security Misuse", "MISUSE-BAD-SIGNATURE")
def test_display_refuses_a_tampered_instruction(role: str, srvt: SrvtRig) -> None:
    """MISUSE-BAD-SIGNATURE:
    defence in depth on a HAN display: an Update Security Credentials (SRV 6.15.1) whose Instruction
    is spoiled after the DCO's checks (signature broken) is refused by the display itself (E11), logged
    in its security log (0x8F3D, SRV 6.13) and changes nothing (its supplier key, SRV 6.24.1). Oracle:
    the requirement (a device acts only on commands from a trusted source) and the key before."""
    t = srvt
    if not t.route.supports(TAMPER):
        pytest.skip("not applicable: this service route cannot tamper with its Instructions in transit")
    eui = t.eui(role)
    keys, since = _supplier_keys(t, role), t.route_now()
    t.route.tamper_next_instruction(eui, kind="signature")
    try:
        t.rejected("E11", "6.15.1", role)
    finally:
        t.route.clear_tamper(eui)  # never leave a spoiled Instruction for the next test
    assert _supplier_keys(t, role) == keys, f"a spoiled SRV 6.15.1 changed the {role}'s supplier key"
    logged = _security_codes_since(t, role, since)
    assert TRUSTED_SOURCE_AUTH_FAILURE in logged, f"the {role}'s security log has no 0x8F3D: {logged}"


# -------------------------------------------------------------------------------------------- clock
@per_display("6.13", "Device Configuration", "SRVT-CLK-{TYPE}")
def test_display_clock_keeps_the_reference(role: str, srvt: SrvtRig) -> None:
    """SRVT-CLK-IHD / SRVT-CLK-PPMID:
    a HAN display's clock (which stamps its logs and alerts) keeps the reference time to the clock
    tolerance, now and again after ``WATCH`` of device time (a drifting clock is off by then). Oracle:
    :func:`test_packs.oracles.clock.offset` of the time its screen shows, read between two answers of
    the route (the reference)."""
    t = srvt
    display = _screen(t, role)

    def check(when: str) -> datetime:
        lo = t.route_now()
        shown = display.display.clock()
        hi = t.route_now()
        got = clock_oracle.offset(shown, Window(lo, hi))
        assert got.near(0.0), f"{when} the {role}'s clock is {got.lo:+.1f}..{got.hi:+.1f} s off the reference"
        return hi

    start = check("now")
    deadline = time.monotonic() + 60.0
    while t.route_now() < start + WATCH:
        assert time.monotonic() < deadline, f"the route's clock did not pass {WATCH} within 60 s"
        time.sleep(0.2)
    check(f"{WATCH} later")
