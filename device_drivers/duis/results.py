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


#: SRV -> how to read the packs' names from the payload (as :func:`responses.element_data` gives it).
READERS: dict[str, Callable[[Data], Data]] = {
    "7.4": _lower("SupplyState", "supply"),
    "11.2": lambda d: {"firmware_version": d["FirmwareVersion"]} if d.get("FirmwareVersion") else {},
    "4.18": _balance,
    "6.2.9": _lower("PaymentMode", "payment_mode"),
    "6.2.7": _mpxn,
    "8.2": _inventory,
    "5.1": _schedule_id,
}


def pack_result(srv: str, data: Any) -> Any:
    """``data`` with the packs' names for ``srv`` added (the payload's own names kept)."""
    if not isinstance(data, dict):
        return data
    reader = READERS.get(srv)
    return data if reader is None else {**data, **reader(data)}
