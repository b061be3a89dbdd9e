"""The schema of an instrument bank's register map and its lab-file configuration: a specification.

Why here and not in the driver: the lab file (:mod:`harness.lab.inventory`) describes a rig's
instrument bank, the driver (:mod:`device_drivers.protocols.modbus`) talks to it and the virtual lab
(:mod:`labs.virtual.instruments`) serves it. All three must agree on what a point *is* — kind, address,
type, scale, access — and on the default map, and none may borrow another's code. So the schema lives
here with the data it validates (``modbus_instruments.yaml``); how values are encoded on the wire and
how a bank is driven or simulated stay separate on each side.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from specifications import load

PointKind = Literal["coil", "discrete", "holding", "input"]
PointType = Literal["bool", "uint16", "int16", "uint32", "int32", "float32"]
Access = Literal["r", "rw"]
WordOrder = Literal["big", "little"]

#: The shared specification of an instrument bank (the virtual lab serves it, reading the same file
#: with its own code): data types, well-known point names and the default register map.
SPEC = load("modbus_instruments")

#: Registers each data type occupies, and its ``struct`` code (big-endian bytes within a register).
TYPE_WIDTH: dict[PointType, int] = {name: int(t["width"]) for name, t in SPEC["types"].items()}

#: What an instrument URL may look like (TCP) and the pyserial URL prefixes of a serial (RTU) bank.
TCP_URL = re.compile(r"^(?:tcp://)?(\[[0-9a-fA-F:]+\]|[^\s:/\[\]]+)(?::(\d{1,5}))?/?$")
SERIAL_PREFIXES = ("/dev/", "rfc2217://", "socket://", "loop://", "spy://")


# == the register map (configuration) ================================================================
class Point(BaseModel):
    """One named value of an instrument: where it lives, how it is encoded, whether it may be written.

    ``scale`` converts raw to engineering units (``value = raw * scale``), so a load source that
    counts tenths of a watt is ``type: uint32, scale: 0.1``. ``min``/``max`` are engineering-unit limits
    the *simulator* enforces (answering exception 3); the driver leaves enforcement to the instrument,
    because what a real instrument refuses is exactly what a lab engineer needs to see.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PointKind
    address: int = Field(ge=0, le=65535, description="protocol (0-based) address")
    type: PointType = "uint16"
    scale: float = 1.0
    access: Access = "rw"
    word_order: WordOrder = "big"
    unit: str = ""
    min: float | None = None
    max: float | None = None
    initial: float = 0.0
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Fill what the kind implies, so a lab file need not repeat it (a coil is a bool, ...)."""
        if isinstance(data, dict):
            data = dict(data)
            kind = data.get("kind")
            if kind in ("coil", "discrete"):
                data.setdefault("type", "bool")
            if kind in ("discrete", "input"):
                data.setdefault("access", "r")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Point:
        bit = self.kind in ("coil", "discrete")
        if bit != (self.type == "bool"):
            raise ValueError(
                f"a {self.kind} point must be {'bool' if bit else 'a register type'}, not {self.type}"
            )
        if self.kind in ("discrete", "input") and self.access != "r":
            raise ValueError(f"{self.kind} points are read-only in Modbus; access must be 'r'")
        if self.address + self.width - 1 > 65535:
            raise ValueError("point runs past address 65535")
        if self.scale == 0 or not math.isfinite(self.scale):
            raise ValueError("scale must be finite and non-zero")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    @property
    def width(self) -> int:
        """Registers (or bits) the point occupies."""
        return TYPE_WIDTH[self.type]

    @property
    def writable(self) -> bool:
        return self.access == "rw"

    @property
    def span(self) -> range:
        return range(self.address, self.address + self.width)


class InstrumentMap(RootModel[dict[str, Point]]):
    """A register map: point name → :class:`Point`. Validated so two points never share an address."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _no_overlap(self) -> InstrumentMap:
        for kind in ("coil", "discrete", "holding", "input"):
            owner: dict[int, str] = {}
            for name, point in self.root.items():
                if point.kind != kind:
                    continue
                for address in point.span:
                    if address in owner:
                        raise ValueError(f"{name} overlaps {owner[address]} at {kind} address {address}")
                    owner[address] = name
        for name in self.root:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"point name {name!r} must be lower_snake_case")
        return self

    @property
    def points(self) -> dict[str, Point]:
        return self.root

    def __getitem__(self, name: str) -> Point:
        return self.root[name]

    def __contains__(self, name: object) -> bool:
        return name in self.root

    def of_kind(self, kind: PointKind) -> dict[str, Point]:
        return {n: p for n, p in self.root.items() if p.kind == kind}


#: The map the virtual lab serves (and a sensible layout for a real bank). Protocol addresses, 0-based.
DEFAULT_MAP = InstrumentMap.model_validate(SPEC["default_map"])


class InstrumentsConfig(BaseModel):
    """An instrument bank as a lab file describes it: where it is, how to talk to it, its register map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1, description="tcp://host:port, host[:port], or a pyserial URL (RTU)")
    framer: Literal["auto", "tcp", "rtu"] = "auto"
    device_id: int = Field(default=1, ge=0, le=247)
    timeout: float = Field(default=1.0, gt=0, le=60)
    attempts: int = Field(default=3, ge=1, le=20)
    backoff: float = Field(default=0.05, ge=0, le=10)
    baudrate: int = Field(default=19200, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    map: InstrumentMap = DEFAULT_MAP

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        serial_url = url.startswith(SERIAL_PREFIXES) or re.fullmatch(r"COM\d+", url, re.IGNORECASE)
        if not (serial_url or url.startswith("virtual://") or TCP_URL.match(url)):
            raise ValueError(
                f"not a usable instrument URL: {url!r} (expected tcp://host:port, host[:port], "
                "/dev/..., rfc2217://host:port, socket://host:port or virtual://rig/instruments/modbus)"
            )
        return url
