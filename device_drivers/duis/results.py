"""The packs' result vocabulary from DUIS payloads, where DUIS and MMC carry the same fact.

The packs read results by the names of ``docs/protocols/service-route.md`` (``result["supply"]``). Over
DUIS a SMETS1 result is an MMC payload (``ra:ReadSupplyStatusRsp/ra:SupplyState``) and a DSP result a DSP
body (``sr:DSPInventory``). This module adds the packs' names next to the payload's own, for the SRVs
whose DUIS payload holds what the packs read; it never invents a value DUIS does not carry (8.2's
``supplier`` is not in ``DSPInventory``, so it stays absent and a pack reading it fails visibly).
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
}


def pack_result(srv: str, data: Any) -> Any:
    """``data`` with the packs' names for ``srv`` added (the payload's own names kept)."""
    if not isinstance(data, dict):
        return data
    reader = READERS.get(srv)
    return data if reader is None else {**data, **reader(data)}
