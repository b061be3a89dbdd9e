"""Lab instruments over Modbus: the virtual bank and the driver, through real Modbus on 127.0.0.1.

The banks run on an asyncio loop in a background thread (as ``dmct lab up`` runs them in one process);
the driver, raw pymodbus clients and ``mbpoll`` talk to them over TCP. Nothing pokes the bank's
registers directly: a test may only set the *fake plant* (what the meter models would do).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import serial
import serial.rfc2217
import yaml
from pydantic import ValidationError
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.framer.rtu import FramerRTU

from device_drivers.errors import DeviceError, InfrastructureFault, LinkDown, LinkTimeout
from device_drivers.protocols.modbus import (
    DEFAULT_MAP,
    InstrumentMap,
    Instruments,
    InstrumentsConfig,
    ModbusExceptionAnswer,
    Point,
    decode,
    encode,
)
from device_drivers.transcript import Transcript
from labs.virtual.instruments import FakePlant, InstrumentBank

T = TypeVar("T")
HOST = "127.0.0.1"


class LoopThread:
    """An asyncio loop in a daemon thread: the 'lab process' the tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def lab_loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


StartBank = Callable[..., tuple[InstrumentBank, FakePlant]]


@pytest.fixture
def start_bank(lab_loop: LoopThread) -> Iterator[StartBank]:
    banks: list[InstrumentBank] = []

    def start(
        plant: Any = None, map: InstrumentMap | None = None, framer: str = "socket"
    ) -> tuple[InstrumentBank, Any]:
        plant = plant if plant is not None else FakePlant()
        points = map.model_dump(mode="json") if map is not None else None  # the lab file's map, as data
        bank = InstrumentBank(plant, points, framer=framer)  # type: ignore[arg-type]
        lab_loop.run(bank.start())
        banks.append(bank)
        return bank, plant

    yield start
    for bank in banks:
        lab_loop.run(bank.stop())


@pytest.fixture
def bank(start_bank: StartBank) -> tuple[InstrumentBank, FakePlant]:
    return start_bank()


def driver(bank: InstrumentBank, **kw: Any) -> Instruments:
    kw.setdefault("timeout", 1.0)
    kw.setdefault("backoff", 0.0)
    return Instruments(bank.endpoint, kw.pop("map", None), **kw)


def raw_client(bank: InstrumentBank) -> Any:
    """A plain pymodbus client, for requests the driver would never send (typed Any: untyped API)."""
    client: Any = ModbusTcpClient(HOST, port=bank.port, timeout=1, retries=0)
    assert client.connect()
    return client


# -- relays ----------------------------------------------------------------------------------------
def test_power_relays_switch_devices(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    with driver(b) as ins:
        assert all(ins.is_powered(role) for role in ("ch", "esme", "gsme"))
        ins.power("gsme", False)
        assert ins.is_powered("gsme") is False and plant.powered["gsme"] is False
        assert ins.is_powered("ch") and plant.powered["ch"]
        ins.power("gsme", True)
        assert ins.is_powered("gsme") and plant.powered["gsme"]
        assert plant.reboots == {"ch": 0, "esme": 0, "gsme": 1}


def test_power_cycle_reboots_only_that_device(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    with driver(b) as ins:
        ins.power("esme", True)  # already on: a relay that does not move reboots nothing
        assert plant.reboots["esme"] == 0
        ins.power_cycle("esme", off_s=0.01)
        ins.power_cycle("esme", off_s=0.01)
        assert plant.reboots == {"ch": 0, "esme": 2, "gsme": 0}
        assert ins.is_powered("esme")
    assert plant.events == ["esme lost power", "esme rebooted"] * 2


# -- load and flow ---------------------------------------------------------------------------------
def test_load_setpoint_gives_measured_power(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    with driver(b) as ins:
        assert ins.read("esme_load_current") is False
        ins.set_load(2750.3)
        assert plant.load_w == pytest.approx(2750.3)
        assert ins.read("esme_load_setpoint") == pytest.approx(2750.3)
        assert ins.measured_power() == pytest.approx(2750.3)
        assert ins.read("esme_load_current") is True


def test_supply_off_or_meter_unpowered_gives_zero_power(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    with driver(b) as ins:
        ins.set_load(1500)
        assert ins.measured_power() == pytest.approx(1500)
        plant.supply_enabled = False  # what the ESME model does when its contactor opens
        assert ins.measured_power() == 0
        assert ins.read("esme_load_current") is False
        plant.supply_enabled = True
        assert ins.measured_power() == pytest.approx(1500)
        ins.power("esme", False)
        assert ins.measured_power() == 0
        ins.power("esme", True)
        assert ins.measured_power() == pytest.approx(1500)


def test_gas_flow_setpoint_and_valve(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    with driver(b) as ins:
        ins.set_gas_flow(1234.5)
        assert plant.flow_lph == pytest.approx(1234.5)
        assert ins.read("gsme_flow_setpoint") == pytest.approx(1234.5)
        assert ins.measured_gas_flow() == pytest.approx(1234.5)
        plant.valve_open = False
        assert ins.measured_gas_flow() == 0


# -- bad writes: proper exception answers, and the server serves on ----------------------------------
def test_write_to_read_only_register_is_refused_and_server_serves_on(
    bank: tuple[InstrumentBank, FakePlant],
) -> None:
    b, plant = bank
    client = raw_client(b)
    try:
        # map_version is a holding register declared read-only: illegal data address.
        answer = client.write_register(10, 7, device_id=1)
        assert answer.isError() and answer.exception_code == 2
        assert client.read_holding_registers(10, count=1, device_id=1).registers == [1]
        # Holding 3 exists only in the input table (gsme_measured_flow, 2nd word): no such holding register.
        answer = client.write_register(3, 7, device_id=1)
        assert answer.isError() and answer.exception_code == 2
        # A coil the map does not define (same 16-bit word as the relays): illegal data address.
        answer = client.write_coil(5, True, device_id=1)
        assert answer.isError() and answer.exception_code == 2
        # Out of the point's range: illegal data value, and the plant never hears of it.
        answer = client.write_registers(0, [0xFFFF, 0xFFFF], device_id=1)
        assert answer.isError() and answer.exception_code == 3
        assert plant.load_w == 0
        # A function code the server does not implement: illegal function, on the request's function
        # byte with the high bit set (MAP v1.1b3 section 7).
        assert _raw_request(b.port, bytes([0x41, 0x00])) == b"\xc1\x01"
        # ... and after all that the bank still answers, on the same and on new connections.
        assert client.read_coils(0, count=3, device_id=1).bits[:3] == [True, True, True]
    finally:
        client.close()
    with driver(b) as ins:
        assert ins.probe() == "map_version=1"
        with pytest.raises(PermissionError):
            ins.write("map_version", 2)  # refused locally: the map says read-only
        with pytest.raises(PermissionError):
            ins.write("esme_measured_power", 2)
    # Counted by the bank's action (read-only and gap addresses are refused by pymodbus before it).
    assert b.rejected == {2: 1, 3: 1}


def _raw_request(port: int, pdu: bytes, unit: int = 1) -> bytes:
    """Send one Modbus TCP request (MBAP + PDU) and return the answer's PDU."""
    with socket.create_connection((HOST, port), timeout=2) as sock:
        sock.sendall(b"\x00\x07\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu)
        answer = sock.recv(256)
    assert answer[:4] == b"\x00\x07\x00\x00"
    return answer[7:]


def test_plant_failure_is_exception_4_and_server_serves_on(start_bank: StartBank) -> None:
    class BrokenPlant(FakePlant):
        def apply_load(self, watts: float) -> None:
            raise RuntimeError("model crashed")

    b, plant = start_bank(BrokenPlant())
    with driver(b) as ins:
        with pytest.raises(ModbusExceptionAnswer) as info:
            ins.set_load(100)
        assert info.value.code == 4 and isinstance(info.value, DeviceError)
        ins.power("gsme", False)
        assert plant.powered["gsme"] is False


# -- 32-bit values ---------------------------------------------------------------------------------
def test_32_bit_values_are_two_registers_big_endian_word_order(
    bank: tuple[InstrumentBank, FakePlant],
) -> None:
    b, plant = bank
    client = raw_client(b)
    try:
        with driver(b) as ins:
            ins.set_load(100_000)  # raw 1,000,000 tenths of a watt = 0x000F4240
            assert client.read_holding_registers(0, count=2, device_id=1).registers == [0x000F, 0x4240]
            # A write of one half is judged (and applied) as the whole value it makes.
            assert not client.write_register(1, 0x0000, device_id=1).isError()
            assert plant.load_w == pytest.approx(0x000F0000 / 10)
            assert ins.read("esme_load_setpoint") == pytest.approx(98304.0)
            # int32: export shows as negative power.
            plant.load_w = -1500.5
            assert ins.measured_power() == pytest.approx(-1500.5)
            assert client.read_input_registers(0, count=2, device_id=1).registers == [0xFFFF, 0xC563]
            # float32 across two input registers.
            plant.flow_lph = 0.1
            assert ins.measured_gas_flow() == pytest.approx(0.1, rel=1e-6)
    finally:
        client.close()


def test_encoding_word_order_scale_and_range() -> None:
    big = Point(kind="holding", address=0, type="uint32", scale=0.1)
    little = Point(kind="holding", address=0, type="uint32", scale=0.1, word_order="little")
    assert encode(big, 100_000) == [0x000F, 0x4240]
    assert encode(little, 100_000) == [0x4240, 0x000F]
    assert decode(little, [0x4240, 0x000F]) == pytest.approx(100_000)
    assert decode(Point(kind="input", address=0, type="int16"), [0xFFFE]) == -2
    assert encode(Point(kind="coil", address=0), 1) is True
    with pytest.raises(ValueError, match="does not fit uint16"):
        encode(Point(kind="holding", address=0), 70_000)
    with pytest.raises(ValueError, match="does not fit uint32"):
        encode(big, -1)


# -- register map from configuration -------------------------------------------------------------------
CUSTOM_MAP_YAML = """
url: tcp://127.0.0.1:1
timeout: 1.0
attempts: 2
backoff: 0
map:
  esme_power:         {kind: coil, address: 16, initial: 1}
  ch_power:           {kind: coil, address: 17, initial: 1}
  esme_load_setpoint:
    {kind: holding, address: 100, type: float32, word_order: little, unit: W, min: 0, max: 24000}
  gsme_flow_setpoint: {kind: holding, address: 200, type: int32, scale: 0.01, unit: l/h}
  esme_measured_power: {kind: input, address: 300, type: uint16, scale: 0.5, unit: W}
  relay_temperature:  {kind: input, address: 301, type: int16, scale: 0.1, initial: 21.5}
"""


def test_register_map_from_config_with_other_addresses(start_bank: StartBank) -> None:
    config = InstrumentsConfig.model_validate(yaml.safe_load(CUSTOM_MAP_YAML))
    assert config.map["esme_measured_power"].access == "r"  # implied by the kind
    b, plant = start_bank(map=config.map)
    with Instruments.from_config(config.model_copy(update={"url": b.endpoint})) as ins:
        ins.power_cycle("esme", off_s=0)
        assert plant.reboots["esme"] == 1
        ins.set_load(1234.5)
        assert ins.measured_power() == pytest.approx(1234.5)
        ins.set_gas_flow(-2.5)  # a signed, scaled point: the simulator takes whatever the map allows
        assert plant.flow_lph == pytest.approx(-2.5)
        assert ins.read("relay_temperature") == pytest.approx(21.5)
        with pytest.raises(KeyError, match="no point 'gsme_power'"):
            ins.power("gsme", False)
        with pytest.raises(ModbusExceptionAnswer) as info:
            ins.set_load(30_000)  # above the map's max
        assert info.value.code == 3
    client = raw_client(b)
    try:
        # The float32 is little-endian word order as configured; the default map's addresses are gone.
        assert client.read_holding_registers(100, count=2, device_id=1).registers == [0x5000, 0x449A]
        assert client.read_coils(1, count=1, device_id=1).exception_code == 2
    finally:
        client.close()


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({"a": {"kind": "holding", "address": 0, "type": "uint32"}, "b": {"kind": "holding", "address": 1}},
         "b overlaps a at holding address 1"),
        ({"a": {"kind": "input", "address": 0, "access": "rw"}}, "read-only in Modbus"),
        ({"a": {"kind": "coil", "address": 0, "type": "uint16"}}, "must be bool"),
        ({"a": {"kind": "holding", "address": 0, "typo": 1}}, "Extra inputs are not permitted"),
        ({"Bad-Name": {"kind": "coil", "address": 0}}, "lower_snake_case"),
    ],
)  # fmt: skip
def test_bad_register_maps_are_rejected(points: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        InstrumentMap.model_validate(points)


def test_bad_instrument_url_is_one_clear_error() -> None:
    with pytest.raises(ValidationError, match="not a usable instrument URL: 'http://relay'"):
        InstrumentsConfig(url="http://relay")


# -- error mapping -----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def test_refused_port_is_link_down_after_noted_retries() -> None:
    transcript = Transcript()
    ins = Instruments(f"tcp://{HOST}:{_free_port()}", attempts=3, backoff=0.001, transcript=transcript)
    with pytest.raises(LinkDown, match=r"Connection refused|Failed to connect"):
        ins.is_powered("esme")
    retries = [e.note for e in transcript.entries if e.note.startswith("retry ")]
    assert len(retries) == 2 and retries[0].startswith("retry 1/2 of read esme_power")
    assert isinstance(LinkDown("x", "y"), InfrastructureFault)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts and reads but never answers."""
    listener = socket.create_server((HOST, 0))
    conns: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conns.append(listener.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(2)
    for conn in conns:
        conn.close()
    listener.close()


def test_server_that_never_answers_is_link_timeout(silent_server: int) -> None:
    transcript = Transcript()
    ins = Instruments(f"{HOST}:{silent_server}", timeout=0.2, attempts=2, backoff=0, transcript=transcript)
    with pytest.raises(LinkTimeout, match=r"no answer within 0\.2 s"):
        ins.set_load(10)
    assert sum(1 for e in transcript.entries if e.direction == "tx") == 2  # the request went out twice
    assert any(e.note.startswith("retry 1/1 of write esme_load_setpoint") for e in transcript.entries)


def test_wrong_unit_id_is_link_timeout_not_a_device_failure(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, _ = bank
    with driver(b, device_id=7, attempts=1) as ins, pytest.raises(LinkTimeout, match="unit id 7"):
        ins.is_powered("ch")


def test_transcript_has_frames_and_summaries(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, _ = bank
    transcript = Transcript()
    with driver(b, transcript=transcript) as ins:
        ins.set_load(10)
    kinds = [(e.direction, e.data.hex() if e.data else e.note) for e in transcript.entries]
    assert kinds[0] == ("note", "request: write esme_load_setpoint=10 (holding 0) unit=1")
    # MBAP (tid 1, proto 0, len 11, unit 1) + fc 16, address 0, 2 registers, 4 bytes: 100 tenths of a W.
    assert kinds[1] == ("tx", "00010000000b01100000000204" + "00000064")
    assert kinds[2][0] == "rx" and kinds[2][1].endswith("01100000" + "0002")
    assert kinds[3] == ("note", "write esme_load_setpoint=10 (holding 0) ok (raw [0, 100])")


# -- Modbus RTU over pyserial URLs -----------------------------------------------------------------------
# -- the Modbus Application Protocol v1.1b3, request by request ---------------------------------------
@pytest.mark.parametrize(
    ("pdu", "answer"),
    [
        # Quantity 0 or above the function's limit: exception 03 (MAP 6.1-6.4, 6.11, 6.12).
        (bytes([1, 0, 0, 0, 0]), b"\x81\x03"),
        (bytes([1, 0, 0, 0x07, 0xD1]), b"\x81\x03"),  # 2001 coils
        (bytes([2, 0, 0, 0, 0]), b"\x82\x03"),
        (bytes([3, 0, 0, 0, 0]), b"\x83\x03"),
        (bytes([3, 0, 0, 0, 126]), b"\x83\x03"),
        (bytes([4, 0, 0, 0, 0]), b"\x84\x03"),
        (bytes([4, 0, 0, 0, 126]), b"\x84\x03"),
        (bytes([15, 0, 0, 0, 0, 0]), b"\x8f\x03"),
        (bytes([15, 0, 0, 0, 3, 2, 7, 0]), b"\x8f\x03"),  # byte count 2 for 3 coils
        (bytes([16, 0, 0, 0, 0, 0]), b"\x90\x03"),
        (bytes([16, 0, 0, 0, 124, 248]) + bytes(248), b"\x90\x03"),
        (bytes([16, 0, 0, 0, 2, 2, 0, 0]), b"\x90\x03"),  # byte count 2 for 2 registers
        # Write Single Coil: only 0x0000 and 0xFF00 are values (MAP 6.5).
        (bytes([5, 0, 0, 0x12, 0x34]), b"\x85\x03"),
        (bytes([5, 0, 0, 0x00, 0x01]), b"\x85\x03"),
        # Unknown functions: 01, function byte = the request's | 0x80.
        (bytes([0x07]), b"\x87\x01"),
        (bytes([0x11]), b"\x91\x01"),
        (bytes([0x64, 1, 2]), b"\xe4\x01"),
        (bytes([0x2B, 0x0D, 0, 0]), b"\xab\x01"),  # CANopen general reference: not implemented
        # Read Device Identification: bad read code 03, unknown object in individual access 02.
        (bytes([0x2B, 0x0E, 5, 0]), b"\xab\x03"),
        (bytes([0x2B, 0x0E, 4, 0x03]), b"\xab\x02"),
    ],
)
def test_exceptions_follow_the_modbus_application_protocol(
    bank: tuple[InstrumentBank, FakePlant], pdu: bytes, answer: bytes
) -> None:
    b, plant = bank
    assert _raw_request(b.port, pdu) == answer
    assert plant.events == [] and plant.powered == {"ch": True, "esme": True, "gsme": True}


def test_write_single_coil_values_are_off_and_on_only(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    assert _raw_request(b.port, bytes([5, 0, 2, 0x00, 0x00])) == bytes([5, 0, 2, 0x00, 0x00])
    assert plant.powered["gsme"] is False
    assert _raw_request(b.port, bytes([5, 0, 2, 0x12, 0x34])) == b"\x85\x03"
    assert plant.powered["gsme"] is False  # an illegal value switches nothing on


def test_read_device_identification_basic_objects(bank: tuple[InstrumentBank, FakePlant]) -> None:
    """MAP 6.21: VendorName, ProductCode and MajorMinorRevision are mandatory; read with pymodbus's own
    request, stream access (code 1) and individual access (code 4)."""
    b, _ = bank
    client = raw_client(b)
    try:
        answer = client.read_device_information(read_code=1, object_id=0, device_id=1)
        assert not answer.isError()
        assert answer.conformity & 0x7F == 0x01 and answer.more_follows == 0 and answer.number_of_objects == 3
        revision = f"1.{b.map['map_version'].initial:g}".encode()
        assert answer.information == {0: b"dmct", 1: b"dmct-virtual-instruments", 2: revision}
        single = client.read_device_information(read_code=4, object_id=1, device_id=1)
        assert single.information == {1: b"dmct-virtual-instruments"}
        # Stream access from an object id the device lacks restarts at object 0.
        assert client.read_device_information(read_code=1, object_id=0x42, device_id=1).number_of_objects == 3
    finally:
        client.close()


def test_setpoints_read_back_what_flows(start_bank: StartBank) -> None:
    """The lab file's load is applied before anyone writes the register: the register says so."""
    b, plant = start_bank(FakePlant(load_w=1000.0, flow_lph=250.0))
    client = raw_client(b)
    try:
        load = client.read_holding_registers(0, count=2, device_id=1).registers
        assert (load[0] << 16 | load[1]) * b.map["esme_load_setpoint"].scale == pytest.approx(1000.0)
        flow = client.read_holding_registers(2, count=1, device_id=1).registers[0]
        assert flow * b.map["gsme_flow_setpoint"].scale == pytest.approx(250.0)
    finally:
        client.close()
    with driver(b) as ins:
        ins.set_load(42)
        assert ins.read("esme_load_setpoint") == pytest.approx(42)
    assert plant.load_w == pytest.approx(42)


def test_tamper_actuator_and_battery_eliminator(start_bank: StartBank) -> None:
    """The ESME's terminal-cover actuator (coil 3) reaches the plant on changes only; the GSME battery
    eliminator's level (holding 4, 0.1 %) is applied and read back, and refused beyond 0..100 %."""
    b, plant = start_bank(FakePlant(battery_pct=80.0))
    with driver(b) as ins:
        assert ins.read("gsme_battery_level") == pytest.approx(80.0)
        ins.write("esme_terminal_cover", True)
        ins.write("esme_terminal_cover", True)  # no change: not a second tamper
        ins.write("esme_terminal_cover", False)
        assert plant.events == ["esme terminal cover off", "esme terminal cover on"]
        ins.write("gsme_battery_level", 4.5)
        assert plant.battery_pct == pytest.approx(4.5)
        assert ins.read("gsme_battery_level") == pytest.approx(4.5)
    client = raw_client(b)
    try:
        assert client.write_register(4, 1001, device_id=1).exception_code == 3  # 100.1 %
    finally:
        client.close()
    assert plant.battery_pct == pytest.approx(4.5)


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll not installed (apt-get install mbpoll)")
def test_mbpoll_reads_the_configured_load(start_bank: StartBank) -> None:
    b, _ = start_bank(FakePlant(load_w=1500.0))
    out = mbpoll(b.port, "-t", "4:int", "-B", "-r", "0", HOST)
    assert "[0]: \t15000" in out, out  # tenths of a watt


def test_rtu_over_socket_url(start_bank: StartBank) -> None:
    b, plant = start_bank(framer="rtu")
    assert b.endpoint.startswith("socket://")
    with driver(b) as ins:
        assert ins.framer == "rtu"
        ins.power_cycle("ch", off_s=0)
        ins.set_load(42)
        assert ins.measured_power() == pytest.approx(42)
    assert plant.reboots["ch"] == 1
    # The standard's checks hold with RTU framing too (unit + PDU + CRC-16, low byte first).
    with socket.create_connection((HOST, b.port), timeout=2) as sock:
        frame = bytes([1, 3, 0, 0, 0, 0])
        sock.sendall(frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big"))
        answer = sock.recv(64)
    assert answer[:3] == b"\x01\x83\x03" and FramerRTU.check_CRC(
        answer[:3], int.from_bytes(answer[3:5], "big")
    )


class _Writer:
    """What PortManager calls to send telnet negotiation: just ``write``."""

    def __init__(self, conn: socket.socket) -> None:
        self.write = conn.sendall


@pytest.fixture
def rfc2217_bridge(start_bank: StartBank) -> Iterator[tuple[int, FakePlant]]:
    """An RFC 2217 server (pyserial's PortManager, as ser2net would be) in front of an RTU bank."""
    bank, plant = start_bank(framer="rtu")
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def session(conn: socket.socket) -> None:
        port = serial.serial_for_url(bank.endpoint, timeout=0.01)
        manager = serial.rfc2217.PortManager(port, _Writer(conn))
        alive = threading.Event()
        alive.set()

        def to_network() -> None:
            while alive.is_set():
                with contextlib.suppress(OSError, serial.SerialException):
                    data = port.read(256)
                    if data:
                        conn.sendall(b"".join(manager.escape(data)))

        pump = threading.Thread(target=to_network, daemon=True)
        pump.start()
        with contextlib.suppress(OSError):
            while data := conn.recv(1024):
                port.write(b"".join(manager.filter(data)))
        alive.clear()
        pump.join(1)
        port.close()
        conn.close()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = listener.accept()
                conn.settimeout(None)
                threading.Thread(target=session, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1]), plant
    stop.set()
    thread.join(2)
    listener.close()


@pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")
def test_rfc2217_url_works_where_stock_pymodbus_serial_client_cannot(
    rfc2217_bridge: tuple[int, FakePlant],
) -> None:
    port, plant = rfc2217_bridge
    url = f"rfc2217://{HOST}:{port}"
    stock: Any = ModbusSerialClient(url, timeout=1, retries=0)
    assert stock.connect() is False  # write_timeout= → NotImplementedError inside pyserial, swallowed
    stock.close()
    with Instruments(url, timeout=1.0, backoff=0) as ins:
        ins.power("gsme", False)
        assert ins.is_powered("gsme") is False
        ins.power("gsme", True)
    assert plant.reboots["gsme"] == 1


# -- an independent client ---------------------------------------------------------------------------
def mbpoll(port: int, *args: str) -> str:
    done = subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-p", str(port), "-0", "-1", "-o", "1", *args],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll not installed (apt-get install mbpoll)")
def test_mbpoll_reads_and_writes_the_instruments(bank: tuple[InstrumentBank, FakePlant]) -> None:
    b, plant = bank
    # Relays: coils at protocol addresses 0..2 (-0: references are 0-based, as in the register map).
    assert "[0]: \t1" in mbpoll(b.port, "-t", "0", "-r", "0", "-c", "3", HOST)
    out = mbpoll(b.port, "-t", "0", "-r", "2", HOST, "0")
    assert "Written 1 references" in out, out
    assert plant.powered["gsme"] is False
    mbpoll(b.port, "-t", "0", "-r", "2", HOST, "1")
    assert plant.reboots["gsme"] == 1
    # Load setpoint: uint32, big-endian word order (-B), tenths of a watt.
    out = mbpoll(b.port, "-t", "4:int", "-B", "-r", "0", HOST, "25000")
    assert "Written 1 references" in out, out
    assert plant.load_w == pytest.approx(2500.0)
    out = mbpoll(b.port, "-t", "3:int", "-B", "-r", "0", HOST)
    assert "[0]: \t25000" in out, out
    # Flow setpoint (uint16, 0.1 l/h) and the float32 measured flow.
    mbpoll(b.port, "-t", "4", "-r", "2", HOST, "1000")
    assert plant.flow_lph == pytest.approx(100.0)
    assert "[2]: \t100" in mbpoll(b.port, "-t", "3:float", "-B", "-r", "2", HOST)
    # The read-only register: mbpoll reports the exception, and the bank serves on.
    out = mbpoll(b.port, "-t", "4", "-r", "10", HOST, "5")
    assert "Illegal data address" in out, out
    assert "[10]: \t1" in mbpoll(b.port, "-t", "4", "-r", "10", HOST)


def test_default_map_is_documented_shape() -> None:
    """The names the role-level calls use exist in the default map, with the documented addresses."""
    layout = {n: (p.kind, p.address, p.type, p.scale, p.access) for n, p in DEFAULT_MAP.points.items()}
    assert layout == {
        "ch_power": ("coil", 0, "bool", 1.0, "rw"),
        "esme_power": ("coil", 1, "bool", 1.0, "rw"),
        "gsme_power": ("coil", 2, "bool", 1.0, "rw"),
        "esme_terminal_cover": ("coil", 3, "bool", 1.0, "rw"),
        "gsme_battery_level": ("holding", 4, "uint16", 0.1, "rw"),
        "esme_load_current": ("discrete", 0, "bool", 1.0, "r"),
        "esme_load_setpoint": ("holding", 0, "uint32", 0.1, "rw"),
        "gsme_flow_setpoint": ("holding", 2, "uint16", 0.1, "rw"),
        "map_version": ("holding", 10, "uint16", 1.0, "r"),
        "esme_measured_power": ("input", 0, "int32", 0.1, "r"),
        "gsme_measured_flow": ("input", 2, "float32", 1.0, "r"),
    }
