"""The instrument bank's register map as the virtual lab reads it: points, their encoding, the default map.

Why the simulator has its own reader: the harness's Modbus driver and the bank
served here must agree on the *specification* — ``specifications/modbus_instruments.yaml``, or a lab
file's own map in the same shape — but not share code, or a bug in the driver's encoding would be
served back to it and never show. So this module parses the same data with its own code: a small
frozen :class:`RegisterPoint` per point, its own register encoding (:func:`encode`, :func:`decode`),
and the well-known point names the bank couples to the device models.

A map handed in by the lab process is plain data (the lab file's validated map dumped to a mapping);
it has been validated once already by the lab-file loader, so this reader only fills the defaults a
kind implies and refuses what it could not serve.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import specifications

PointKind = Literal["coil", "discrete", "holding", "input"]
KINDS: tuple[PointKind, ...] = ("coil", "discrete", "holding", "input")

_SPEC = specifications.load("modbus_instruments")
#: Registers (or bits) each data type occupies.
WIDTHS: dict[str, int] = {name: int(t["width"]) for name, t in _SPEC["types"].items()}
#: ``struct`` codes of the register types (big-endian bytes within a register).
_STRUCT = {"uint16": "H", "int16": "h", "uint32": "I", "int32": "i", "float32": "f"}

_NAMES: dict[str, str] = _SPEC["well_known"]
#: Relay coils are ``<role>_power``: the suffix tells the bank which device a coil powers.
POWER_SUFFIX = _NAMES["power"].format(role="")
LOAD_SETPOINT = _NAMES["load_setpoint"]
MEASURED_POWER = _NAMES["measured_power"]
LOAD_CURRENT = _NAMES["load_current"]
GAS_FLOW_SETPOINT = _NAMES["gas_flow_setpoint"]
MEASURED_GAS_FLOW = _NAMES["measured_gas_flow"]
#: Tamper actuator coils are ``<role>_terminal_cover``: the suffix names the device whose cover it lifts.
TAMPER_SUFFIX = _NAMES["tamper"].format(role="")
BATTERY_LEVEL = _NAMES["battery_level"]


@dataclass(frozen=True)
class RegisterPoint:
    """One served value: table, address, data type and scaling, whether it may be written, limits."""

    kind: PointKind
    address: int
    type: str = "uint16"
    scale: float = 1.0
    access: str = "rw"
    word_order: str = "big"
    min: float | None = None
    max: float | None = None
    initial: float = 0.0

    @property
    def width(self) -> int:
        return WIDTHS[self.type]

    @property
    def writable(self) -> bool:
        return self.access == "rw"

    @property
    def span(self) -> range:
        return range(self.address, self.address + self.width)


RegisterMap = dict[str, RegisterPoint]


def read_point(name: str, data: Mapping[str, Any]) -> RegisterPoint:
    """One point from map data, with the defaults its kind implies (a coil is a bool, an input is
    read-only)."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"point {name}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    bit = kind in ("coil", "discrete")
    point_type = str(data.get("type") or ("bool" if bit else "uint16"))
    if point_type not in WIDTHS or bit != (point_type == "bool"):
        raise ValueError(f"point {name}: a {kind} cannot have type {point_type!r}")
    access = str(data.get("access") or ("r" if kind in ("discrete", "input") else "rw"))
    return RegisterPoint(
        kind=cast(PointKind, kind),
        address=int(data["address"]),
        type=point_type,
        scale=float(data.get("scale", 1.0)),
        access=access,
        word_order=str(data.get("word_order", "big")),
        min=None if data.get("min") is None else float(data["min"]),
        max=None if data.get("max") is None else float(data["max"]),
        initial=float(data.get("initial", 0.0)),
    )


def read_map(data: Mapping[str, Mapping[str, Any]]) -> RegisterMap:
    """A register map from data: point name → point fields, as in the specification's ``default_map``."""
    return {name: read_point(name, fields) for name, fields in data.items()}


def default_map() -> RegisterMap:
    """The specification's default map: what the bank serves when the lab file gives none."""
    return read_map(_SPEC["default_map"])


def of_kind(points: RegisterMap, kind: PointKind) -> dict[str, RegisterPoint]:
    return {n: p for n, p in points.items() if p.kind == kind}


def encode(point: RegisterPoint, value: float) -> list[int]:
    """Engineering value → the registers holding it (register types only)."""
    raw: float | int = value / point.scale
    if point.type != "float32":
        raw = round(raw)
    try:
        data = struct.pack(">" + _STRUCT[point.type], raw)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {point.type} (scale {point.scale:g}): {exc}") from None
    regs = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return regs[::-1] if point.word_order == "little" else regs


def decode(point: RegisterPoint, registers: list[int]) -> float:
    """The registers of a point → its engineering value."""
    regs = [int(r) for r in registers[: point.width]]
    if point.word_order == "little":
        regs.reverse()
    number = struct.unpack(">" + _STRUCT[point.type], b"".join(r.to_bytes(2, "big") for r in regs))[0]
    return float(number) * point.scale
