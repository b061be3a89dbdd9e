"""What every SRVT test uses: one rig's devices through the route and through their own ports.

:class:`SrvtRig` sends SRVs to a device of the rig by role (its Device ID comes from the lab file's
``eui64``), reads the same device independently (optical port DLMS, lab instruments), waits for the
alerts a request must raise, and keeps what a test changed so it can be put back.

Nothing here imports ``labs``: the pack runs unchanged against real hardware behind a real route.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from device_drivers.errors import LinkTimeout
from device_drivers.protocols.meter_optical import MeterOptical
from device_drivers.protocols.modbus import Instruments
from device_drivers.route import RouteAlert, RouteError, ServiceRoute, SrvResult
from device_drivers.utrn import UtrnSource
from harness.lab.inventory import RigSpec

#: Pack roles → the TTM's device-type suffix of ``SRVT-<srv>-<TYPE>``.
#: ``inventory`` is the pseudo-role of the non-device SRVs on the S1SP inventory (8.2-8.4).
ROLE_TYPE = {
    "esme": "ESME",
    "gsme": "GSME",
    "ch": "CH",
    "ppmid": "PPMID",
    "ihd": "IHD",
    "inventory": "INVENTORY",
}
METERS = ("esme", "gsme")
#: How long an alert may take to reach the User (a GSME answers at its next wake).
ALERT_TIMEOUT_S = 10.0
#: Rounding of the optical registers (Wh → kWh) and of route results.
KWH_TOLERANCE = Decimal("0.002")
#: A standing charge (p/day) may be taken at a device midnight between two balance reads.
BALANCE_TOLERANCE = Decimal("60")


def parse_at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def code_of(value: int | str) -> str:
    """GBCS alert code as the route writes it: ``0x8F66``."""
    return value if isinstance(value, str) else f"0x{value:04X}"


def fresh_sequence() -> int:
    """A UTRN sequence number unlikely to repeat within the meter's memory of the last 100."""
    return (time.time_ns() // 1_000_000) % 10_000


@dataclass
class SrvtRig:
    """One test's view of its rig: route, device ids, optical ports and instruments."""

    rig: RigSpec
    route: ServiceRoute
    request: pytest.FixtureRequest
    user: str = "supplier"
    started: dict[str, datetime] = field(default_factory=dict)  # role -> device clock at first use

    # -- prepayment -----------------------------------------------------------------------------------
    def utrn(self, role: str, amount_pence: int) -> str:
        """A fresh UTRN worth ``amount_pence`` for the role's meter, from the lab's UTRN source."""
        source: UtrnSource = self.request.getfixturevalue("utrn_source")
        return source.mint(self.eui(role).upper(), amount_pence, fresh_sequence())

    # -- devices -----------------------------------------------------------------------------------
    def eui(self, role: str) -> str:
        device = self.rig.device(role)  # type: ignore[arg-type]
        if device is None or not device.eui64:
            pytest.skip(f"not applicable: rig {self.rig.id} names no {role} Device ID (eui64)")
        return device.eui64

    def spec(self, role: str) -> Any:
        return self.rig.device(role)  # type: ignore[arg-type]

    def optical(self, role: str) -> MeterOptical:
        """The meter's optical port (DLMS/COSEM): the independent path to what it holds."""
        driver = self.request.getfixturevalue(role)
        optical: MeterOptical = driver.optical
        return optical

    @property
    def instruments(self) -> Instruments:
        bank: Instruments = self.request.getfixturevalue("instruments")
        return bank

    def mark(self, role: str) -> datetime:
        """Remember the meter's clock now: logs and alerts after it belong to this test."""
        if role not in self.started:
            self.started[role] = self.optical(role).clock() - timedelta(seconds=1)
        return self.started[role]

    # -- route -------------------------------------------------------------------------------------
    def submit(self, srv: str, target: str, params: dict[str, Any] | None = None, **kw: Any) -> SrvResult:
        """SRV ``srv`` to the rig's ``target`` device (a role); ``kw`` as :meth:`ServiceRoute.submit`
        (``user``, ``role`` — the User's role —, ``future_date`` ...)."""
        kw.setdefault("user", self.user)
        return submit_retrying(self.route, srv, self.eui(target), params or {}, **kw)

    def ok(self, srv: str, target: str, params: dict[str, Any] | None = None, **kw: Any) -> SrvResult:
        """Submit and require I0 with every Instruction actioned (or scheduled, when future-dated)."""
        role = target
        result = self.submit(srv, target, params, **kw)
        assert result.code == "I0", f"SRV {srv} to the {role}: {result.code} {result.text}"
        bad = [o for o in result.outcomes() if o not in ("actioned", "scheduled")]
        assert not bad, f"SRV {srv} to the {role}: instructions {result.instructions}"
        return result

    def rejected(
        self, code: str, srv: str, target: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> str:
        """Submit and require the route to answer ``code``; returns the route's text."""
        role = target
        try:
            result = self.submit(srv, target, params, **kw)
        except RouteError as exc:
            assert exc.code == code, f"SRV {srv} to the {role}: expected {code}, got {exc.code} {exc}"
            return str(exc)
        raise AssertionError(f"SRV {srv} to the {role}: expected {code}, got {result.code} {result.result}")

    def result(self, srv: str, role: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self.ok(srv, role, params).result
        assert isinstance(data, dict), f"SRV {srv} to the {role} returned no result: {data!r}"
        return data

    def route_now(self) -> datetime:
        """The route's clock (the reference time): the timestamp of a fresh answer from the DCC."""
        answer = self.submit("8.2", "ch" if self.rig.device("ch") else "esme")
        at = parse_at(answer.responses[-1].get("at"))
        assert at is not None, "the route's answer carries no time"
        return at

    def future(self, lead: timedelta) -> datetime:
        """An execution date ``lead`` ahead of the route's clock, or further where the route is slow: at
        least five times the device time one 8.2 round trip just took, so a future-dated request reaches
        the DSP and the device before its date on a loaded machine or a slow route (over DUIS at clock
        rate 3600, 2 h is 2 real seconds, and a DSP answers E20 to a date gone by)."""
        first = self.route_now()
        now = self.route_now()
        return now + max(lead, 5 * (now - first))

    def alerts(
        self, code: int | str, role: str, *, since: datetime | None = None, request_id: str | None = None,
        count: int = 1, timeout: float = ALERT_TIMEOUT_S,
    ) -> list[RouteAlert]:  # fmt: skip
        """Device alerts ``code`` from the role's device, raised at or after ``since`` (device clock)."""
        want, eui = code_of(code), self.eui(role).upper()

        def match(a: RouteAlert) -> bool:
            if a.code != want or (a.device or "").upper() != eui:
                return False
            if request_id is not None and a.request_id != request_id:
                return False
            if since is not None:
                at = parse_at(a.at)
                return at is not None and at >= since
            return True

        what = f"alert {want} from the {role} {eui} (since {since}, request {request_id})"
        return self.expect_alerts(match, what, timeout=timeout, count=count)

    def expect_alerts(
        self,
        match: Callable[[RouteAlert], bool],
        what: str,
        *,
        timeout: float = ALERT_TIMEOUT_S,
        count: int = 1,
    ) -> list[RouteAlert]:
        """The first ``count`` route alerts matching ``match``; none in time fails the test, naming
        ``what``."""
        try:
            return self.route.wait_alerts(match, timeout, count=count)
        except LinkTimeout:
            raise AssertionError(f"no {what} within {timeout:g} s") from None

    # -- independent reads -------------------------------------------------------------------------
    def log_codes(self, role: str, *, security: bool = False, since: datetime | None = None) -> list[int]:
        optical = self.optical(role)
        start = since or self.mark(role)
        records = optical.security_log(since=start) if security else optical.event_log(since=start)
        return [r.code for r in records]

    def expect_logged(self, role: str, code: int, *, security: bool = False) -> None:
        codes = self.log_codes(role, security=security)
        log = "security" if security else "event"
        assert code in codes, f"the {role}'s {log} log has no 0x{code:04X} since the test began: {codes}"

    def balance(self, role: str) -> Decimal:
        return self.optical(role).balance().balance_pence

    # -- state kept across a test --------------------------------------------------------------------
    @contextmanager
    def esme_load(self, watts: float) -> Iterator[None]:
        """The ESME load source at ``watts`` for the block, then back to what it was."""
        bank = self.instruments
        before = float(bank.read("esme_load_setpoint"))
        bank.set_load(watts)
        try:
            yield
        finally:
            bank.set_load(before)

    def ensure_balance(self, role: str, at_least: float) -> None:
        """Top the meter balance up with SRV 1.5 so it is at least ``at_least`` pence."""
        now = float(self.balance(role))
        if now < at_least:
            self.ok("1.5", role, {"delta": round(at_least - now + 200.0, 2)})

    @contextmanager
    def payment_mode(self, role: str, mode: str) -> Iterator[None]:
        """SRV 1.6 into ``mode`` for the block (credit topped up first), then back."""
        before = self.optical(role).payment_mode()
        if mode == "prepayment":
            self.ensure_balance(role, 1000.0)
        if before != mode:
            self.ok("1.6", role, {"mode": mode})
        try:
            yield
        finally:
            if before != mode:
                self.ensure_balance(role, 1000.0)
                self.ok("1.6", role, {"mode": before})

    def restore_supply(self, role: str) -> None:
        """Bring supply back: the ESME enabled (SRV 7.1); the GSME at least armed (the customer opens
        the valve, SMETS1 has no remote enable for gas)."""
        state = self.optical(role).supply_state()
        if role == "esme" and state != "enabled":
            self.ok("7.1", "esme")
        elif role == "gsme" and state == "disabled":
            self.ok("7.3", "gsme")


def submit_retrying(
    route: ServiceRoute, srv: str, device: str, params: dict[str, Any], **kw: Any
) -> SrvResult:
    """``route.submit`` (the route client itself signs anew when it loses a counter race, E10, with
    another worker signing as the same User)."""
    return route.submit(srv, device, params, **kw)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 5.0, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(poll)
