"""DUIS Service Request -> the virtual S1SP's request (SRV, device, params, execution date).

Written from the DUIS XSD (``sr:Request``: ``Header`` with ``RequestID``, ``CommandVariant``,
``ServiceReference``, ``ServiceReferenceVariant``; ``Body`` with one element per SRV), independently
of the harness's DUIS codec. Each SMETS1-applicable SRV of ``labs/virtual/s1sp/srv_catalogue.yaml``
has a body element (``BODIES``) and, where the S1SP takes parameters, a reader that turns the body's
fields into the S1SP's ``params`` (the models in ``labs/virtual/s1sp/executors.py``). Where DUIS and
the S1SP's model differ, the reader documents the mapping (docs/virtual-lab.md, "Virtual DSP").

Units (the XSD gives types, not units; the harness's DUIS codec makes the same choices, see
docs/protocols/duis.md "Assumptions" and docs/virtual-lab.md "Virtual DSP"): the S1SP, like the packs,
counts money in pence. DUIS electricity prices, standing charges and debt recovery rates are integers
with a scale (``PriceScale``, ``StandingChargeScale``, ``DebtRecoveryRatePriceScale``: value x 10^scale
GBP, the XSD's ``CurrencyUnits`` being GBP) and are read as value x 10^(scale+2) pence. Gas prices and
the gas standing charge have no scale in DUIS: thousandths of a penny (10^-5 GBP). Every other amount
(balances, thresholds, limits, debt registers, gas debt recovery rates: integer XSD types without a
scale) is integer pence, passed on unchanged.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from lxml import etree

from .xmlsig import SR

EUI64 = re.compile(r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$")
#: Command variants the DSP executes for device SRVs: 1-3 (on demand / future-dated, local delivery) —
#: SMETS1 critical requests are signed by the User in the request itself, there is no GBCS pre-command to
#: sign (an assumption: variants 4-7 of a SMETS1 critical SRV are answered E31, "not supported").
SUPPORTED_VARIANTS = frozenset({1, 2, 3})
#: Command Variant 8: a non-device request the DSP answers itself (posted to ``serviceD``).
NON_DEVICE_VARIANT = 8
#: The non-device SRVs (DUIS SRV matrix: "DCC only"), which take Command Variant 8 and only it.
NON_DEVICE = frozenset({"5.1", "5.2", "5.3", "8.2", "8.3", "8.4", "11.1"})
#: DSP inventory device type -> the S1SP's device role (8.11 names a device, not its type).
TYPE_TO_ROLE = {"ESME": "esme", "GSME": "gsme", "PPMID": "ppmid", "IHD": "ihd"}


class TranslationError(Exception):
    """A request the DSP cannot turn into an S1SP request; ``code`` is the route code (E1/E2/E4/E6)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DuisRequest:
    request_id: str
    originator: str
    target: str
    counter: int
    command_variant: int
    srv: str
    body: str
    device: str
    params: dict[str, Any] = field(default_factory=dict)
    future_date: str | None = None


def _q(name: str) -> str:
    return f"{{{SR}}}{name}"


def _find(el: etree._Element, path: str) -> etree._Element | None:
    found = el.find("/".join(_q(p) for p in path.split("/")))
    return found


def _text(el: etree._Element, path: str) -> str | None:
    found = _find(el, path)
    return None if found is None or found.text is None else found.text.strip()


def _need(el: etree._Element, path: str) -> str:
    value = _text(el, path)
    if value is None:
        raise TranslationError("E6", f"{etree.QName(el).localname}: {path} is missing")
    return value


def _int(el: etree._Element, path: str) -> int:
    return int(_need(el, path))


def _scaled(value: str, scale: int) -> float:
    """An amount of GBP x 10^scale, in pence."""
    return round(int(value) * 10.0 ** (scale + 2), 6)


def _pence(value: str) -> float:
    """An unscaled DUIS amount: integer pence."""
    return float(int(value))


def _iso(value: str) -> str:
    """xs:dateTime as ISO 8601 with an offset (a value without one is read as UTC)."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def _indexed(parent: etree._Element | None, name: str) -> list[etree._Element]:
    items = [] if parent is None else parent.findall(_q(name))
    return sorted(items, key=lambda e: int(e.get("index", "0")))


# -- readers: body element -> S1SP params -------------------------------------------------------------------
def _prices(body: etree._Element) -> dict[str, Any]:
    """``PriceElements`` in pence: electricity prices x 10^``PriceScale`` GBP; gas in thousandths of a
    penny (DUIS gives gas no scale)."""
    elec = _find(body, "PriceElements/ElectricityPriceElements")
    if elec is not None:
        scale, sc_scale = _int(elec, "PriceScale"), _int(elec, "StandingChargeScale")
        tariff = next(
            c for c in elec if etree.QName(c).localname in ("TOUTariff", "BlockTariff", "HybridTariff")
        )
        tou = [_scaled(p.text or "0", scale) for p in _indexed(tariff, "TOUPrice")]
        blocks = [
            _scaled(p.text or "0", scale)
            for b in _indexed(tariff, "BlockPrices")[:1]
            for p in _indexed(b, "BlockPrice")
        ]
        out: dict[str, Any] = {"standing_charge": _scaled(_need(elec, "StandingCharge"), sc_scale)}
        out["prices"] = tou or blocks[:1]
        if blocks and tou:
            out["block_prices"] = blocks
        return out
    gas = _find(body, "PriceElements/GasPriceElements")
    if gas is None:
        raise TranslationError("E6", "PriceElements holds neither electricity nor gas prices")
    matrix = next(c for c in gas if etree.QName(c).localname in ("TOUTariff", "BlockTariff"))
    standing = int(_need(gas, "StandingCharge")) / 1000
    if etree.QName(matrix).localname == "TOUTariff":
        return {
            "standing_charge": standing,
            "prices": [int(p.text or "0") / 1000 for p in _indexed(matrix, "TOUPrice")],
        }
    # A gas block tariff has no TOU prices: the S1SP's meter holds one TOU rate, at block 1's price.
    blocks = [int(p.text or "0") / 1000 for p in _indexed(matrix, "BlockPrice")]
    return {"standing_charge": standing, "prices": blocks[:1], "block_prices": blocks}


def _tariff(body: etree._Element) -> dict[str, Any]:
    """1.1.1: the prices, their number as ``rates``, the first day profile's TOU switches, and the
    electricity block thresholds of the first threshold set (Wh, as kWh) with a ``HybridTariff``'s
    block prices of block tariff 1 (``_prices``)."""
    out = _prices(body)
    out["rates"] = len(out["prices"])
    profile = _find(body, "ElecTariffElements/SwitchingTable/DayProfiles/DayProfile")
    switches = []
    for entry in [] if profile is None else profile.findall("{*}ProfileSchedule"):
        start, action = entry.find("{*}StartTime"), entry.find("{*}TOUTariffAction")
        if start is not None and action is not None and start.text and action.text:
            switches.append(
                {"at": time.fromisoformat(start.text.strip()).isoformat(), "rate": int(action.text)}
            )
    if switches:
        out["switches"] = switches
    days = _gas_days(body)
    if days:
        out["days"] = days
    # Block thresholds are Wh (the S1SP's are kWh); the S1SP's meter holds one set: set 1.
    thresholds = _indexed(_find(body, "ElecTariffElements/ThresholdMatrix"), "Thresholds")[:1]
    values = [int(t.text or "0") / 1000 for th in thresholds for t in _indexed(th, "BlockThreshold")]
    gas_blocks = _find(body, "PriceElements/GasPriceElements/BlockTariff")
    if gas_blocks is not None:  # as many gas thresholds as the block prices name
        gas = _indexed(_find(body, "GasTariffElements/ThresholdMatrix"), "BlockThreshold")
        values = [int(t.text or "0") / 1000 for t in gas[: int(_need(gas_blocks, "NumberOfThresholds"))]]
    if any(values):
        out["block_thresholds"] = values
    return out


def _gas_days(body: etree._Element) -> list[int]:
    """A gas tariff's rate for each weekday (Monday first): the first week profile's
    ``ReferencedDayName`` (index 1 = Monday) looked up in the day profiles (one ``TOUTariffAction``
    each: a gas meter switches rate by day). Empty for an electricity tariff or a block gas tariff."""
    table = _find(body, "GasTariffElements/SwitchingTable")
    if table is None:
        return []
    rate_of: dict[str, int] = {}
    for day in table.findall("{*}DayProfiles/{*}DayProfile"):
        name, action = day.findtext("{*}DayName"), day.findtext("{*}TOUTariffAction")
        if name is not None and action is not None:
            rate_of[name.strip()] = int(action)
    if not rate_of:  # a block tariff's day profiles (BlockTariff) name no TOU rate
        return []
    week = table.find("{*}WeekProfiles/{*}WeekProfile")
    refs = _indexed(week, "ReferencedDayName") if week is not None else []
    if len(refs) != 7 or any((r.text or "").strip() not in rate_of for r in refs):
        raise TranslationError("E6", "GasTariffElements: a weekday's day profile names no TOU rate")
    return [rate_of[(r.text or "").strip()] for r in refs]


def _balance(body: etree._Element) -> dict[str, Any]:
    """1.5: ``AdjustMeterBalance`` (pence, either payment mode) is the S1SP's ``delta`` (pence)."""
    adjust = body.find("{*}*/{*}AdjustMeterBalance")
    if adjust is None or adjust.text is None:
        raise TranslationError("E6", "UpdateMeterBalance: only AdjustMeterBalance is supported")
    return {"delta": _pence(adjust.text)}


def _mode(body: etree._Element) -> dict[str, Any]:
    return {"mode": "credit" if _find(body, "Credit") is not None else "prepayment"}


def _prepay(body: etree._Element) -> dict[str, Any]:
    """2.1: thresholds and limits, pence (either fuel)."""
    cfg = body.find("{*}UpdatePrepayConfigElectricity")
    cfg = cfg if cfg is not None else body.find("{*}UpdatePrepayConfigGas")
    if cfg is None:
        raise TranslationError("E6", "UpdatePrepayConfiguration holds no configuration")
    fields = {
        "LowCreditThreshold": "low_credit_threshold",
        "EmergencyCreditLimit": "emergency_credit_limit",
        "EmergencyCreditThreshold": "emergency_credit_threshold",
        "MaxMeterBalance": "max_balance",
        "MaxCreditThreshold": "max_credit",
    }
    return {ours: _pence(v) for theirs, ours in fields.items() if (v := _text(cfg, theirs)) is not None}


def _debt(body: etree._Element) -> dict[str, Any]:
    """2.3: DUIS sets all three debt registers at once (pence; a 0 is a value, not an omission). Time
    debt 1 and 2 recover at the rate of ``*DebtRecovery1`` and ``*DebtRecovery2`` (electricity: value x
    10^DebtRecoveryRatePriceScale GBP; gas: pence), the payment debt at ``DebtRecoveryPerPayment``
    (hundredths of a percent of each payment: 0-10000) — the S1SP's rate is a percentage."""

    def rate(index: int) -> float:
        el = body.find(f"{{*}}ElecDebtRecovery{index}")
        el = el if el is not None else body.find(f"{{*}}GasDebtRecovery{index}")
        if el is None or (value := _text(el, "DebtRecoveryRate")) is None:
            return 0.0
        scale = _text(el, "DebtRecoveryRatePriceScale")
        return _scaled(value, int(scale)) if scale is not None else _pence(value)

    per_payment = _text(body, "DebtRecoveryPerPayment")
    rates = {
        "time_debt_1": rate(1),
        "time_debt_2": rate(2),
        "payment_debt": int(per_payment) / 100 if per_payment is not None else 0.0,
    }
    names = {
        "TimeDebtRegister1": "time_debt_1",
        "TimeDebtRegister2": "time_debt_2",
        "PaymentDebtRegister": "payment_debt",
    }
    debts = [
        {"name": ours, "amount": _pence(v), "rate": rates[ours]}
        for theirs, ours in names.items()
        if (v := _text(body, theirs)) is not None
    ]
    return {"debts": debts}


def _range(body: etree._Element) -> dict[str, Any]:
    start, end = _text(body, "ReadLogPeriod/StartDateTime"), _text(body, "ReadLogPeriod/EndDateTime")
    return {k: _iso(v) for k, v in (("from", start), ("to", end)) if v is not None}


_FREQUENCY_S = {
    "Daily": 86400,
    "Weekly": 7 * 86400,
    "Monthly": 30 * 86400,
    "Quarterly": 91 * 86400,
    "Half-Yearly": 182 * 86400,
    "Yearly": 365 * 86400,
}


def _schedule(body: etree._Element) -> dict[str, Any]:
    """5.1: the scheduled SRV, start date and time (UTC), and the frequency as a period."""
    day = _need(body, "ScheduleStartDate")[:10]
    at = _text(body, "ScheduleExecutionStartTime") or "00:00:00"
    start = datetime.fromisoformat(f"{day}T{at.replace('Z', '')}").replace(tzinfo=UTC)
    return {
        "srv": _need(body, "DSPScheduledServiceReferenceVariant"),
        "start": start.isoformat(),
        "period_s": _FREQUENCY_S[_need(body, "ScheduleFrequency")],
    }


def _schedule_id(body: etree._Element, *, required: bool) -> dict[str, Any]:
    sid = _text(body, "DSPScheduleID")
    if sid is None:
        if required:
            raise TranslationError("E6", "only a DSPScheduleID can be deleted here (not every schedule)")
        return {}
    return {"schedule_id": f"S{int(sid)}"}


def _load_limit(body: etree._Element) -> dict[str, Any]:
    return {
        "threshold_w": float(_need(body, "LoadLimitPowerThreshold")),
        "period_s": float(_need(body, "LoadLimitPeriod")),
        "restoration_s": float(_need(body, "LoadLimitRestorationPeriod")),
    }


def _calendar(body: etree._Element) -> dict[str, Any]:
    """6.8. Gas: the start date and period. Electricity: the billing time, period and day as DUIS carries
    them (``ElectricityBillingCalendar``: no start date) — the S1SP's meter bills at the next occurrence
    of that time by its own clock; the DSP does not make up a start from its own clock."""
    gas = body.find("{*}GasBillingCalendar")
    if gas is not None:
        period = {"Daily": "daily", "Weekly": "weekly"}.get(_need(gas, "Periodicity"), "monthly")
        return {"start": _iso(_need(gas, "BillingPeriodStart")), "period": period}
    elec = body.find("{*}ElectricityBillingCalendar")
    if elec is None:
        raise TranslationError("E6", "no billing calendar")
    billing = time.fromisoformat(_need(elec, "BillingTime").replace("Z", ""))
    out: dict[str, Any] = {"billing_time": billing.replace(tzinfo=None).isoformat()}
    for child in elec:
        kind = etree.QName(child).localname
        if kind == "Daily":
            out["period"] = "daily"
        elif kind in ("Weekly", "Monthly"):
            out["period"], out["day"] = kind.lower(), int((child.text or "").strip())
        elif kind != "BillingTime":  # Quarterly, SixMonthly, Yearly: no SMETS1 calendar period here
            raise TranslationError(
                "E6", f"the virtual S1SP's meters bill daily, weekly or monthly, not {kind}"
            )
    return out


def _log(body: etree._Element) -> dict[str, Any]:
    return {"log": "security" if "Security" in _need(body, "LogToRead") else "event"}


_ROLES = {"Supplier": "supplier", "NetworkOperator": "network_operator"}


def _krp(body: etree._Element) -> dict[str, Any]:
    role = _ROLES.get(_need(body, "RemotePartyRole"))
    if role is None:
        raise TranslationError("E6", "only the Supplier and NetworkOperator credentials can be updated")
    return {"credential_roles": [role]}


def _read_creds(body: etree._Element) -> dict[str, Any]:
    roles = [r.text.strip() for r in body.findall(_q("RemotePartyRole")) if r.text]
    ours = [_ROLES[r] for r in roles if r in _ROLES]
    return {"credential_role": ours[0]} if ours else {}


def _mpxn(body: etree._Element) -> dict[str, Any]:
    value = _text(body, "ImportMPANs/ImportMPAN") or _text(body, "ImportMPRN")
    return {"mpxn": value}


def _alerts(body: etree._Element) -> dict[str, Any]:
    """6.22: each ``x<code>`` element (Enable/Disable) of the alert groups, in document order."""
    out = []
    for el in body.iter():
        name = etree.QName(el).localname if isinstance(el.tag, str) else ""
        if re.fullmatch(r"x[0-9A-Fa-f]{4}", name) and el.text:
            out.append({"code": f"0x{name[1:].upper()}", "send": el.text.strip() == "Enable"})
    return {"alerts": out}


def _cos(body: etree._Element, originator: str) -> dict[str, Any]:
    """6.23: the new supplier is the requesting User (its certificates are what replaces the old)."""
    return {"new_supplier": originator}


def _tamper(body: etree._Element) -> dict[str, Any]:
    return {"state": _need(body, "SupplyTamperState").lower()}


def _inventory(body: etree._Element) -> dict[str, Any]:
    status = _text(body, "UpdateDeviceStatusCH") or _text(body, "UpdateDeviceStatusExceptCH")
    if status is not None:
        return {"status": status}
    mpxn = _text(body, "UpdateMPxN/ImportMPxN")
    if mpxn is not None:
        return {"mpxn": mpxn}
    raise TranslationError(
        "E6", "the virtual S1SP updates a device's status or its import MPxN only (UpdateInventory)"
    )


def _han_log(body: etree._Element) -> dict[str, Any]:
    """8.11: Add or Remove one device. The S1SP wants the added device's role, which DUIS does not
    carry: ``other`` here, replaced by :func:`translate` with the role the DSP's inventory gives."""
    device = _need(body, "DeviceID").upper()
    if _need(body, "RequestType") == "Remove":
        return {"remove": [device]}
    return {"add": {device: "other"}}


#: The virtual lab's firmware images name the model they are built for in a text header (a real image's
#: header does the same in its vendor's format; docs/virtual-lab.md, "Virtual DSP").
IMAGE_HEADER = re.compile(rb"^DMCT-FIRMWARE model=(?P<model>\S*) ")


def _firmware(body: etree._Element) -> dict[str, Any]:
    """11.1: the version, and the model the image the User sent is built for (the S1SP distributes an
    image of that model, which the device's verification refuses when it is not its own)."""
    out: dict[str, Any] = {"version": _need(body, "FirmwareVersion")}
    try:
        image = base64.b64decode(_text(body, "FirmwareImage") or "", validate=False)
    except ValueError:
        image = b""
    header = IMAGE_HEADER.match(image)
    if header is not None and header.group("model"):
        out["image_model"] = header.group("model").decode(errors="replace")
    return out


def _supplier_name(body: etree._Element) -> dict[str, Any]:
    return {"name": _need(body, "SupplierName")}


def _message(body: etree._Element) -> dict[str, Any]:
    return {"text": _need(body, "SupplierMessage")}


def _restrict(body: etree._Element) -> dict[str, Any]:
    return {"from_date": _iso(_need(body, "RestrictionDateTime"))}


def _top_up(body: etree._Element) -> dict[str, Any]:
    return {"utrn": _need(body, "UTRN")}


Reader = Callable[[etree._Element, str], dict[str, Any]]


def _plain(fn: Callable[[etree._Element], dict[str, Any]]) -> Reader:
    return lambda body, originator: fn(body)


#: SRV -> (body element, params reader or None for an SRV without parameters).
BODIES: dict[str, tuple[str, Reader | None]] = {
    "1.1.1": ("UpdateImportTariffPrimaryElement", _plain(_tariff)),
    "1.2.1": ("UpdatePricePrimaryElement", _plain(_prices)),
    "1.5": ("UpdateMeterBalance", _plain(_balance)),
    "1.6": ("UpdatePaymentMode", _plain(_mode)),
    "2.1": ("UpdatePrepayConfiguration", _plain(_prepay)),
    "2.2": ("TopUpDevice", _plain(_top_up)),
    "2.3": ("UpdateDebt", _plain(_debt)),
    "2.5": ("ActivateEmergencyCredit", None),
    "3.1": ("DisplayMessage", _plain(_message)),
    "3.2": ("RestrictAccessForChangeOfTenancy", _plain(_restrict)),
    "3.4": ("UpdateSupplierName", _plain(_supplier_name)),
    "4.1.1": ("ReadInstantaneousImportRegisters", None),
    "4.1.2": ("ReadInstantaneousImportTOUMatrices", None),
    "4.3": ("ReadInstantaneousPrepayValues", None),
    "4.4.2": ("RetrieveCoMOrTariffTriggeredBillingDataLog", _plain(_range)),
    "4.6.1": ("RetrieveImportDailyReadLog", _plain(_range)),
    "4.8.1": ("ReadActiveImportProfileData", _plain(_range)),
    "4.11.1": ("ReadTariffPrimaryElement", None),
    "4.13": ("ReadPrepaymentConfiguration", None),
    "4.18": ("ReadMeterBalance", None),
    "5.1": ("CreateSchedule", _plain(_schedule)),
    "5.2": ("ReadSchedule", _plain(lambda b: _schedule_id(b, required=False))),
    "5.3": ("DeleteSchedule", _plain(lambda b: _schedule_id(b, required=True))),
    "6.2.1": ("ReadDeviceConfigurationVoltage", None),
    "6.2.2": ("ReadDeviceConfigurationRandomisation", None),
    "6.2.3": ("ReadDeviceConfigurationBillingCalendar", None),
    "6.2.4": ("ReadDeviceConfigurationIdentityExcMPxN", None),
    "6.2.5": ("ReadDeviceConfigurationInstantaneousPowerThresholds", None),
    "6.2.7": ("ReadDeviceConfigurationMPxN", None),
    "6.2.8": ("ReadDeviceConfigurationGas", None),
    "6.2.9": ("ReadDeviceConfigurationPaymentMode", None),
    "6.2.10": ("ReadDeviceConfigurationEventAndAlertBehaviours", None),
    "6.4.1": ("UpdateDeviceConfigurationLoadLimitingGeneralSettings", _plain(_load_limit)),
    "6.4.2": ("UpdateDeviceConfigurationLoadLimitingCounterReset", None),
    "6.8": ("UpdateDeviceConfigurationBillingCalendar", _plain(_calendar)),
    "6.11": ("SynchroniseClock", None),
    "6.13": ("ReadEventOrSecurityLog", _plain(_log)),
    "6.15.1": ("UpdateSecurityCredentialsKRP", _plain(_krp)),
    "6.20.1": ("SetDeviceConfigurationImportMPxN", _plain(_mpxn)),
    "6.22": ("ConfigureAlertBehaviour", _plain(_alerts)),
    "6.23": ("UpdateSecurityCredentialsCoS", _cos),
    "6.24.1": ("RetrieveDeviceSecurityCredentialsKRP", _plain(_read_creds)),
    "6.25": ("SetElectricitySupplyTamperState", _plain(_tamper)),
    "7.1": ("EnableSupply", None),
    "7.2": ("DisableSupply", None),
    "7.3": ("ArmSupply", None),
    "7.4": ("ReadSupplyStatus", None),
    "8.2": ("ReadInventory", None),
    "8.3": ("DecommissionDevice", None),
    "8.4": ("UpdateInventory", _plain(_inventory)),
    "8.7.2": ("JoinServiceNonCritical", None),
    "8.8.2": ("UnjoinServiceNonCritical", None),
    "8.9": ("ReadDeviceLog", None),
    "8.11": ("UpdateHANDeviceLog", _plain(_han_log)),
    "11.1": ("UpdateFirmware", _plain(_firmware)),
    "11.2": ("ReadFirmwareVersion", None),
    "11.3": ("ActivateFirmware", None),
}
#: SRVs whose device is named in the body, not by the RequestID's target (non-device requests).
BODY_DEVICE = {
    "5.1": "DeviceID",
    "5.2": "DeviceID",
    "5.3": "DeviceID",
    "8.2": "DeviceID",
    "8.3": "DeviceID",
    "8.4": "DeviceID",
}


def parse_request_id(value: str) -> tuple[str, str, int]:
    """``originator:target:counter`` (EUI-64s upper-cased)."""
    parts = value.split(":")
    if len(parts) != 3 or not EUI64.match(parts[0]) or not EUI64.match(parts[1]) or not parts[2].isdigit():
        raise TranslationError("E1", f"RequestID {value!r} is not originator:target:counter")
    return parts[0].upper(), parts[1].upper(), int(parts[2])


def translate(root: etree._Element, device_type: Callable[[str], str | None] | None = None) -> DuisRequest:
    """The S1SP request a schema-valid DUIS ``Request`` stands for (raises :class:`TranslationError`).

    ``device_type`` gives a device's DSP inventory type (``ESME``, ``GSME``, ...) or None: 8.11 names
    the device to add to the CH's log, not its type, which the S1SP needs."""
    if root.tag != _q("Request"):
        raise TranslationError("E1", f"expected a DUIS Request, got {etree.QName(root).localname}")
    rid = _need(root, "Header/RequestID")
    originator, target, counter = parse_request_id(rid)
    variant = int(_need(root, "Header/CommandVariant"))
    srv = _need(root, "Header/ServiceReferenceVariant")
    if not srv.startswith(_need(root, "Header/ServiceReference")):
        raise TranslationError(
            "E1", f"ServiceReferenceVariant {srv} is not a variant of the ServiceReference"
        )
    body_parent = _find(root, "Body")
    body = body_parent[0] if body_parent is not None and len(body_parent) else None
    if body is None:
        raise TranslationError("E1", "the request has no body")
    name = etree.QName(body).localname
    known = BODIES.get(srv)
    if known is None:
        return DuisRequest(
            rid, originator, target, counter, variant, srv, name, target
        )  # the S1SP says E4/E13
    if known[0] != name:
        raise TranslationError("E1", f"SRV {srv} takes a {known[0]} body, not {name}")
    if srv in NON_DEVICE:
        if variant != NON_DEVICE_VARIANT:
            raise TranslationError(
                "E2", f"SRV {srv} is a non-device request: command variant 8, not {variant}"
            )
    elif variant not in SUPPORTED_VARIANTS:
        raise TranslationError("E2", f"command variant {variant} is not supported for SMETS1 (use 1-3)")
    device = target
    if srv in BODY_DEVICE and (named := _text(body, BODY_DEVICE[srv])) is not None:
        device = named.upper()
    reader = known[1]
    try:
        params = reader(body, originator) if reader is not None else {}
        when = _text(body, "ExecutionDateTime")
        future = _iso(when) if when is not None else None
    except TranslationError:
        raise
    except (ValueError, KeyError, StopIteration) as exc:
        raise TranslationError("E6", f"{name}: {exc}") from None
    if srv == "8.11" and device_type is not None and isinstance(params.get("add"), dict):
        params["add"] = {
            eui: TYPE_TO_ROLE.get((device_type(eui) or "").upper(), "other") for eui in params["add"]
        }
    return DuisRequest(rid, originator, target, counter, variant, srv, name, device, params, future)
