"""The virtual meters' IEC 62056-21 mode C port against what the standard says a meter does
(IEC 62056-21:2002 6.3 and its timings 6.3.14): the state machine without I/O, then the real server on
a loopback socket, with the harness's own readout client and raw bytes as a third-party tool sends them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from device_drivers.links import Link
from device_drivers.protocols.iec62056_21 import ReadoutClient, bcc
from labs.virtual.faults import FaultInjector, FaultLog
from labs.virtual.iec62056_21 import ACK, ETX, NAK, SOH, STX, ModeCMeter, ReadoutTiming, serve_readout

SERIAL = "E21Z000001"
DATASETS = [("C.1.0", SERIAL, None), ("1.8.0", "0001000.000", "kWh")]


def meter(**kw: object) -> ModeCMeter:
    return ModeCMeter(
        "DMC", lambda: "VESME-1P", lambda: DATASETS, SERIAL, SERIAL, ReadoutTiming(0.2, 0.2), **kw
    )  # type: ignore[arg-type]


def command(body: bytes) -> bytes:
    return SOH + body + bytes([bcc(body)])


# -- the state machine -------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["", SERIAL, "0" + SERIAL, SERIAL.lstrip("0")])
def test_sign_on_for_any_meter_or_this_one_is_answered(address: str) -> None:
    replies = meter().feed(f"/?{address}!\r\n".encode())
    assert replies == [(0.2, b"/DMC5VESME-1P\r\n")]


def test_sign_on_addressed_to_another_meter_gets_no_answer() -> None:
    m = meter()
    assert m.feed(b"/?E21Z000002!\r\n") == []
    assert m.feed(ACK + b"050\r\n") == []  # and no data on the acknowledgement that follows


def test_acknowledgement_without_sign_on_gets_nothing() -> None:
    m = meter()
    assert m.feed(ACK + b"050\r\n") == []
    m.feed(b"/?!\r\n")
    assert len(m.feed(ACK + b"050\r\n")) == 1
    assert m.feed(ACK + b"050\r\n") == []  # one readout per sign-on


@pytest.mark.parametrize(
    ("ack", "answered"),
    [
        (b"050", True),  # normal, 9600 Bd (the rate offered), data readout
        (b"000", True),  # a lower rate: accepted
        (b"056", True),  # manufacturer-specific readout
        (b"250", False),  # V=2: HDLC mode E, not offered by this meter
        (b"060", False),  # 19200 Bd: above the rate offered
        (b"052", False),  # binary mode: not offered
    ],
)
def test_option_select(ack: bytes, answered: bool) -> None:
    m = meter()
    m.feed(b"/?!\r\n")
    replies = m.feed(ACK + ack + b"\r\n")
    if not answered:
        assert replies == []
        return
    ((delay, data),) = replies
    assert delay >= 0.2 and data.startswith(STX) and data[-2:-1] == ETX and bcc(data[1:-1]) == data[-1]
    assert b"C.1.0(E21Z000001)\r\n" in data


def test_programming_mode_password_request_then_refusal_then_break() -> None:
    m = meter()
    m.feed(b"/?!\r\n")
    ((_, p0),) = m.feed(ACK + b"051\r\n")
    assert p0 == command(b"P0" + STX + b"(E21Z000001)" + ETX)
    assert m.feed(command(b"P1" + STX + b"(00000000)" + ETX)) == [(0.0, NAK)]
    assert m.feed(SOH + b"R1" + STX + b"1.8.0()" + ETX + b"\x00") == [(0.0, NAK)]  # bad BCC
    assert m.feed(command(b"B0" + ETX)) == []  # break: silent, session over
    assert m.state == "idle"
    assert m.feed(ACK + b"050\r\n") == []


def test_noise_is_ignored_and_split_messages_reassembled() -> None:
    m = meter()
    assert m.feed(b"\x00\xff garbage") == []
    assert m.feed(b"/?") == []
    assert m.feed(b"!\r") == []
    assert m.feed(b"\n") == [(0.2, b"/DMC5VESME-1P\r\n")]


# -- the server on a socket ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_readout(
            reader, writer, manufacturer_flag="DMC", identification=lambda: "VESME-1P",
            datasets=lambda: DATASETS, faults=FaultInjector("esme", FaultLog()), idle_timeout=5,
            device_address=SERIAL, serial=SERIAL, timing=ReadoutTiming(0.2, 0.2),
        )  # fmt: skip

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result()
    yield int(server.sockets[0].getsockname()[1])
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _timed(sock: socket.socket, request: bytes, until: bytes) -> tuple[float, bytes]:
    started = time.monotonic()
    sock.sendall(request)
    data = b""
    while not data.endswith(until) and not (until == ETX and data[-2:-1] == ETX):
        chunk = sock.recv(4096)
        assert chunk, "connection closed"
        data += chunk
    return time.monotonic() - started, data


def test_reaction_times_are_at_least_200_ms(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        elapsed, ident = _timed(sock, b"/?!\r\n", b"\r\n")
        assert ident == b"/DMC5VESME-1P\r\n" and elapsed >= 0.2
        elapsed, data = _timed(sock, ACK + b"050\r\n", ETX)
        assert data.startswith(STX) and elapsed >= 0.2


def test_wrong_address_is_silent_on_the_wire(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=0.6) as sock:
        sock.sendall(b"/?99999999!\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(64)
        sock.sendall(ACK + b"050\r\n")  # no data for an acknowledgement after an unanswered sign-on
        with pytest.raises(TimeoutError):
            sock.recv(64)


def test_harness_readout_client_reads_the_port(port: int) -> None:
    with Link(f"socket://127.0.0.1:{port}", device="esme-readout", timeout=3.0) as link:
        readout = ReadoutClient(link).readout()
    assert readout.get("C.1.0") is not None and readout.get("C.1.0").value == SERIAL  # type: ignore[union-attr]


# -- reaction times per device model, overridden per device -----------------------------------------


def test_reaction_times_come_from_the_device_model_unless_the_device_overrides_them() -> None:
    """The catalogue's model behaviour carries tr for the identification and for the data message
    (VESME-3P: 350 / 250 ms; the others the standard's minimum, 200 ms); a lab file's
    ``virtual.readout_reaction_ms`` overrides both for one device."""
    from harness.lab.inventory import VirtualDeviceConfig
    from labs.virtual.devices.catalogue import load_catalogue
    from labs.virtual.process import readout_timing

    catalogue = load_catalogue()
    polyphase = catalogue.model("VESME-3P").behaviour_for("2.0.0")
    single = catalogue.model("VESME-1P").behaviour_for("1.4.2")
    assert readout_timing(polyphase, VirtualDeviceConfig()) == ReadoutTiming(0.35, 0.25)
    assert readout_timing(single, VirtualDeviceConfig()) == ReadoutTiming(0.2, 0.2)
    assert readout_timing(polyphase, VirtualDeviceConfig(readout_reaction_ms=40)) == ReadoutTiming(0.04, 0.04)
