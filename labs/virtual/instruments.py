"""The virtual lab's instrument bank: one rig's relays, load source and flow rig as a Modbus TCP server.

A test power-cycles a device, applies a load or pushes gas through a meter by talking Modbus to the
rig's instruments — so the simulated bank must be a real Modbus peer (the harness's Modbus driver and
third-party tools such as ``mbpoll`` talk to it over TCP),
and what it is told must reach the simulated devices. It is built on pymodbus 3.16's *simulator*
datastore — :class:`~pymodbus.simulator.SimDevice` with an async ``action`` — because 3.16 silently
ignores the old trick of overriding ``getValues``/``setValues`` on a datablock.

The bank is generated from the register map the driver reads too — the shared specification
(``specifications/modbus_instruments.yaml``) or a lab file's own map — parsed by the simulator's own
reader (:mod:`labs.virtual.register_map`), so a custom map is served and driven alike without the
simulator sharing the driver's code. It reaches the device models only
through :class:`RigPlant`, a five-method callback interface, so the device models need know nothing
about Modbus (and :class:`FakePlant` stands in for them in tests).

Answers, by design (``docs/instruments.md`` has the table):

* a write to a read-only holding register (``access: r``, e.g. ``map_version``) → exception **2**
  (illegal data address) — pymodbus's read-only flag, checked before our action runs;
* a write to an input-register or discrete-input address → there is no Modbus function that writes
  those tables, so a "write" there is a holding-register/coil write to an address the bank does not
  map → exception **2**;
* a write to an unmapped coil → exception **2** (refused by the action: pymodbus allocates bit tables in
  16-bit words, and would otherwise accept any bit of a mapped word);
* a setpoint outside the point's ``min``/``max`` (or a non-finite float) → exception **3**;
* a function code the server does not implement → exception **1**, quantity 0 or above the limit, a
  byte count that does not match, a write-single-coil value other than 0x0000/0xFF00 → exception **3**,
  and Read Device Identification with the three basic objects — checked before pymodbus sees the
  request (:mod:`labs.virtual.modbus_pdu`, the Modbus Application Protocol v1.1b3);
* a holding setpoint reads back what the plant has (the load configured in the lab file flows before
  anyone writes the register);
* a request for another unit id → exception **0x0B** (gateway target failed to respond), from a
  catch-all device, rather than pymodbus's default, which is exception 4 plus a logged traceback;
* a plant callback that raises → exception **4** (server device failure), logged; the server serves on.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.framer.rtu import FramerRTU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

from labs.virtual.modbus_pdu import DeviceIdentification, check_request, rtu_frame_length
from labs.virtual.register_map import (
    BATTERY_LEVEL,
    GAS_FLOW_SETPOINT,
    KINDS,
    LOAD_CURRENT,
    LOAD_SETPOINT,
    MEASURED_GAS_FLOW,
    MEASURED_POWER,
    POWER_SUFFIX,
    TAMPER_SUFFIX,
    PointKind,
    RegisterMap,
    RegisterPoint,
    decode,
    default_map,
    encode,
    of_kind,
    read_map,
)

HOST = "127.0.0.1"
log = logging.getLogger(__name__)

#: Which table each function code touches (as pymodbus's SimRuntime maps them).
_FC_TABLE: dict[int, PointKind] = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 4: "input"}
_FC_TABLE.update(dict.fromkeys((3, 6, 16, 22, 23), "holding"))
#: Measured power above which the "load current detected" input reads 1.
CURRENT_THRESHOLD_W = 0.5


class RigPlant(Protocol):
    """What the instruments do to a rig's devices — implemented by the virtual lab's device models.

    Called on the server's event loop, so each call must be quick and must not block. ``role`` is a
    device role (``"ch"``, ``"esme"``, ``"gsme"``, optionally ``"ppmid"``/``"ihd"``).
    """

    def set_power(self, role: str, on: bool) -> None:
        """The relay feeding ``role`` switched (called on changes only). Off → device dead; off→on →
        the device reboots."""

    def apply_load(self, watts: float) -> None:
        """The load source's setpoint: what the ESME would see drawn if its supply is on."""

    def measured_power(self) -> float:
        """Active power actually flowing through the ESME now, W (0 if the supply is off/disabled)."""

    def set_gas_flow(self, lph: float) -> None:
        """The flow rig's setpoint, litres per hour, through the GSME."""

    def load_setpoint(self) -> float:
        """The load the source applies now, W (what the setpoint register reads back)."""

    def gas_flow_setpoint(self) -> float:
        """The flow the rig pushes now, l/h (what the flow setpoint register reads back)."""

    def measured_gas_flow(self) -> float:
        """Gas actually flowing now, l/h (0 if the GSME valve is closed)."""

    def set_cover(self, role: str, open: bool) -> None:
        """The tamper actuator lifted (``open``) or put back ``role``'s terminal cover (changes only)."""

    def set_battery(self, pct: float) -> None:
        """The GSME's battery eliminator now presents a battery charged to ``pct`` % of full."""

    def battery_level(self) -> float:
        """The charge the battery eliminator presents now, % (what its setpoint register reads back)."""


ROLES = ("ch", "esme", "gsme", "ppmid", "ihd")


@dataclass
class FakePlant:
    """A stand-in rig for tests: plausible physics, no meters.

    Powering a device off and on again counts a reboot; measured power is the load only while the ESME
    is powered *and* its supply (contactor) is enabled; gas flows only while the valve is open.
    ``supply_enabled``/``valve_open`` are what the meter models would drive; tests set them directly.
    """

    powered: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(ROLES[:3], True))
    reboots: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES[:3], 0))
    supply_enabled: bool = True
    valve_open: bool = True
    load_w: float = 0.0
    flow_lph: float = 0.0
    battery_pct: float = 100.0
    covers_open: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)

    def set_power(self, role: str, on: bool) -> None:
        was = self.powered.get(role, False)
        self.powered[role] = on
        if on and not was:
            self.reboots[role] = self.reboots.get(role, 0) + 1
            self.events.append(f"{role} rebooted")
        elif not on and was:
            self.events.append(f"{role} lost power")

    def apply_load(self, watts: float) -> None:
        self.load_w = watts
        self.events.append(f"load {watts:g} W")

    def measured_power(self) -> float:
        return self.load_w if self.powered.get("esme", False) and self.supply_enabled else 0.0

    def set_gas_flow(self, lph: float) -> None:
        self.flow_lph = lph
        self.events.append(f"gas flow {lph:g} l/h")

    def load_setpoint(self) -> float:
        return self.load_w

    def gas_flow_setpoint(self) -> float:
        return self.flow_lph

    def measured_gas_flow(self) -> float:
        return self.flow_lph if self.valve_open else 0.0

    def set_cover(self, role: str, open: bool) -> None:
        (self.covers_open.add if open else self.covers_open.discard)(role)
        self.events.append(f"{role} terminal cover {'off' if open else 'on'}")

    def set_battery(self, pct: float) -> None:
        self.battery_pct = pct
        self.events.append(f"battery {pct:g} %")

    def battery_level(self) -> float:
        return self.battery_pct


class _Rejected(Exception):
    def __init__(self, code: ExcCodes):
        self.code = code


class InstrumentBank:
    """One rig's instruments served over Modbus TCP (or RTU framing over TCP, as a serial server would).

    The register store lives in pymodbus; the ``action`` hook validates writes, forwards changes to the
    :class:`RigPlant` and refreshes measured values just before they are read. ``map`` is register-map
    data (point name → fields, as in ``specifications/modbus_instruments.yaml``); ``None`` serves the
    specification's default map.
    """

    def __init__(
        self,
        plant: RigPlant,
        map: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        device_id: int = 1,
        name: str = "instruments",
        framer: Literal["socket", "rtu"] = "socket",
    ) -> None:
        if not 1 <= device_id <= 247:
            raise ValueError("device_id must be 1..247 (0 is the catch-all for other unit ids)")
        self.plant = plant
        self.map: RegisterMap = read_map(map) if map is not None else default_map()
        self.device_id = device_id
        self.name = name
        self.framer = framer
        #: Writes the action accepted, and answers it refused by exception code. (Writes to read-only
        #: or unmapped registers are refused by pymodbus before the action runs, so are not counted.)
        self.writes = 0
        self.rejected: dict[int, int] = {}
        self._by_kind: dict[PointKind, dict[str, RegisterPoint]] = {k: of_kind(self.map, k) for k in KINDS}
        self._coil_at = {p.address: n for n, p in self._by_kind["coil"].items()}
        self._server: ModbusTcpServer | None = None
        self.port = 0

    # -- serving ---------------------------------------------------------------------------------
    async def start(self, host: str = HOST, port: int = 0) -> int:
        """Listen (port 0 = OS-chosen) inside the running loop; returns the bound port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name}: already serving on port {self.port}")
        devices = [
            SimDevice(id=self.device_id, simdata=self._tables(), action=self._action),
            SimDevice(id=0, simdata=self._tables(), action=_other_unit),
        ]
        framer = FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET
        identity = DeviceIdentification(VENDOR_NAME, PRODUCT_CODE, f"{REVISION}.{self._map_version()}")
        server = _CheckingServer(
            devices, address=(host, port), framer=framer, identity=identity, device_id=self.device_id
        )
        await server.serve_forever(background=True)
        self._server = server
        listener = cast(asyncio.Server, server.transport)  # a TCP listener's transport is the Server
        self.port = int(listener.sockets[0].getsockname()[1])
        log.debug("%s: serving Modbus %s on %s:%d", self.name, self.framer, host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            server: Any = self._server  # pymodbus's shutdown() is untyped
            await server.shutdown()
            self._server = None

    @property
    def endpoint(self) -> str:
        """The URL the driver takes: ``tcp://`` for Modbus TCP, ``socket://`` for RTU over TCP."""
        scheme = "tcp" if self.framer == "socket" else "socket"
        return f"{scheme}://{HOST}:{self.port}"

    def _map_version(self) -> int:
        point = self._by_kind["holding"].get("map_version")
        return int(point.initial) if point is not None else 0

    # -- the datastore ---------------------------------------------------------------------------
    def _tables(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """The four Modbus tables, *not shared*: input registers must not alias holding registers."""
        tables: list[list[SimData]] = []
        for kind in KINDS:
            blocks: list[SimData] = []
            for point in self._by_kind[kind].values():
                if point.type == "bool":
                    blocks.append(
                        SimData(point.address, values=[bool(point.initial)], datatype=DataType.BITS)
                    )
                else:
                    regs = encode(point, point.initial)
                    blocks.append(
                        SimData(
                            point.address, values=regs, datatype=DataType.REGISTERS,
                            readonly=kind == "holding" and not point.writable,
                        )
                    )  # fmt: skip
            if not blocks:
                # pymodbus needs every table non-empty; a placeholder no request can use.
                bits = kind in ("coil", "discrete")
                blocks.append(
                    SimData(0, values=[False], datatype=DataType.BITS)
                    if bits
                    else SimData(0, datatype=DataType.INVALID)
                )
            tables.append(blocks)
        return tables[0], tables[1], tables[2], tables[3]

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this before it reads or writes its store (``registers`` is the whole table).

        For fc 5 and 6 it calls twice: once with ``set_values`` (the write) and once with ``None`` (the
        read-back for the echo) — so plant effects key on ``set_values``, never on the function code.
        For bit tables ``start_address`` and ``count`` are in 16-bit *words*, ``address`` in bits.
        """
        kind = _FC_TABLE.get(function_code)
        if kind is None:
            return None
        try:
            if set_values is None and function_code in (3, 23):
                self._refresh_setpoints(start_address, address, count, registers)
            elif set_values is None:
                self._refresh(kind, start_address, address, count, registers)
            elif kind == "coil":
                self._write_coils(start_address, address, registers, [bool(v) for v in set_values])
            else:
                self._write_holding(start_address, address, registers, [int(v) for v in set_values])
        except _Rejected as rejected:
            self.rejected[rejected.code] = self.rejected.get(rejected.code, 0) + 1
            return rejected.code
        except Exception:  # a broken plant must not take the lab down: answer 4 and carry on
            log.exception("%s: plant callback failed (fc %d, address %d)", self.name, function_code, address)
            self.rejected[ExcCodes.DEVICE_FAILURE] = self.rejected.get(ExcCodes.DEVICE_FAILURE, 0) + 1
            return ExcCodes.DEVICE_FAILURE
        return None

    def _refresh(self, kind: PointKind, start: int, address: int, count: int, registers: list[int]) -> None:
        """Put the plant's live values into the store just before pymodbus reads it."""
        if kind == "input":
            wanted = range(address, address + count)
            for name, point in self._by_kind["input"].items():
                if point.address >= wanted.stop or point.span.stop <= wanted.start:
                    continue
                value = self._live(name)
                if value is None:
                    continue
                regs = encode(point, value)
                offset = point.address - start
                registers[offset : offset + point.width] = regs
        elif kind == "discrete" and LOAD_CURRENT in self._by_kind["discrete"]:
            bit = self._by_kind["discrete"][LOAD_CURRENT].address - start * 16
            _set_bit(registers, bit, self.plant.measured_power() > CURRENT_THRESHOLD_W)

    def _refresh_setpoints(self, start: int, address: int, count: int, registers: list[int]) -> None:
        """A setpoint register reads what the source applies now (e.g. the lab file's load), not only
        what was last written to it."""
        wanted = range(address, address + count)
        for name, point in self._by_kind["holding"].items():
            if point.address >= wanted.stop or point.span.stop <= wanted.start:
                continue
            if name == LOAD_SETPOINT:
                value = self.plant.load_setpoint()
            elif name == GAS_FLOW_SETPOINT:
                value = self.plant.gas_flow_setpoint()
            elif name == BATTERY_LEVEL:
                value = self.plant.battery_level()
            else:
                continue
            try:
                regs = encode(point, value)
            except ValueError:  # beyond what the register can say: leave what was written
                continue
            offset = point.address - start
            registers[offset : offset + point.width] = regs

    def _live(self, name: str) -> float | None:
        if name == MEASURED_POWER:
            return self.plant.measured_power()
        if name == MEASURED_GAS_FLOW:
            return self.plant.measured_gas_flow()
        return None

    def _write_coils(self, start: int, address: int, registers: list[int], values: list[bool]) -> None:
        changes: list[tuple[str, bool]] = []
        for i, on in enumerate(values):
            name = self._coil_at.get(address + i)
            if name is None:
                raise _Rejected(ExcCodes.ILLEGAL_ADDRESS)
            if _get_bit(registers, address + i - start * 16) != on:
                changes.append((name, on))
        self.writes += 1
        for name, on in changes:
            if name.endswith(POWER_SUFFIX):
                self.plant.set_power(name.removesuffix(POWER_SUFFIX), on)
            elif name.endswith(TAMPER_SUFFIX):
                self.plant.set_cover(name.removesuffix(TAMPER_SUFFIX), on)

    def _write_holding(self, start: int, address: int, registers: list[int], values: list[int]) -> None:
        written = range(address, address + len(values))
        updates: list[tuple[str, float]] = []
        for name, point in self._by_kind["holding"].items():
            if point.address >= written.stop or point.span.stop <= written.start:
                continue
            # Merge, so a write of one half of a 32-bit point is judged as the whole value it makes.
            merged = [values[a - address] if a in written else registers[a - start] for a in point.span]
            value = decode(point, merged)
            if not math.isfinite(value):
                raise _Rejected(ExcCodes.ILLEGAL_VALUE)
            if (point.min is not None and value < point.min) or (point.max is not None and value > point.max):
                raise _Rejected(ExcCodes.ILLEGAL_VALUE)
            updates.append((name, value))
        self.writes += 1
        for name, value in updates:
            if name == LOAD_SETPOINT:
                self.plant.apply_load(value)
            elif name == GAS_FLOW_SETPOINT:
                self.plant.set_gas_flow(value)
            elif name == BATTERY_LEVEL:
                self.plant.set_battery(value)


VENDOR_NAME = "dmct"
PRODUCT_CODE = "dmct-virtual-instruments"
REVISION = "1"  # MajorMinorRevision: bank revision . register map version


class _CheckingHandler(ServerRequestHandler):
    """Answers what the Modbus Application Protocol settles before the data model (see
    :mod:`labs.virtual.modbus_pdu`) for requests to our unit id; everything else goes to pymodbus."""

    identity: DeviceIdentification
    device_id: int
    rtu: bool

    def callback_data(self, data: bytes, addr: tuple[Any, ...] | None = None) -> int:
        answer, used = self._check(data)
        if answer is None:
            handled: int = super().callback_data(data, addr)
            return handled
        self.send(answer, addr)
        return used + (self.callback_data(data[used:], addr) if len(data) > used else 0)

    def _check(self, data: bytes) -> tuple[bytes | None, int]:
        """(raw answer, bytes of the request it answers), or (None, 0) to let pymodbus have it."""
        if self.rtu:
            size = rtu_frame_length(data)
            if size is None or size < 4 or len(data) < size or data[0] != self.device_id:
                return None, 0
            crc = int.from_bytes(data[size - 2 : size], "big")
            if not FramerRTU.check_CRC(data[: size - 2], crc):
                return None, 0
            answer = check_request(data[1 : size - 2], self.identity)
            if answer is None:
                return None, 0
            frame = bytes([self.device_id]) + answer
            return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big"), size
        if len(data) < 8 or data[2:4] != b"\x00\x00":
            return None, 0
        size = 6 + int.from_bytes(data[4:6], "big")
        if len(data) < size or data[6] != self.device_id:
            return None, 0
        answer = check_request(data[7:size], self.identity)
        if answer is None:
            return None, 0
        return data[:4] + (len(answer) + 1).to_bytes(2, "big") + data[6:7] + answer, size


class _CheckingServer(ModbusTcpServer):
    def __init__(self, *args: Any, identity: DeviceIdentification, device_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._identity, self._device_id = identity, device_id
        self._rtu = kwargs.get("framer") == FramerType.RTU

    def callback_new_connection(self) -> ServerRequestHandler:
        handler = _CheckingHandler(  # type: ignore[no-untyped-call]  # pymodbus's __init__ is untyped
            self, self.trace_packet, self.trace_pdu, self.trace_connect
        )
        handler.identity, handler.device_id, handler.rtu = self._identity, self._device_id, self._rtu
        return handler


async def _other_unit(
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    """Catch-all device (id 0): any unit id but ours gets what a Modbus TCP gateway answers for a unit
    that is not there. (Only reached at mapped addresses; elsewhere pymodbus answers 2 first.)"""
    return ExcCodes.GATEWAY_NO_RESPONSE


def _get_bit(words: list[int], bit: int) -> bool:
    return bool(words[bit // 16] >> (bit % 16) & 1)


def _set_bit(words: list[int], bit: int, on: bool) -> None:
    mask = 1 << (bit % 16)
    words[bit // 16] = words[bit // 16] | mask if on else words[bit // 16] & ~mask


async def serve_banks(
    plants: Mapping[str, RigPlant],
    map: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    device_id: int = 1,
    host: str = HOST,
) -> dict[str, InstrumentBank]:
    """Start one bank per rig (each on its own OS-chosen port) in the running loop: ``dmct lab up``'s
    building block. On any failure the banks already started are stopped again."""
    banks: dict[str, InstrumentBank] = {}
    try:
        for rig, plant in plants.items():
            bank = InstrumentBank(plant, map, device_id=device_id, name=f"{rig}/instruments")
            await bank.start(host)
            banks[rig] = bank
    except BaseException:
        for bank in banks.values():
            await bank.stop()
        raise
    return banks
