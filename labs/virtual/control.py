"""The virtual lab's control API: change faults and device state of a running lab.

A tiny JSON Lines protocol on a loopback TCP port (its address is the ``control`` field of the
endpoints file): one JSON object per line in, one per line out, so any language (or ``nc``) can drive
it. Requests:

``{"op": "status"}``
    devices and their current fault settings.
``{"op": "fault", "device": "rig-1/esme" | "*", "set": {"drop": 0.05, "corrupt": 0.01, ...}}``
    merge fault settings (see :class:`labs.virtual.faults.FaultConfig`); ``"clear": true`` resets.
    ``"disconnect": true`` also cuts the device's open connections.
``{"op": "reboot", "device": ...}``
    cut connections and restart the device model's volatile state.
``{"op": "clock", "device": ..., "offset_s": 3600, "drift_ppm": 50}``
    step a device clock and/or make it drift (clock faults); the rig's reference time is untouched.
``{"op": "han", "device": "rig-1/ch", "lost": ["rig-1/gsme"], "restored": [...]}``
    HAN loss: the named devices drop off (or rejoin) the CH's HAN.
``{"op": "wan", "device": "rig-1/ch", "connected": false}``
    the CH loses (or regains) its WAN connection.
``{"op": "tamper", "device": "rig-1/esme" | "<EUI-64>", "kind": "signature", "count": 1}``
    a route fault: the S1SP spoils the device-level authentication of the next ``count`` Instructions it
    sends to that device after the DSP/DCO checks passed (``kind``: ``signature`` — the signature no
    longer verifies; ``retired_credential`` — signed with a credential the S1SP retired).
    ``"clear": true`` drops the pending ones. Logged (device ``route``) when set and when applied.
``{"op": "inventory_status", "device": "rig-1/esme" | "<EUI-64>", "status": "Suspended"}``
    the DCC's own change of the device's inventory status, outside any User's SRV (``Suspended`` when
    a model leaves the CPL, ``Commissioned`` again when it returns); follows the inventory's transition
    table. Answers the status it held (``was``) and holds now. Logged (device ``route``).
``{"op": "log"}``
    every fault injected so far.

Answers are ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``; a bad request never stops the
lab. :class:`LabControl` is the Python client used by tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labs.virtual.devices.ch import CommsHub
from labs.virtual.faults import FaultConfig
from labs.virtual.lab_state import VirtualDevice, VirtualLab

if TYPE_CHECKING:
    from labs.virtual.s1sp import S1spService

MAX_LINE = 1 << 16


def handle(lab: VirtualLab, request: Any) -> dict[str, Any]:
    """Apply one control request to the lab and return the answer (pure apart from the lab state)."""
    if not isinstance(request, dict) or not isinstance(request.get("op"), str):
        return {"ok": False, "error": "request must be a JSON object with an 'op'"}
    op = request["op"]
    try:
        if op == "status":
            answer: dict[str, Any] = {
                "ok": True,
                "devices": {n: asdict(d.faults.config) for n, d in lab.devices.items()},
            }
            if lab.route is not None:
                answer["route"] = {
                    "tamper": {lab.route.device_name(e): k for e, k in lab.route.tampers.items()}
                }
            return answer
        if op == "log":
            return {"ok": True, "log": lab.log.entries}
        if op == "tamper":
            return _tamper(lab, request)
        if op == "inventory_status":
            return _inventory_status(lab, request)
        targets = _targets(lab, request.get("device"))
        if op == "fault":
            for device in targets:
                base = None if request.get("clear") else device.faults.config
                device.faults.set(FaultConfig.from_dict(request.get("set") or {}, base))
                if device.faults.config.disconnect:
                    device.cut()
            return {"ok": True, "devices": [d.name for d in targets]}
        if op == "reboot":
            for device in targets:
                device.cut()
                device.model.reboot()
                lab.log.add(device.name, "reboot")
            return {"ok": True}
        if op == "clock":
            for device in targets:
                clock = device.model.clock
                clock.set(
                    clock.now() + timedelta(seconds=float(request.get("offset_s", 0))),
                    rate=request.get("rate"),
                )
                lab.log.add(
                    device.name, "clock", json.dumps({k: request.get(k) for k in ("offset_s", "rate")})
                )
            return {"ok": True}
        if op in ("han", "wan"):
            for device in targets:
                ch = device.model
                if not isinstance(ch, CommsHub):
                    raise ValueError(f"{device.name} is not a comms hub")
                if op == "wan":
                    ch.set_wan(bool(request["connected"]))
                else:
                    for name, lost in [(n, True) for n in request.get("lost", [])] + [
                        (n, False) for n in request.get("restored", [])
                    ]:
                        ch.set_han_loss(_targets(lab, name)[0].model.device_id, lost)
                detail = json.dumps(
                    {k: request.get(k) for k in ("connected", "lost", "restored") if k in request}
                )
                lab.log.add(device.name, op, detail)
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}
    except (ValueError, TypeError, KeyError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # KeyError's str() quotes
        return {"ok": False, "error": str(text)}


def _route_device(lab: VirtualLab, name: Any, doing: str) -> tuple[S1spService, str]:
    """The lab's route and the EUI-64 of the device ``name`` (as in the lab file, or its EUI-64)."""
    route = lab.route
    if route is None:
        raise ValueError(f"this lab serves no virtual route, so there is nothing to {doing}")
    if isinstance(name, str) and name in lab.devices:
        eui = lab.devices[name].model.device_id
    elif isinstance(name, str) and name.upper() in route.devices:
        eui = name.upper()
    else:
        known = ", ".join(route.device_name(e) for e in sorted(route.devices))
        raise KeyError(f"unknown device {name!r} for the route (known: {known})")
    if eui not in route.devices:
        raise KeyError(f"the route serves no device {name!r}")
    return route, eui


def _inventory_status(lab: VirtualLab, request: dict[str, Any]) -> dict[str, Any]:
    """The DCC's own status change of one device's inventory entry."""
    route, eui = _route_device(lab, request.get("device"), "change in the inventory")
    was, now = route.dcc_status(eui, request.get("status"))
    return {"ok": True, "device": route.device_name(eui), "eui64": eui, "was": was, "status": now}


def _tamper(lab: VirtualLab, request: dict[str, Any]) -> dict[str, Any]:
    """The route's ``tamper`` fault on one device, named as in the lab file or by its EUI-64."""
    route, eui = _route_device(lab, request.get("device"), "tamper with")
    if request.get("clear"):
        return {
            "ok": True,
            "device": route.device_name(eui),
            "eui64": eui,
            "dropped": route.clear_tamper(eui),
        }
    pending = route.tamper(eui, request.get("kind", "signature"), request.get("count", 1))
    return {"ok": True, "device": route.device_name(eui), "eui64": eui, "pending": pending}


def _targets(lab: VirtualLab, device: Any) -> list[VirtualDevice]:
    if device == "*":
        return list(lab.devices.values())
    if not isinstance(device, str) or device not in lab.devices:
        raise KeyError(f"unknown device {device!r} (known: {', '.join(lab.devices)})")
    return [lab.devices[device]]


async def serve_control(lab: VirtualLab, host: str) -> asyncio.Server:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    answer = handle(lab, json.loads(line))
                except json.JSONDecodeError as exc:
                    answer = {"ok": False, "error": f"invalid JSON: {exc.msg}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(client, host, 0, limit=MAX_LINE)


class LabControl:
    """Client for a running lab's control API (found through its endpoints file)."""

    def __init__(self, endpoints_file: Path, timeout: float = 5.0) -> None:
        data = json.loads(endpoints_file.read_text(encoding="utf-8"))
        host, _, port = str(data["control"]).rpartition(":")
        self._sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._file = self._sock.makefile("rwb")

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        self._file.write(json.dumps(request).encode() + b"\n")
        self._file.flush()
        answer: dict[str, Any] = json.loads(self._file.readline())
        if not answer.get("ok"):
            raise RuntimeError(f"lab control: {answer.get('error')}")
        return answer

    def fault(self, device: str, *, clear: bool = False, **settings: Any) -> None:
        self.call({"op": "fault", "device": device, "set": settings, "clear": clear})

    def reboot(self, device: str) -> None:
        self.call({"op": "reboot", "device": device})

    def tamper(self, device: str, kind: str = "signature", count: int = 1) -> dict[str, Any]:
        """The route's tamper fault on ``device`` (``rig/role`` or EUI-64)."""
        return self.call({"op": "tamper", "device": device, "kind": kind, "count": count})

    def log(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.call({"op": "log"})["log"]
        return entries

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> LabControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
