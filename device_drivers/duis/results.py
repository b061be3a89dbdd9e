"""The packs' result vocabulary from DUIS payloads, where DUIS and MMC carry the same fact.

The packs read results by the names of ``docs/protocols/service-route.md`` (``result["supply"]``). Over
DUIS a SMETS1 result is an MMC payload (``ra:ReadSupplyStatusRsp/ra:SupplyState``) and a DSP result a DSP
body (``sr:DSPInventory``). This module adds the packs' names next to the payload's own, for the SRVs
whose DUIS payload holds what the packs read; it never invents a value DUIS does not carry (8.2's
``supplier`` is not in ``DSPInventory``, 4.4.2's trigger and time, 4.3's recovery rates, 6.24.1's key
versions are not in the MMC payloads: they stay absent and a pack reading them fails visibly).
Pure data-in, data-out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _number(text: Any) -> int | float | None:
    if not isinstance(text, str):
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _lower(key: str, out: str) -> Callable[[Data], Data]:
    def read(d: Data) -> Data:
        v = d.get(key)
        return {out: v.lower()} if isinstance(v, str) else {}

    return read


def _balance(d: Data) -> Data:
    gas = d.get("Gas")
    raw = d.get("MeterBalance")
    if raw is None and isinstance(gas, dict):
        raw = gas.get("MeterBalancePrepaymentMode")
    n = _number(raw)
    return {} if n is None else {"balance": n}


def _mpxn(d: Data) -> Data:
    elec, gas = d.get("Electricity"), d.get("Gas")
    if isinstance(elec, dict) and elec.get("ImportMPAN"):
        return {"mpxn": elec["ImportMPAN"]}
    if isinstance(gas, dict) and gas.get("MPRN"):
        return {"mpxn": gas["MPRN"]}
    return {}


def _inventory(d: Data) -> Data:
    inv = d.get("DSPInventory")
    device = _first(inv.get("Device")) if isinstance(inv, dict) else None
    if not isinstance(device, dict):
        return {}
    names = {"DeviceID": "device_id", "DeviceType": "device_type", "DeviceStatus": "status",
             "DeviceManufacturer": "manufacturer", "DeviceModel": "model",
             "DeviceFirmwareVersion": "firmware_version", "ImportMPxN": "mpxn"}  # fmt: skip
    return {out: device[key] for key, out in names.items() if device.get(key) is not None}


def _schedule_id(d: Data) -> Data:
    sid = d.get("DSPScheduleID")
    return {"schedule_id": sid} if isinstance(sid, str) else {}


#: 4.13: MMC ``ReadPrepaymentConfigurationRsp`` element -> the packs' name (money in integer pence).
PREPAY_CONFIG = {
    "LowCreditThreshold": "low_credit_threshold",
    "EmergencyCreditLimit": "emergency_credit_limit",
    "EmergencyCreditThreshold": "emergency_credit_threshold",
    "DisablementThreshold": "disablement_threshold",
    "CreditMaxCreditThreshold": "max_credit",
    "MaxCreditMaxMeterBalance": "max_balance",
    "DebtRecoveryRateCap": "debt_recovery_rate_cap",
}


def _prepay_config(d: Data) -> Data:
    out = {name: _number(d.get(key)) for key, name in PREPAY_CONFIG.items()}
    return {k: v for k, v in out.items() if v is not None}


def _alert_codes(node: Any, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if len(key) == 5 and key[0] == "x" and value == "Disable":
                out.append("0x" + key[1:].upper())
            else:
                _alert_codes(value, out)
    elif isinstance(node, list):
        for item in node:
            _alert_codes(item, out)


def _suppressed(d: Data) -> Data:
    """6.2.10: the alerts switched off for sending over the WAN (what 6.22 configures)."""
    elec = d.get("ElectricitySupplierAlertEventSettings")
    source = elec.get("ElectricitySupplierWANAlertSettings") if isinstance(elec, dict) else d
    out: list[str] = []
    _alert_codes(source, out)
    return {"suppressed": sorted(set(out))}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _device_log(d: Data) -> Data:
    """8.9: the CH's device log; ``joined`` where the payload says which devices are connected."""
    log = d.get("DeviceLogEntries")
    entries = _as_list(log.get("LogEntry")) if isinstance(log, dict) else []
    connected_log = d.get("CHFConnectedDeviceLog")
    current: set[str] | None = None
    if isinstance(connected_log, dict):
        now = _as_list(connected_log.get("CHFCurrentConnectedDeviceLogEntry"))
        current = {str(e.get("DeviceID", "")).upper() for e in now if isinstance(e, dict)}
    devices = []
    for e in entries:
        if not isinstance(e, dict) or not e.get("DeviceID"):
            continue
        device: Data = {"eui": e["DeviceID"], "type": str(e.get("DeviceType", "")).lower()}
        if current is not None:
            device["joined"] = str(e["DeviceID"]).upper() in current
        devices.append(device)
    return {"devices": devices} if log is not None else {}


def _event_log(d: Data) -> Data:
    """6.13: ``entries`` of ``{code: "0x…", at, details}`` (``OtherInformation`` kept raw)."""
    log = d.get("Log")
    if not isinstance(log, dict):
        return {}
    out = []
    for e in _as_list(log.get("LogEntry")):
        if isinstance(e, dict) and e.get("LogCode"):
            details = {"other": e["OtherInformation"]} if e.get("OtherInformation") else {}
            out.append(
                {"code": "0x" + str(e["LogCode"]).upper(), "at": e.get("Timestamp"), "details": details}
            )
    return {"entries": out}


def _indexed_values(node: Any) -> list[float]:
    """``[{"@index": "2", "#text": "90"}, ...]`` (or one such dict) as numbers in index order."""
    items = [i for i in _as_list(node) if isinstance(i, dict)]
    items.sort(key=lambda i: _number(i.get("@index")) or 0)
    return [float(n) for i in items if (n := _number(i.get("#text"))) is not None]


def _pence(value: Any, scale: Any) -> float | None:
    """``value`` x 10^``scale`` GBP in pence (the units of docs/protocols/duis.md, Assumptions 1)."""
    n = value if isinstance(value, int | float) else _number(value)
    sc = _number(scale)
    return None if n is None or sc is None else round(n * 10.0 ** (int(sc) + 2), 6)


def _first_indexed(node: Any) -> Any:
    """The entry with ``@index`` 1 of a repeated element (block tariff 1, threshold set 1)."""
    return next((i for i in _as_list(node) if isinstance(i, dict) and str(i.get("@index")) == "1"), None)


def _tariff(d: Data) -> Data:
    """4.11.1: ``prices`` and ``standing_charge`` in pence, ``rates`` their number, and a block tariff's
    ``block_prices`` (pence) and ``block_thresholds`` (kWh; DUIS Wh) where the meter holds one: the
    electricity block tariff 1 and threshold set 1, the gas block prices and thresholds. Electricity
    prices are x 10^``PriceScale`` GBP; gas prices (no scale, as in DUIS) thousandths of a penny; a gas
    block tariff has no TOU price (``prices``: block 1's, as the request says it). The TOU switches are
    not read (the MMC switching table's shape differs from the packs' list)."""
    out: Data = {}
    elec, gas = d.get("Electricity"), d.get("Gas")
    blocks: list[float] = []
    thresholds: list[float] = []
    if isinstance(elec, dict):
        matrix = elec.get("TariffTOUPriceMatrix")
        raw = _indexed_values(matrix.get("TariffTOUPrice")) if isinstance(matrix, dict) else []
        prices = [_pence(p, elec.get("PriceScale")) for p in raw]
        if raw and all(p is not None for p in prices):
            out["prices"] = prices
        standing = _pence(elec.get("StandingCharge"), elec.get("StandingChargeScale"))
        if standing is not None:
            out["standing_charge"] = standing
        block_matrix = elec.get("TariffBlockPriceMatrix")
        first = (
            _first_indexed(block_matrix.get("TariffBlockPrices")) if isinstance(block_matrix, dict) else None
        )
        raw_blocks = _indexed_values(first.get("BlockPrice")) if first else []
        scaled = [_pence(p, elec.get("PriceScale")) for p in raw_blocks]
        blocks = [p for p in scaled if p is not None]
        th_matrix = elec.get("TariffThresholdMatrix")
        set1 = _first_indexed(th_matrix.get("ElecTariffThresholds")) if isinstance(th_matrix, dict) else None
        thresholds = _indexed_values(set1.get("BlockThreshold")) if set1 else []
    elif isinstance(gas, dict):
        matrix = gas.get("TOUTariff")
        raw = _indexed_values(matrix.get("TariffTOUPrice")) if isinstance(matrix, dict) else []
        block_prices = gas.get("BlockTariff")
        blocks = [round(p / 1000, 6) for p in _indexed_values(block_prices.get("BlockPrice"))] if isinstance(
            block_prices, dict) else []  # fmt: skip
        if raw:
            out["prices"] = [round(p / 1000, 6) for p in raw]
        elif blocks:
            out["prices"] = blocks[:1]
        standing = _number(gas.get("StandingCharge"))
        if standing is not None:
            out["standing_charge"] = round(standing / 1000, 6)
        th = gas.get("TariffThresholds")
        thresholds = _indexed_values(th.get("BlockThreshold")) if isinstance(th, dict) else []
    if any(thresholds) and blocks:
        out["block_thresholds"] = [t / 1000 for t in thresholds if t]
        out["block_prices"] = blocks[: len(out["block_thresholds"]) + 1]
    if "prices" in out:
        out["rates"] = len(out["prices"])
    return out


#: 4.3: MMC ``ReadInstantaneousPrepayValuesRsp`` debt registers -> the packs' debt names.
DEBT_REGISTERS = {"TimeDebtRegister1": "time_debt_1", "TimeDebtRegister2": "time_debt_2",
                  "PaymentDebtRegister": "payment_debt"}  # fmt: skip


def _prepay_values(d: Data) -> Data:
    """4.3: ``balance`` and ``debts`` (``{name: [amount]}``, pence). The payload holds each register's
    amount, not its recovery rate (the framed route's second item), so the lists carry the amount only."""
    out = _balance(d)
    debts = {name: [n] for key, name in DEBT_REGISTERS.items() if (n := _number(d.get(key))) is not None}
    if debts:
        out["debts"] = debts
    return out


def _daily_reads(d: Data) -> Data:
    """4.6.1: ``reads`` of ``{at, total_kwh}`` (the import register at each midnight)."""
    if "LogEntry" not in d:
        return {}
    reads = []
    for e in _as_list(d.get("LogEntry")):
        if not isinstance(e, dict):
            continue
        fuel = e.get("Electricity") if isinstance(e.get("Electricity"), dict) else e.get("Gas")
        fuel = fuel if isinstance(fuel, dict) else {}
        total = fuel.get(
            "ElecActiveImportRegisterConsumption", fuel.get("GasActiveImportRegisterConsumption")
        )
        reads.append({"at": e.get("Timestamp"), "total_kwh": _number(total)})
    return {"reads": reads}


def _billing_records(d: Data) -> Data:
    """4.4.2: ``records`` of ``{total_kwh}`` from the log's consumption registers. The MMC entries carry
    neither the snapshot's time nor its trigger (change of mode or tariff), so neither is invented."""
    elec, gas = d.get("Electricity"), d.get("Gas")
    if isinstance(elec, dict):
        entries, key = (
            _as_list(elec.get("LogEntryConsumptionAndTariffRegistersData")),
            "ActiveImportRegisterConsumption",
        )
    elif isinstance(gas, dict):
        entries, key = _as_list(gas.get("LogEntryConsumptionRegister")), "GasActiveImportRegisterConsumption"
    else:
        return {}
    return {"records": [{"total_kwh": _number(e.get(key))} for e in entries if isinstance(e, dict)]}


_FREQUENCY_S = {"Daily": 86400, "Weekly": 7 * 86400}


def _schedules(d: Data) -> Data:
    """5.2: ``schedules`` of ``{schedule_id, srv, period_s, start, device}`` from ``DSPSchedulesRead``
    (how often a schedule has run, the framed route's ``runs``, is not in it)."""
    read = d.get("DSPSchedulesRead")
    if not isinstance(read, dict):
        return {}
    out = []
    for s in _as_list(read.get("DSPSchedules")):
        if not isinstance(s, dict):
            continue
        details = s.get("DSPScheduleDetails")
        sched: Data = details if isinstance(details, dict) else {}
        item: Data = {
            "schedule_id": s.get("DSPScheduleID"),
            "srv": sched.get("DSPScheduledServiceReferenceVariant"),
            "start": sched.get("ScheduleStartDate"),
            "device": sched.get("DeviceID"),
        }
        if sched.get("ScheduleFrequency") in _FREQUENCY_S:
            item["period_s"] = _FREQUENCY_S[sched["ScheduleFrequency"]]
        out.append({k: v for k, v in item.items() if v is not None})
    return {"schedules": out}


def _credentials(d: Data) -> Data:
    """6.24.1: ``keys`` of ``{role, usage, hash}`` per remote party credential the device holds."""
    keys = []
    for party in _as_list(d.get("RemotePartyDetails")):
        if isinstance(party, dict) and party.get("RemotePartyRole"):
            keys.append({"role": str(party["RemotePartyRole"]), "usage": party.get("CertificateUsage"),
                         "hash": party.get("ExistingCertificateHash")})  # fmt: skip
    return {"keys": keys} if "RemotePartyDetails" in d else {}


_PERIODS = {"Daily": "daily", "Weekly": "weekly", "Monthly": "monthly"}


def _billing_calendar(d: Data) -> Data:
    """6.2.3: ``billing_calendar`` (None when the payload holds none). Gas: ``start`` and ``period``;
    electricity: ``billing_time``, ``period`` and (weekly, monthly) ``day`` — its MMC calendar has no
    start date (the framed route's 6.2.3 to an ESME gives the same three names)."""
    cal = d.get("BillingCalendar")
    if cal is None:
        return {"billing_calendar": None}
    if not isinstance(cal, dict):
        return {}
    gas, elec = cal.get("GasBillingCalendar"), cal.get("ElectricityBillingCalendar")
    if isinstance(gas, dict):
        period = _PERIODS.get(str(gas.get("Periodicity")), str(gas.get("Periodicity", "")).lower())
        return {"billing_calendar": {"start": gas.get("BillingPeriodStart"), "period": period}}
    if isinstance(elec, dict):
        kind = next((k for k in elec if k != "BillingTime"), "")
        out: Data = {"period": _PERIODS.get(kind, kind.lower()), "billing_time": elec.get("BillingTime")}
        day = _number(elec.get(kind)) if kind in ("Weekly", "Monthly") else None
        if day is not None:
            out["day"] = day
        return {"billing_calendar": out}
    return {}


#: SRV -> how to read the packs' names from the payload (as :func:`responses.element_data` gives it).
READERS: dict[str, Callable[[Data], Data]] = {
    "7.4": _lower("SupplyState", "supply"),
    "11.2": lambda d: {"firmware_version": d["FirmwareVersion"]} if d.get("FirmwareVersion") else {},
    "4.18": _balance,
    "6.2.9": _lower("PaymentMode", "payment_mode"),
    "6.2.7": _mpxn,
    "8.2": _inventory,
    "5.1": _schedule_id,
    "4.13": _prepay_config,
    "6.2.10": _suppressed,
    "8.9": _device_log,
    "6.13": _event_log,
    "4.11.1": _tariff,
    "4.3": _prepay_values,
    "4.6.1": _daily_reads,
    "4.4.2": _billing_records,
    "5.2": _schedules,
    "6.24.1": _credentials,
    "6.2.3": _billing_calendar,
}


def pack_result(srv: str, data: Any) -> Any:
    """``data`` with the packs' names for ``srv`` added (the payload's own names kept)."""
    if not isinstance(data, dict):
        return data
    reader = READERS.get(srv)
    return data if reader is None else {**data, **reader(data)}
