"""Build DUIS Service Requests (``sr:Request``) from an SRV and the packs' parameters.

The packs speak one parameter vocabulary for every route (``{"utrn": ...}``, ``{"delta": 500.0}``; see
``docs/protocols/service-route.md``). This module maps it onto the body the DUIS XSD defines for the SRV
(element names, order and types from ``DUIS Schema V5.1.xsd``). Where DUIS needs more than the packs say
(a full prepayment configuration, a supplier telephone number) the documented default is used; where
the packs' value does not fit (a 160-character message, DUIS allows 116) the builder refuses with
:class:`RequestBuildError` rather than truncate. Units (docs/protocols/duis.md, "Assumptions"): money
in integer pence; prices as integer x 10^PriceScale GBP (finest scale that fits); power in W, time in s.

Pure: no I/O, no clock (the caller passes ``future_date``; nothing here reads the time).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, TypeAlias

from lxml import etree

from device_drivers.duis.catalogue import CV_COMMAND, SRVS, SrvEntry, entry
from device_drivers.duis.ids import RequestId, eui

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"sr": SR_NS}
#: The DUIS schema version the builder writes (``schemaVersion``), matching DUIS Schema V5.1.
SCHEMA_VERSION = "5.1"
#: Prices: integer x 10^scale GBP; DUIS holds electricity prices in a signed 16-bit integer, so the
#: builder picks the finest scale of these that fits every price (the packs' prices are pence).
PRICE_SCALES = (-5, -4, -3, -2)
SHORT_MAX = 32767
GAS_PRICE_SCALE = -5
UINT32_MAX = 4294967295
#: Fuel of the target device: decides the electricity or gas branch of a body.
ELECTRICITY = "electricity"
GAS = "gas"
#: What DUIS requires and the packs never say (docs/protocols/duis.md, "Assumptions").
DEFAULT_TELEPHONE = "0000 000 0000"
DEFAULT_TOLERANCE_S = 10
DEFAULT_JOIN_PERIOD_S = 3600
DEFAULT_INSTALL_CODE = "00" * 16


class RequestBuildError(ValueError):
    """The parameters cannot become a valid DUIS body for this SRV (names the SRV and the field)."""


Element: TypeAlias = etree._Element


def _sr(tag: str) -> str:
    return f"{{{SR_NS}}}{tag}"


def sub(parent: Element, tag: str, text: object | None = None, **attrs: str) -> Element:
    el = etree.SubElement(parent, _sr(tag), attrs)
    if text is not None:
        el.text = text if isinstance(text, str) else _fmt(text)
    return el


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RequestBuildError(f"naive datetime {value.isoformat()} (DUIS needs a time zone)")
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _when(value: object, field: str, srv: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            raise RequestBuildError(f"SRV {srv}: {field} is not an ISO date-time: {value!r}") from None
    if dt.tzinfo is None:
        raise RequestBuildError(f"SRV {srv}: {field} has no time zone: {value!r}")
    return dt


def _int(value: Any, field: str, srv: str, scale: int = 1) -> int:
    try:
        return round(float(value) * scale)
    except (TypeError, ValueError):
        raise RequestBuildError(f"SRV {srv}: {field} is not a number: {value!r}") from None


def _money(value: Any, field: str, srv: str) -> int:
    """Pence as an integer (DUIS monetary fields are integers)."""
    return _int(value, field, srv)


def price_scale(values: list[Any], srv: str) -> int:
    """The finest ``PriceScale`` at which every price (pence) fits a DUIS ``PriceType`` (xs:short)."""
    pence = [abs(float(v)) for v in values]
    for scale in PRICE_SCALES:
        if all(round(p * 10 ** (-scale - 2)) <= SHORT_MAX for p in pence):
            return scale
    raise RequestBuildError(f"SRV {srv}: a price above {SHORT_MAX} pence has no DUIS form")


def _price(value: Any, field: str, srv: str, scale: int) -> int:
    return _int(value, field, srv, scale=10 ** (-scale - 2))


class _Read(dict[str, Any]):
    """The parameters, remembering which ones the body builder looked at: a parameter it never reads
    has no place in the DUIS body, so the request would silently drop it (see :func:`build_request`)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__(params)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


class Ctx:
    """What a body builder may read: the SRV, target, fuel, parameters and execution time.

    ``checked`` False builds the request *as given* (:func:`build_as_given`): where a checked build
    refuses a value DUIS does not allow, the value is written into its DUIS field as it is (or the field
    left out, or an element the body has no place for added) and the refusal noted in ``refused``."""

    def __init__(
        self,
        e: SrvEntry,
        target: str,
        fuel: str,
        params: Mapping[str, Any],
        at: datetime | None,
        *,
        checked: bool = True,
    ):
        self.e, self.target, self.fuel, self.at = e, target, fuel, at
        self.p = _Read(params)
        self.checked = checked
        self.refused: list[str] = []

    def bad(self, message: str) -> None:
        """A value DUIS does not allow: refused when checked, else noted (the caller writes it as given)."""
        if self.checked:
            raise RequestBuildError(message)
        self.refused.append(message)

    def given(self, convert: Callable[[], Any], value: Any) -> Any:
        """``convert()`` (the DUIS form of ``value``); unchecked, ``value`` as given where it has none."""
        try:
            return convert()
        except RequestBuildError as exc:
            self.bad(str(exc))
            return value

    def need(self, key: str, *, left_out: bool = False) -> Any:
        """The parameter ``key``; missing, refused. Unchecked, a builder that leaves the field out when
        it is None (``left_out``) gets None; any other would write something in its place, so the
        refusal stands (no value is made up for a missing parameter)."""
        if key not in self.p or self.p[key] is None:
            message = f"SRV {self.e.srv}: parameter {key!r} is required"
            if not left_out:
                raise RequestBuildError(message)
            self.bad(message)
            return None
        return self.p[key]

    def execution(self, body: Element) -> None:
        """``ExecutionDateTime`` (future-dated variants) when the caller gave one."""
        if self.at is not None:
            if self.e.future_dating == "none":
                self.bad(f"SRV {self.e.srv} cannot be future-dated (DUIS SRV matrix)")
            sub(body, "ExecutionDateTime", self.at)

    @property
    def gas(self) -> bool:
        return self.fuel == GAS


Builder = Callable[[Ctx, Element], None]
BUILDERS: dict[str, Builder] = {}


def builds(*srvs: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for s in srvs:
            BUILDERS[s] = fn
        return fn

    return register


# -- reads and commands without data ------------------------------------------------------------------
@builds("4.1.1", "4.1.2", "4.3", "4.13", "4.18", "6.4.2", "11.2")
def _future_datable(c: Ctx, b: Element) -> None:
    c.execution(b)


@builds("2.5", "4.11.1", "6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.2.5", "6.2.7", "6.2.8", "6.2.9", "6.2.10",
        "7.1", "7.2", "7.3", "7.4")  # fmt: skip
def _empty(c: Ctx, b: Element) -> None:
    c.execution(b)  # refuses a future date: these variants have none


@builds("4.4.2", "4.6.1", "4.8.1")
def _log_period(c: Ctx, b: Element) -> None:
    c.execution(b)
    start, end = c.p.get("from"), c.p.get("to")
    if start is None or end is None:
        raise RequestBuildError(
            f"SRV {c.e.srv}: DUIS needs the log period: parameters 'from' and 'to' (the route fills them)"
        )
    period = sub(b, "ReadLogPeriod")
    sub(period, "StartDateTime", _when(start, "from", c.e.srv))
    sub(period, "EndDateTime", _when(end, "to", c.e.srv))


# -- 1.x tariff, balance, mode ---------------------------------------------------------------------------
def _week_and_season(
    parent: Element, days: list[int], *, gas: bool, seasons: str = "Seasons", season_name: str | None = None
) -> None:
    """One week profile naming day profile ``days[i]`` for weekday ``i + 1`` (Monday first) and one
    season from any date referencing it: every calendar the codec builds (tariffs, the gas
    non-disablement calendar) is a single week of a single season, as the S1SP's meters hold."""
    week = sub(sub(parent, "WeekProfiles"), "WeekProfile")
    sub(week, "WeekName", 1)
    for i, day in enumerate(days, 1):
        sub(week, "ReferencedDayName", day, index=str(i))
    season = sub(sub(parent, seasons), "Season")
    if season_name is not None:
        sub(season, "SeasonName", season_name)
    _any_date(sub(season, "SeasonStartDate"), gas=gas)
    sub(season, "ReferencedWeekName", 1)


def _any_date(parent: Element, gas: bool) -> None:
    """A season/special-day date with every field unspecified (applies from the start)."""
    if gas:
        sub(sub(parent, "GasYearWithWildcards"), "NonSpecifiedYear")
        sub(sub(parent, "GasMonthWithWildcards"), "NonSpecifiedMonth")
        sub(sub(parent, "GasDayOfMonthWithWildcards"), "GasNonSpecifiedDayOfMonth")
        sub(sub(parent, "GasDayOfWeekWithWildcards"), "NonSpecifiedDayOfWeek")
    else:
        sub(sub(parent, "Year"), "NonSpecifiedYear")
        sub(sub(parent, "Month"), "NonSpecifiedMonth")
        sub(sub(parent, "DayOfMonth"), "NonSpecifiedDayOfMonth")
        sub(sub(parent, "DayOfWeek"), "NonSpecifiedDayOfWeek")


def _prices(c: Ctx, parent: Element, block_prices: list[Any] | None = None) -> None:
    """``PriceElements``: the TOU prices, and with ``block_prices`` (electricity only, 1.1.1) the
    ``HybridTariff`` form: block prices as block tariff 1 beside the TOU prices, one ``PriceScale`` for
    both (docs/protocols/duis.md, Assumptions 1)."""
    prices = list(c.need("prices"))
    pe = sub(parent, "PriceElements")
    standing = c.p.get("standing_charge")
    if c.gas:
        # DUIS gas prices carry no scale: 10^-5 GBP (thousandths of a penny) is assumed.
        g = sub(pe, "GasPriceElements")
        sub(g, "CurrencyUnits", "GBP")
        sub(g, "StandingCharge", _price(standing or 0, "standing_charge", c.e.srv, GAS_PRICE_SCALE))
        if len(prices) > 4:
            raise RequestBuildError(
                f"SRV {c.e.srv}: a gas tariff has at most 4 TOU prices, got {len(prices)}"
            )
        tou = sub(g, "TOUTariff")
        for i, p in enumerate(prices, 1):
            sub(tou, "TOUPrice", _price(p, "prices", c.e.srv, GAS_PRICE_SCALE), index=str(i))
        return
    e = sub(pe, "ElectricityPriceElements")
    sc_scale = price_scale([standing or 0], c.e.srv)
    scale = price_scale(prices + list(block_prices or []), c.e.srv)
    sub(e, "StandingCharge", _price(standing or 0, "standing_charge", c.e.srv, sc_scale))
    sub(e, "StandingChargeScale", sc_scale)
    sub(e, "PriceScale", scale)
    if block_prices:
        tariff = sub(e, "HybridTariff")
        blocks = sub(tariff, "BlockPrices", index="1")
        for i, p in enumerate(block_prices, 1):
            sub(blocks, "BlockPrice", _exact_price(p, "block_prices", c.e.srv, scale), index=str(i))
    else:
        tariff = sub(e, "TOUTariff")
    for i, p in enumerate(prices, 1):
        sub(tariff, "TOUPrice", _price(p, "prices", c.e.srv, scale), index=str(i))


def _exact_price(value: Any, field: str, srv: str, scale: int) -> int:
    """A price DUIS must carry exactly (the block prices the meter is read back against): one finer
    than 10^``scale`` GBP has no DUIS form at the scale every price of the tariff shares."""
    raw = _price(value, field, srv, scale)
    if abs(raw * 10.0 ** (scale + 2) - float(value)) > 1e-9:
        raise RequestBuildError(
            f"SRV {srv}: {field} {value} p is finer than DUIS carries beside the tariff's other prices "
            f"(10^{scale} GBP; an electricity price is a 16-bit PriceType at one PriceScale)"
        )
    return raw


def _wh(value: Any, field: str, srv: str) -> int:
    """A block threshold (the packs' kWh) in Wh (docs/protocols/duis.md, Assumptions 1)."""
    wh = _int(value, field, srv, scale=1000)
    if abs(wh / 1000 - float(value)) > 1e-9 or not 0 < wh <= UINT32_MAX:
        raise RequestBuildError(f"SRV {srv}: {field} {value} kWh is not a whole number of Wh in DUIS's range")
    return wh


@builds("1.1.1")
def _tariff(c: Ctx, b: Element) -> None:
    c.execution(b)
    c.need("rates")  # DUIS carries the prices themselves, not their number
    switches = c.p.get("switches") or [{"at": "00:00:00", "rate": 1}]
    thresholds = list(c.p.get("block_thresholds") or [])
    block_prices = list(c.p.get("block_prices") or [])
    if bool(thresholds) != bool(block_prices) or (thresholds and len(block_prices) != len(thresholds) + 1):
        raise RequestBuildError(
            f"SRV {c.e.srv}: a block tariff is 1-3 thresholds and one price more "
            f"(got {len(thresholds)} thresholds, {len(block_prices)} block prices)"
        )
    if len(thresholds) > 3:
        raise RequestBuildError(
            f"SRV {c.e.srv}: DUIS carries at most 3 block thresholds, got {len(thresholds)}"
        )
    if c.gas and thresholds:
        _gas_block_tariff(c, b, thresholds, block_prices, switches)
    elif c.gas:
        # DUIS GasDayProfile: one TOUTariffAction per day (a gas meter switches rate by day, never
        # within one): an intra-day switching table has no DUIS form (not sent rather than flattened).
        # Switching by day (``days``: the rate of each weekday, Monday first) is a day profile per rate
        # used and a week profile naming, for each weekday (index 1 = Monday), that day's profile.
        used = {int(sw.get("rate", 1)) for sw in switches}
        if len(used) > 1:
            raise RequestBuildError(
                f"SRV {c.e.srv}: a gas tariff switches rate by day, not within a day (rates {sorted(used)})"
            )
        week_rates = [int(r) for r in c.p.get("days") or [used.pop() if used else 1] * 7]
        if len(week_rates) != 7:
            raise RequestBuildError(f"SRV {c.e.srv}: 'days' needs 7 rates (Monday first): {week_rates}")
        profiles = sorted(set(week_rates))
        te = sub(b, "GasTariffElements")
        st = sub(te, "SwitchingTable")
        days = sub(st, "DayProfiles")
        for name, rate in enumerate(profiles, 1):
            day = sub(days, "DayProfile")
            sub(day, "DayName", name)
            sub(day, "TOUTariffAction", rate)
        _week_and_season(st, [profiles.index(rate) + 1 for rate in week_rates], gas=True)
        sub(te, "SpecialDays")
        # No block tariff: one threshold of 0 Wh (GasThresholdMatrix needs one).
        sub(sub(te, "ThresholdMatrix"), "BlockThreshold", 0, index="1")
        _prices(c, b)
    else:
        te = sub(b, "ElecTariffElements")
        sub(te, "CurrencyUnits", "GBP")
        st = sub(te, "SwitchingTable")
        day = sub(sub(st, "DayProfiles"), "DayProfile")
        sub(day, "DayName", 1)
        for sw in switches:
            ps = sub(day, "ProfileSchedule")
            at = sw.get("at")
            sub(ps, "StartTime", at if isinstance(at, time) else time.fromisoformat(str(at)))
            sub(ps, "TOUTariffAction", int(sw.get("rate", 1)))
        _week_and_season(st, [1] * 7, gas=False, season_name="ALL")
        sub(te, "SpecialDays")
        # ElecThresholdMatrix: 8 sets (one per block tariff), Wh; the tariff's thresholds are set 1, the
        # others repeat them (the S1SP's meter holds one set). No block tariff: one threshold of 0.
        wh = [_wh(t, "block_thresholds", c.e.srv) for t in thresholds] or [0]
        tm = sub(te, "ThresholdMatrix")
        for row in range(1, 9):
            th = sub(tm, "Thresholds", index=str(row))
            for i, t in enumerate(wh, 1):
                sub(th, "BlockThreshold", t, index=str(i))
        _prices(c, b, block_prices)


def _gas_block_tariff(
    c: Ctx, b: Element, thresholds: list[Any], block_prices: list[Any], switches: list[Any]
) -> None:
    """A gas block tariff: every day ``BlockTariff`` (GasDayProfile), ``GasPriceElements/BlockTariff``
    (block prices, 10^-5 GBP as gas TOU prices, and the number of thresholds), the thresholds in Wh.
    DUIS gas holds TOU prices *or* block prices (both choices): one TOU rate whose price is block 1's
    is what the block tariff says about TOU (the S1SP's form); anything else has no DUIS form."""
    prices = list(c.need("prices"))
    rates = {int(sw.get("rate", 1)) for sw in switches}
    if int(c.need("rates")) != 1 or rates != {1} or [float(p) for p in prices] != [float(block_prices[0])]:
        raise RequestBuildError(
            f"SRV {c.e.srv}: a DUIS gas tariff is TOU or block (GasPriceElements and GasDayProfile each "
            f"hold one): a block tariff is one rate at block 1's price, not TOU prices {prices} beside "
            f"block prices {block_prices}"
        )
    te = sub(b, "GasTariffElements")
    st = sub(te, "SwitchingTable")
    day = sub(sub(st, "DayProfiles"), "DayProfile")
    sub(day, "DayName", 1)
    sub(day, "BlockTariff")
    _week_and_season(st, [1] * 7, gas=True)
    sub(te, "SpecialDays")
    tm = sub(te, "ThresholdMatrix")
    for i, t in enumerate(thresholds, 1):
        sub(tm, "BlockThreshold", _wh(t, "block_thresholds", c.e.srv), index=str(i))
    g = sub(sub(b, "PriceElements"), "GasPriceElements")
    sub(g, "CurrencyUnits", "GBP")
    standing = c.p.get("standing_charge")
    sub(g, "StandingCharge", _price(standing or 0, "standing_charge", c.e.srv, GAS_PRICE_SCALE))
    bt = sub(g, "BlockTariff")
    for i, p in enumerate(block_prices, 1):
        sub(bt, "BlockPrice", _exact_price(p, "block_prices", c.e.srv, GAS_PRICE_SCALE), index=str(i))
    sub(bt, "NumberOfThresholds", len(thresholds))


@builds("1.2.1")
def _price_update(c: Ctx, b: Element) -> None:
    c.execution(b)
    _prices(c, b)


@builds("1.5")
def _balance(c: Ctx, b: Element) -> None:
    raw = c.need("delta", left_out=True)
    # DUIS names the meter's payment mode; the packs do not (default prepayment, ``payment_mode``).
    mode = str(c.p.get("payment_mode", "prepayment"))
    if mode not in ("prepayment", "credit"):
        raise RequestBuildError(f"SRV 1.5: payment_mode must be prepayment or credit, got {mode!r}")
    adjust = sub(b, "PrepaymentMode" if mode == "prepayment" else "CreditMode")
    if raw is not None:  # unchecked and missing: the adjustment left out
        sub(adjust, "AdjustMeterBalance", c.given(lambda: _money(raw, "delta", c.e.srv), raw))


@builds("1.6")
def _mode(c: Ctx, b: Element) -> None:
    c.execution(b)
    mode = str(c.need("mode"))
    if mode == "credit":
        sub(b, "Credit")
    elif mode == "prepayment":
        pp = sub(b, "Prepayment")
        sub(pp, "SuspendDebtDisabled", bool(c.p.get("suspend_debt_disabled", False)))
        sub(pp, "SuspendDebtEmergency", bool(c.p.get("suspend_debt_emergency", False)))
        sub(pp, "DisablementThreshold", _money(c.p.get("disablement_threshold", 0), "disablement_threshold",
                                               c.e.srv))  # fmt: skip
    else:
        raise RequestBuildError(f"SRV 1.6: mode must be 'credit' or 'prepayment', got {mode!r}")


# -- 2.x prepayment ----------------------------------------------------------------------------------------
#: 2.1 fields the packs may set (others keep DUIS defaults: the whole configuration is sent).
PREPAY_FIELDS = {
    "debt_recovery_rate_cap": ("DebtRecoveryRateCap", 0),
    "emergency_credit_limit": ("EmergencyCreditLimit", 0),
    "emergency_credit_threshold": ("EmergencyCreditThreshold", 0),
    "low_credit_threshold": ("LowCreditThreshold", 0),
    "max_balance": ("MaxMeterBalance", 0),
    "max_credit": ("MaxCreditThreshold", 0),
}


@builds("2.1")
def _prepay(c: Ctx, b: Element) -> None:
    c.execution(b)
    values = {k: _money(c.p.get(k) if c.p.get(k) is not None else d, k, c.e.srv)
              for k, (_, d) in PREPAY_FIELDS.items()}  # fmt: skip
    head = ("debt_recovery_rate_cap", "emergency_credit_limit", "emergency_credit_threshold",
            "low_credit_threshold")  # fmt: skip
    if c.gas:
        cfg = sub(b, "UpdatePrepayConfigGas")
        for k in head:
            sub(cfg, PREPAY_FIELDS[k][0], abs(values[k]) if k != "debt_recovery_rate_cap" else values[k])
        cal = sub(cfg, "GasNonDisablementCalendar")
        day = sub(sub(cal, "DayProfiles"), "GasNonDisablementDayProfile")
        tsa = sub(day, "TimeStartAction")
        sub(tsa, "StartTime", time(0, 0))
        sub(tsa, "NonDisablementAction", "STOP")
        sub(day, "GasDayName", 1)
        _week_and_season(cal, [1] * 7, gas=True, seasons="SeasonProfiles")
        sub(cal, "SpecialDays")
        sub(cfg, "MaxMeterBalance", abs(values["max_balance"]))
        sub(cfg, "MaxCreditThreshold", abs(values["max_credit"]))
    else:
        cfg = sub(b, "UpdatePrepayConfigElectricity")
        for k in head:
            sub(cfg, PREPAY_FIELDS[k][0], values[k])
        cal = sub(cfg, "ElectricityNonDisablementCalendar")
        sub(cal, "ElectricitySpecialDays")
        sched = sub(cal, "ElectricityNonDisablementSchedule")
        sub(sched, "NonDisablementScript", "STOP")
        sub(sched, "SpecialDaysApplicability")
        sub(sched, "DaysOfWeekApplicability")
        when = sub(sched, "ScheduleDatesAndTime")
        sub(when, "SwitchTime", time(0, 0))
        sub(when, "StartDate", "2020-01-01")
        sub(when, "EndDate", "2099-12-31")
        sub(cfg, "MaxMeterBalance", values["max_balance"])
        sub(cfg, "MaxCreditThreshold", values["max_credit"])


@builds("2.2")
def _top_up(c: Ctx, b: Element) -> None:
    utrn = str(c.need("utrn"))
    if len(utrn) != 20 or not utrn.isdigit():
        c.bad(f"SRV 2.2: utrn must be 20 digits, got {utrn!r}")
    sub(b, "UTRN", utrn)


DEBT_REGISTERS = {"time_debt_1": "TimeDebtRegister1", "time_debt_2": "TimeDebtRegister2",
                  "payment_debt": "PaymentDebtRegister"}  # fmt: skip


@builds("2.3")
def _debt(c: Ctx, b: Element) -> None:
    debts = {str(d.get("name")): d for d in c.need("debts")}
    unknown = set(debts) - set(DEBT_REGISTERS)
    if unknown:
        raise RequestBuildError(f"SRV 2.3: unknown debt register(s) {sorted(unknown)}")
    for name, tag in DEBT_REGISTERS.items():
        sub(b, tag, _money(debts[name]["amount"] if name in debts else 0, f"debts.{name}.amount", c.e.srv))
    # the payment debt's rate: percent of each payment, in DUIS hundredths of a percent (0-10000)
    per_payment = _int(debts["payment_debt"]["rate"] if "payment_debt" in debts else 0, "rate", c.e.srv, 100)
    if not 0 <= per_payment <= 10000:
        raise RequestBuildError(f"SRV 2.3: the payment debt rate must be 0-100 %, got {per_payment / 100}")
    sub(b, "DebtRecoveryPerPayment", per_payment)
    for i, name in enumerate(("time_debt_1", "time_debt_2"), 1):
        pence = debts[name]["rate"] if name in debts else 0
        if c.gas:  # gas: integer pence (no scale in DUIS)
            r = sub(b, f"GasDebtRecovery{i}")
            sub(r, "DebtRecoveryRate", _money(pence, f"debts.{name}.rate", c.e.srv))
        else:  # electricity: value x 10^DebtRecoveryRatePriceScale GBP, as prices (xs:short)
            scale = price_scale([pence], c.e.srv)
            r = sub(b, f"ElecDebtRecovery{i}")
            sub(r, "DebtRecoveryRate", _price(pence, f"debts.{name}.rate", c.e.srv, scale))
            sub(r, "DebtRecoveryRatePriceScale", scale)
        sub(r, "DebtRecoveryRatePeriod", "DAILY")


# -- 3.x display, tenancy -------------------------------------------------------------------------------
def _printable(value: str, limit: int, field: str, srv: str) -> str:
    if not value or len(value) > limit or any(not (" " <= ch <= "~") for ch in value):
        raise RequestBuildError(f"SRV {srv}: {field} must be 1-{limit} printable ASCII characters")
    return value


@builds("3.1")
def _message(c: Ctx, b: Element) -> None:
    c.execution(b)
    text = str(c.need("text"))
    sub(b, "SupplierMessage", c.given(lambda: _printable(text, 116, "text", c.e.srv), text))


@builds("3.2")
def _restrict(c: Ctx, b: Element) -> None:
    c.execution(b)
    sub(b, "RestrictionDateTime", _when(c.need("from_date"), "from_date", c.e.srv))


@builds("3.4")
def _supplier_name(c: Ctx, b: Element) -> None:
    c.execution(b)
    sub(b, "SupplierName", _printable(str(c.need("name")), 15, "name", c.e.srv))
    sub(b, "SupplierTelephoneNumber", str(c.p.get("telephone", DEFAULT_TELEPHONE)))


# -- 5.x DSP schedules -------------------------------------------------------------------------------------
SCHEDULE_BODIES = {"4.6.1": "DSPRetrieveImportDailyReadLog", "4.8.1": "DSPReadActiveImportProfileData"}
SCHEDULE_FREQUENCY = {86400: "Daily", 7 * 86400: "Weekly"}


@builds("5.1")
def _schedule(c: Ctx, b: Element) -> None:
    srv = str(c.need("srv"))
    start = _when(c.need("start"), "start", c.e.srv)
    period = int(c.p.get("period_s", 86400))
    if srv not in SCHEDULE_BODIES:
        raise RequestBuildError(f"SRV 5.1: the codec schedules only {sorted(SCHEDULE_BODIES)}, not {srv}")
    if period not in SCHEDULE_FREQUENCY:
        raise RequestBuildError(f"SRV 5.1: DUIS schedules daily or weekly here, not every {period} s")
    sub(b, "ScheduleFrequency", SCHEDULE_FREQUENCY[period])
    sub(b, "ScheduleStartDate", start.date().isoformat())
    sub(b, "ScheduleExecutionStartTime", start.timetz().replace(tzinfo=None))
    sub(b, "DSPScheduledServiceReference", ".".join(srv.split(".")[:2]))
    sub(b, "DSPScheduledServiceReferenceVariant", srv)
    sub(b, "DeviceID", c.target)
    off = sub(b, SCHEDULE_BODIES[srv])
    sub(off, "StartDateOffset", -1)
    sub(off, "StartTime", time(0, 0))
    sub(off, "EndDateOffset", 0)
    sub(off, "EndTime", time(0, 0))


#: DUIS ``DSPScheduleID``: the DSP's schedule numbers run to 10^12.
DSP_SCHEDULE_ID_MAX = 10**12


def _schedule_id(c: Ctx) -> int | str:
    """The DSP Schedule ID in a schedule id the route answered (``S17`` -> 17). An id that holds none
    (not one the DSP gave) is a value the SRV does not allow: refused, or sent as given."""
    sid = c.need("schedule_id")
    digits = "".join(ch for ch in str(sid) if ch.isdigit())
    if not digits or int(digits) > DSP_SCHEDULE_ID_MAX:
        c.bad(f"SRV {c.e.srv}: schedule_id {sid!r} is no DSP Schedule ID (1-{DSP_SCHEDULE_ID_MAX})")
        return str(sid)
    return int(digits)


@builds("5.2", "5.3")
def _schedule_ref(c: Ctx, b: Element) -> None:
    """One schedule by its DSP Schedule ID, or (5.2 without one) every schedule of the device."""
    if c.p.get("schedule_id") is None and c.e.srv == "5.2":
        sub(b, "DeviceID", c.target)
    else:
        sub(b, "DSPScheduleID", _schedule_id(c))


# -- 6.x configuration ----------------------------------------------------------------------------------
@builds("6.4.1")
def _load_limit(c: Ctx, b: Element) -> None:
    c.execution(b)
    sub(b, "LoadLimitPeriod", _int(c.need("period_s"), "period_s", c.e.srv))
    sub(b, "LoadLimitPowerThreshold", _int(c.need("threshold_w"), "threshold_w", c.e.srv))
    # DUIS requires a restoration period; the packs leave it out for "never restore by itself": the
    # largest period DUIS can carry (xs:unsignedInt seconds, 136 years) says that.
    restoration = c.p.get("restoration_s") or UINT32_MAX
    sub(b, "LoadLimitRestorationPeriod", _int(restoration, "restoration_s", c.e.srv))
    # The packs' load limit acts on the supply (the meter arms it when exceeded): "Disable".
    sub(b, "LoadLimitSupplyState", "Unchanged" if c.p.get("supply_action") == "unchanged" else "Disable")


GAS_PERIODICITY = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


@builds("6.8")
def _billing_calendar(c: Ctx, b: Element) -> None:
    """Gas: ``start`` and ``period``. Electricity: DUIS carries a billing time and a day of the week or
    month, no start date, so an electricity calendar takes ``billing_time``, ``period`` and (weekly,
    monthly) ``day``, and a ``start`` (a date the meter would start billing from) is refused: it has no
    DUIS form (the packs send the ESME the billing-time form on every route)."""
    period = str(c.p.get("period", "monthly"))
    if period not in GAS_PERIODICITY:
        raise RequestBuildError(f"SRV 6.8: period must be daily, weekly or monthly, got {period!r}")
    if c.gas:
        g = sub(b, "GasBillingCalendar")
        sub(g, "BillingPeriodStart", _when(c.need("start"), "start", c.e.srv))
        sub(g, "Periodicity", GAS_PERIODICITY[period])
        return
    if c.p.get("start") is not None:
        raise RequestBuildError(
            "SRV 6.8: an electricity billing calendar in DUIS has a billing time and period, no start date"
        )
    billing_time = c.need("billing_time")
    try:
        at = time.fromisoformat(str(billing_time))
    except ValueError:
        raise RequestBuildError(f"SRV 6.8: billing_time is not a time: {billing_time!r}") from None
    e = sub(b, "ElectricityBillingCalendar")
    sub(e, "BillingTime", at.replace(tzinfo=None))
    if period == "daily":
        sub(e, "Daily")
    else:  # Weekly: ISO day of the week 1-7; Monthly: day of the month 1-28 (sent as given)
        sub(e, GAS_PERIODICITY[period], _int(c.need("day"), "day", c.e.srv))


@builds("6.11")
def _sync_clock(c: Ctx, b: Element) -> None:
    now = c.p.get("now") or c.at
    if now is None:
        raise RequestBuildError("SRV 6.11: DUIS needs CurrentDateTime: parameter 'now' (the route fills it)")
    sub(b, "CurrentDateTime", _when(now, "now", c.e.srv))
    sub(b, "TolerancePeriod", int(c.p.get("tolerance_s", DEFAULT_TOLERANCE_S)))


LOGS = {"event": "Event", "security": "Security"}


@builds("6.13")
def _read_log(c: Ctx, b: Element) -> None:
    log = str(c.p.get("log", "event"))
    if log not in LOGS:
        c.bad(f"SRV 6.13: log must be event or security, got {log!r}")
    start, end = c.p.get("from"), c.p.get("to")
    if start is None or end is None:
        raise RequestBuildError("SRV 6.13: DUIS needs the log period: 'from' and 'to' (the route fills them)")
    period = sub(b, "ReadLogPeriod")
    sub(period, "StartDateTime", _when(start, "from", c.e.srv))
    sub(period, "EndDateTime", _when(end, "to", c.e.srv))
    sub(b, "LogToRead", ("GSME" if c.gas else "") + LOGS.get(log, log))


REMOTE_PARTY_ROLES = {"supplier": "Supplier", "network_operator": "NetworkOperator", "smso": "TransCoS"}


def _certificates(c: Ctx) -> tuple[str, list[str]]:
    """The replacement signing certificate and its path (base64 DER), from ``certificate`` and
    ``certification_path``; DUIS requires both for 6.15.1 and 6.23."""
    cert = c.p.get("certificate")
    path = c.p.get("certification_path")
    if not cert or not path:
        raise RequestBuildError(
            f"SRV {c.e.srv}: DUIS carries the replacement certificates: parameters 'certificate' and "
            "'certification_path' (base64 DER) are required"
        )
    return str(cert), [str(p) for p in (path if isinstance(path, list) else [path])]


@builds("6.15.1")
def _update_krp(c: Ctx, b: Element) -> None:
    c.execution(b)
    roles = c.p.get("credential_roles") or ["supplier"]
    if len(roles) != 1:
        raise RequestBuildError("SRV 6.15.1: DUIS replaces one Remote Party Role per request")
    role = REMOTE_PARTY_ROLES.get(str(roles[0]))
    if role is None:
        raise RequestBuildError(f"SRV 6.15.1: unknown credential role {roles[0]!r}")
    cert, path = _certificates(c)
    sub(b, "RemotePartyRole", role)
    sub(sub(sub(b, "ReplacementCertificates"), "SupplierOrNetworkOperatorCertificates"),
        "DigitalSigningCertificate", cert)  # fmt: skip
    cp = sub(b, "CertificationPathCertificates")
    for p in path[:3]:
        sub(cp, "Certificate", p)
    sub(b, "ApplyTimeBasedCPVChecks", False)


@builds("6.15.2")
def _device_credentials(c: Ctx, b: Element) -> None:
    """6.15.2 replaces a GBCS device's own certificate: SMETS1 devices hold none (the DSP refuses it,
    E13); the packs send it in a negative test. Without ``certificate`` the route sends the User's own."""
    sub(b, "DeviceCertificate", str(c.need("certificate")))


@builds("6.20.1")
def _set_mpxn(c: Ctx, b: Element) -> None:
    c.execution(b)
    mpxn = str(c.need("mpxn"))
    if c.gas:
        if len(mpxn) > 10:
            raise RequestBuildError(f"SRV 6.20.1: an MPRN has at most 10 digits, got {mpxn!r}")
        sub(b, "ImportMPRN", mpxn)
    else:
        if len(mpxn) != 13:
            raise RequestBuildError(f"SRV 6.20.1: an MPAN has 13 digits, got {mpxn!r}")
        sub(sub(b, "ImportMPANs"), "ImportMPAN", mpxn)


@builds("6.22")
def _alerts(c: Ctx, b: Element) -> None:
    settings = sorted((int(str(a["code"]), 16), bool(a["send"])) for a in c.need("alerts"))
    if c.gas:
        holder = sub(b, "GasSupplierAlerts")
        for code, send in settings:
            sub(holder, f"x{code:04X}", "Enable" if send else "Disable")
        return
    holder = sub(b, "ElectricitySupplierAlerts")
    common = [(code, send) for code, send in settings if code != 0x81B7]
    poly = [(code, send) for code, send in settings if code == 0x81B7]
    if common:
        group = sub(holder, "SupplierESMECommon")
        for code, send in common:
            sub(group, f"x{code:04X}", "Enable" if send else "Disable")
    if poly:
        sub(sub(holder, "SupplierESMEPolyPhase"), "x81B7", "Enable" if poly[0][1] else "Disable")


@builds("6.23")
def _cos(c: Ctx, b: Element) -> None:
    c.execution(b)
    cert, path = _certificates(c)
    sub(b, "SupplierFloorSeqNumber", int(c.p.get("floor_sequence", 0)))
    sub(sub(b, "SupplierReplacementCertificates"), "DigitalSigningCertificate", cert)
    cp = sub(b, "CertificationPathCertificates")
    for p in path[:3]:
        sub(cp, "Certificate", p)
    sub(b, "ApplyTimeBasedCPVChecks", False)
    sub(b, "ImportMPxN", str(c.need("mpxn")))


@builds("6.24.1")
def _read_krp(c: Ctx, b: Element) -> None:
    role = REMOTE_PARTY_ROLES.get(str(c.p.get("credential_role", "supplier")))
    if role is None:
        raise RequestBuildError(f"SRV 6.24.1: unknown credential role {c.p.get('credential_role')!r}")
    sub(b, "RemotePartyRole", role)


@builds("6.25")
def _tamper(c: Ctx, b: Element) -> None:
    state = {"locked": "Locked", "unchanged": "Unchanged"}.get(str(c.need("state")))
    if state is None:
        raise RequestBuildError(f"SRV 6.25: state must be locked or unchanged, got {c.p.get('state')!r}")
    sub(b, "SupplyTamperState", state)


# -- 8.x inventory, HAN --------------------------------------------------------------------------------------
@builds("8.2", "8.3")
def _device_id(c: Ctx, b: Element) -> None:
    sub(b, "DeviceID", c.target)


@builds("8.4")
def _update_inventory(c: Ctx, b: Element) -> None:
    sub(b, "DeviceID", c.target)
    if "mpxn" in c.p:  # the MPAN or MPRN the inventory holds for a meter (UpdateMPxN, ImportMPxN)
        if "status" in c.p:
            raise RequestBuildError("SRV 8.4: DUIS updates a status or an MPxN in one request, not both")
        mpxn = str(c.p["mpxn"])
        if not 1 <= len(mpxn) <= 13:
            raise RequestBuildError(f"SRV 8.4: ImportMPxN holds 1 to 13 characters, not {mpxn!r}")
        sub(sub(b, "UpdateMPxN"), "ImportMPxN", mpxn)
        return
    status = str(c.need("status"))
    # DUIS 8.4 sets only these statuses (XSD: UpdateDeviceStatusCH Commissioned/Withdrawn/
    # InstalledNotCommissioned for a CH, UpdateDeviceStatusExceptCH Pending/InstalledNotCommissioned for any
    # other device); the packs' Suspended/Recovery/Recovered have no DUIS form.
    ch_only, any_device = ("Commissioned", "Withdrawn"), ("InstalledNotCommissioned", "Pending")
    if status not in ch_only + any_device:
        raise RequestBuildError(
            f"SRV 8.4: DUIS cannot set status {status!r} (it sets a CH Commissioned, Withdrawn or "
            "InstalledNotCommissioned, any other device Pending or InstalledNotCommissioned)"
        )
    kind = str(c.p.get("device_type") or "")
    # The route names the target's type; without one the status decides (Commissioned/Withdrawn: CH).
    is_ch = kind.lower() in ("ch", "chf") if kind else status in ch_only
    if not is_ch and status in ch_only:
        raise RequestBuildError(
            f"SRV 8.4: DUIS cannot set the status {status} on {kind.upper() or 'a device other than a CH'} "
            "(UpdateDeviceStatusExceptCH holds Pending and InstalledNotCommissioned only; Commissioned and "
            "Withdrawn are values of UpdateDeviceStatusCH, for a CH)"
        )
    sub(b, "UpdateDeviceStatusCH" if is_ch else "UpdateDeviceStatusExceptCH", status)


@builds("8.7.2", "8.8.2")
def _join(c: Ctx, b: Element) -> None:
    other = c.p.get("other")
    if other is None:
        raise RequestBuildError(
            f"SRV {c.e.srv}: DUIS names the other device: parameter 'other' (the route fills it)"
        )
    sub(b, "OtherDeviceID", eui(str(other)))


@builds("8.9")
def _device_log(c: Ctx, b: Element) -> None:
    c.execution(b)


@builds("8.11")
def _han_log(c: Ctx, b: Element) -> None:
    c.execution(b)
    add = dict(c.p.get("add") or {})
    remove = list(c.p.get("remove") or [])
    if len(add) + len(remove) != 1:
        c.bad("SRV 8.11: DUIS adds or removes one device per request")
        if not add and not remove:  # unchecked: a request naming no device
            return
    if add:
        device = next(iter(add))
        sub(b, "DeviceID", eui(device))
        sub(b, "RequestType", "Add")
        w = sub(b, "AddDeviceToCHFWhitelist")
        sub(w, "JoinTimePeriod", int(c.p.get("join_period_s", DEFAULT_JOIN_PERIOD_S)))
        sub(w, "InstallCode", str(c.p.get("install_code", DEFAULT_INSTALL_CODE)))
    else:
        sub(b, "DeviceID", eui(str(remove[0])))
        sub(b, "RequestType", "Remove")


# -- 11.x firmware -----------------------------------------------------------------------------------------
def firmware_image(version: str, image_model: str | None) -> bytes:
    """The image the route sends when the packs name only a version (a lab passes ``image``)."""
    return f"DMCT-FIRMWARE model={image_model or ''} version={version}".encode()


@builds("11.1")
def _update_fw(c: Ctx, b: Element) -> None:
    version = str(c.need("version"))
    if len(version) > 8:
        raise RequestBuildError(f"SRV 11.1: DUIS FirmwareVersion has at most 8 characters, got {version!r}")
    image = c.p.get("image")
    raw = base64.b64decode(str(image)) if image else firmware_image(version, c.p.get("image_model"))
    sub(b, "FirmwareImage", base64.b64encode(raw).decode())
    sub(b, "FirmwareVersion", version)
    sub(b, "DeviceIDList", c.target)


@builds("11.3")
def _activate_fw(c: Ctx, b: Element) -> None:
    c.execution(b)
    digest = c.p.get("firmware_hash")
    if digest is None:
        version = str(c.need("version"))
        digest = hashlib.sha256(firmware_image(version, c.p.get("image_model"))).hexdigest()
    sub(b, "FirmwareHash", str(digest).upper())


# -- the request ---------------------------------------------------------------------------------------------
def build_request(
    srv: str,
    *,
    originator: str,
    target: str,
    counter: int,
    params: Mapping[str, Any] | None = None,
    fuel: str = ELECTRICITY,
    future_date: datetime | None = None,
    command_variant: int | None = None,
) -> Element:
    """The unsigned ``sr:Request`` for SRV ``srv`` from User ``originator`` to ``target`` (EUI-64s).

    ``fuel`` picks the electricity or gas branch of bodies that have both (the device type the lab file
    gives the target). ``future_date`` makes the future-dated variant (``ExecutionDateTime``); an SRV
    without one refuses it. Raises :class:`RequestBuildError` (an SRV the codec lacks, bad parameters,
    a parameter the body has no field for)."""
    return _build(srv, originator, target, counter, params, fuel, future_date, command_variant, True).root


@dataclass(frozen=True)
class AsGiven:
    """A request built without the client-side checks (:func:`build_as_given`)."""

    root: Element
    #: What a checked build refuses (empty: the request is exactly what :func:`build_request` makes).
    refused: tuple[str, ...]
    #: The SRV is none the codec knows a body for: the header names it, the body is empty.
    unknown_srv: bool = False


def build_as_given(
    srv: str,
    *,
    originator: str,
    target: str,
    counter: int,
    params: Mapping[str, Any] | None = None,
    fuel: str = ELECTRICITY,
    future_date: datetime | None = None,
) -> AsGiven:
    """The request a User sends who does not check it first: values DUIS does not allow written into
    their fields as given, a missing value left out, a parameter the body has no field for added as an
    element named after it (``at_once`` -> ``AtOnce``), a future date on an SRV without one, an SRV with
    no DUIS body named in the header over an empty body. The DSP is what refuses such a request (the
    packs' negative tests); ``refused`` says what a checked build would have refused, for the route to
    read the DSP's answer (docs/protocols/duis.md, "Requests DUIS does not allow")."""
    if srv not in SRVS:
        rid = RequestId.make(originator, target, counter)
        root = _header(srv, ".".join(srv.split(".")[:2]), str(rid), CV_COMMAND)
        sub(root, "Body")
        return AsGiven(root, (f"no DUIS body known for SRV {srv!r}",), unknown_srv=True)
    built = _build(srv, originator, target, counter, params, fuel, future_date, None, False)
    return AsGiven(built.root, tuple(built.refused))


@dataclass(frozen=True)
class _Built:
    root: Element
    refused: list[str]


def _header(srv: str, service_reference: str, rid: str, command_variant: int) -> Element:
    root = etree.Element(_sr("Request"), nsmap=NSMAP)
    root.set("schemaVersion", SCHEMA_VERSION)
    header = sub(root, "Header")
    sub(header, "RequestID", rid)
    sub(header, "CommandVariant", command_variant)
    sub(header, "ServiceReference", service_reference)
    sub(header, "ServiceReferenceVariant", srv)
    return root


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "Parameter"


def _build(
    srv: str,
    originator: str,
    target: str,
    counter: int,
    params: Mapping[str, Any] | None,
    fuel: str,
    future_date: datetime | None,
    command_variant: int | None,
    checked: bool,
) -> _Built:
    e = entry(srv)
    builder = BUILDERS.get(srv)
    if builder is None:
        raise RequestBuildError(f"SRV {srv}: no body builder")
    if fuel not in (ELECTRICITY, GAS):
        raise RequestBuildError(f"fuel must be {ELECTRICITY!r} or {GAS!r}, got {fuel!r}")
    rid = RequestId.make(originator, target, counter)
    root = _header(e.srv, e.service_reference, str(rid), command_variant or e.command_variant)
    body = sub(sub(root, "Body"), e.element)
    ctx = Ctx(e, rid.target, fuel, dict(params or {}), future_date, checked=checked)
    builder(ctx, body)
    unread = sorted(k for k in set(ctx.p) - ctx.p.read if ctx.p[k] is not None)
    if unread:  # sending the request without them would be another request than the one asked for
        ctx.bad(f"SRV {srv}: DUIS has no field for parameter(s) {', '.join(unread)}")
        for k in unread:  # unchecked: where a User who does not check would put them
            sub(body, _camel(k), ctx.p[k])
    return _Built(root, ctx.refused)


def to_bytes(root: Element) -> bytes:
    """Compact UTF-8 XML with a declaration: DCC Boxed canonicalises after dropping whitespace-only text,
    so a signed message must carry none (no pretty-printing)."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


__all__ = [
    "BUILDERS",
    "ELECTRICITY",
    "GAS",
    "SCHEMA_VERSION",
    "RequestBuildError",
    "build_request",
    "to_bytes",
]
