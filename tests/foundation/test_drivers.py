"""Link → protocol → role driver against the simulated ESME, through pyserial ``socket://`` URLs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from device_drivers.errors import FrameError, LinkDown, LinkTimeout
from device_drivers.links import Link
from device_drivers.protocols.iec62056_21 import bcc, parse_data_message
from device_drivers.roles import EsmeDriver
from device_drivers.transcript import Transcript
from tests.conftest import RunningLab, esme_of

URL = "virtual://rig-1/esme/optical"


def test_driver_reads_simulated_register_through_socket_url(virtual_lab: Callable[..., RunningLab]) -> None:
    running = virtual_lab()
    endpoints = running.endpoint_map()
    assert endpoints[URL].startswith("socket://127.0.0.1:")
    transcript = Transcript()
    with Link(URL, device="rig-1/esme", endpoints=endpoints, transcript=transcript) as link:
        assert link.resolved_url == endpoints[URL]
        esme = EsmeDriver("rig-1/esme", link)
        first = esme.read_import_registers()
        identity = esme.identity()
        second = esme.read_import_registers()
    assert first.unit == "kWh" and len(first.tou) == 4
    assert abs(first.total - sum(first.tou)) <= Decimal("0.004")
    assert second.total > first.total, "2 kW at 3600x simulated time must move the register"
    assert (identity.model, identity.firmware_version, identity.serial) == ("VESME-1P", "1.4.2", "E21Z000001")
    directions = [e.direction for e in transcript.entries]
    assert directions[0] == "note" and "tx" in directions and "rx" in directions
    assert any(e.data == b"/?!\r\n" for e in transcript.entries if e.direction == "tx")


def test_seeded_defect_changes_what_the_device_says(
    virtual_lab: Callable[..., RunningLab], lab_file: Callable[..., Path]
) -> None:
    path = lab_file(lambda d: esme_of(d)["virtual"].update(defects=["tou_rate_misapplied"]))
    running = virtual_lab(path)
    with Link(URL, device="esme", endpoints=running.endpoint_map()) as link:
        regs = EsmeDriver("esme", link).read_import_registers()
    assert abs(regs.total - sum(regs.tou)) > Decimal("1"), "the defect must break the TOU sum"


def test_unserved_virtual_url_is_link_down() -> None:
    with pytest.raises(LinkDown, match="not served"):
        Link(URL, device="esme", endpoints={})


def test_refused_connection_is_link_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LinkDown, match="cannot open"):
        Link(f"socket://127.0.0.1:{port}", device="esme", timeout=0.5).open()


def test_socket_link_closes_without_pyserials_pause_and_reopens() -> None:
    """issue 21: pyserial's ``socket://`` close sleeps 0.3 s; ``Link.close`` closes the socket itself (the
    far end sees the connection end) and the link reopens at once, a new connection answering."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    ended: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = srv.accept()
            with conn:
                conn.sendall(conn.recv(64))
                ended.append(conn.recv(64))  # b"" once the client has closed

    threading.Thread(target=serve, daemon=True).start()
    link = Link(f"socket://127.0.0.1:{srv.getsockname()[1]}", device="ihd", timeout=2.0)
    try:
        for _ in range(2):
            link.open()
            link.write(b"ping\n")
            assert link.read_until(b"\n") == b"ping\n"
            start = time.perf_counter()
            link.close()
            assert time.perf_counter() - start < 0.2 and not link.is_open
        deadline = time.monotonic() + 5
        while len(ended) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ended == [b"", b""], "the far end must see each connection closed"
    finally:
        srv.close()


@pytest.fixture
def fake_meter() -> Iterator[Callable[[list[bytes]], str]]:
    """A one-connection TCP peer that answers each request line with the next canned reply."""
    servers: list[socket.socket] = []

    def serve(replies: list[bytes]) -> str:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        servers.append(srv)

        def run() -> None:
            conn, _ = srv.accept()
            with conn:
                buf = b""
                for reply in replies:
                    while b"\r\n" not in buf:
                        chunk = conn.recv(1024)
                        if not chunk:
                            return
                        buf += chunk
                    buf = buf.split(b"\r\n", 1)[1]
                    conn.sendall(reply)
                conn.recv(1024)

        threading.Thread(target=run, daemon=True).start()
        return f"socket://127.0.0.1:{srv.getsockname()[1]}"

    yield serve
    for srv in servers:
        srv.close()


def _data(block: bytes, corrupt: bool = False) -> bytes:
    body = block + b"!\r\n\x03"
    check = bcc(body) ^ (0xFF if corrupt else 0)
    return b"\x02" + body + bytes([check])


IDENT = b"/VML5VESME-1P\r\n"
GOOD = _data(b"C.1.0(1)\r\n0.2.0(1.0)\r\n1.8.0(10.000*kWh)\r\n1.8.1(10.000*kWh)\r\n")


def test_corrupted_frame_is_retried_and_noted(fake_meter: Callable[[list[bytes]], str]) -> None:
    url = fake_meter([IDENT, _data(b"1.8.0(1*kWh)\r\n", corrupt=True), IDENT, GOOD])
    transcript = Transcript()
    with Link(url, device="esme", timeout=1.0, transcript=transcript) as link:
        regs = EsmeDriver("esme", link).read_import_registers()
    assert regs.total == Decimal("10.000")
    notes = [e.note for e in transcript.entries if e.direction == "note"]
    assert any("retry 1/2" in n and "block check failed" in n for n in notes), notes


def test_persistently_corrupted_frames_are_a_frame_error(fake_meter: Callable[[list[bytes]], str]) -> None:
    bad = _data(b"1.8.0(1*kWh)\r\n", corrupt=True)
    url = fake_meter([IDENT, bad, IDENT, bad, IDENT, bad])
    with Link(url, device="esme", timeout=1.0) as link, pytest.raises(FrameError, match="block check"):
        EsmeDriver("esme", link).read_import_registers()


def test_silent_device_is_a_timeout(fake_meter: Callable[[list[bytes]], str]) -> None:
    url = fake_meter([])
    with Link(url, device="esme", timeout=0.2) as link, pytest.raises((LinkTimeout, LinkDown)):
        EsmeDriver("esme", link).identity()


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x02no etx", b"\x02abc\x03\x00", b"1.8.0(1)\r\n!\r\n\x03\x00", _data(b"garbage line\r\n")],
)
def test_parse_rejects_malformed_data_messages(frame: bytes) -> None:
    with pytest.raises(FrameError):
        parse_data_message(frame, "esme")


def test_rfc2217_urls_ignore_set_control_unless_told() -> None:
    from device_drivers.links import rfc2217_options

    assert rfc2217_options("rfc2217://127.0.0.1:2000") == "rfc2217://127.0.0.1:2000?ign_set_control"
    assert rfc2217_options("rfc2217://h:1?logging=debug") == "rfc2217://h:1?logging=debug&ign_set_control"
    assert rfc2217_options("rfc2217://h:1?ign_set_control") == "rfc2217://h:1?ign_set_control"
    assert rfc2217_options("socket://h:1") == "socket://h:1"


def test_device_families_come_from_entry_points() -> None:
    from device_drivers.registry import driver_class
    from device_drivers.roles import ChDriver, DisplayDriver, GsmeDriver, IhdDriver, PpmidDriver

    assert driver_class("gsme") is GsmeDriver and driver_class("ch") is ChDriver
    assert driver_class("ppmid") is PpmidDriver and driver_class("ihd") is IhdDriver
    assert issubclass(PpmidDriver, DisplayDriver) and (PpmidDriver.role, IhdDriver.role) == ("ppmid", "ihd")
    with pytest.raises(LookupError, match="no device driver 'toaster'"):
        driver_class("toaster")


def test_lab_control_client_maps_failures_to_the_taxonomy() -> None:
    """Unreachable → LinkDown; silence → LinkTimeout; junk → FrameError; ``ok: false`` → LabControlError."""
    from device_drivers.lab_control import (
        CONTROL_ENDPOINT,
        LabControlClient,
        LabControlError,
        control_address,
    )

    assert control_address({CONTROL_ENDPOINT: "tcp://127.0.0.1:4040"}) == "127.0.0.1:4040"
    assert control_address({}) is None and control_address(None) is None
    with pytest.raises(ValueError, match="host:port"):
        LabControlClient("nowhere")

    answers = iter([b"", b'{"ok": false, "error": "unknown device"}\n', b"junk\n", b'{"ok": true, "n": 1}\n'])
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        for answer in answers:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                if answer:
                    conn.sendall(answer)
                else:
                    conn.recv(4096)  # say nothing until the client gives up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = LabControlClient(f"127.0.0.1:{port}", timeout=0.3)
    with pytest.raises(LinkTimeout):
        client.call({"op": "status"})
    with pytest.raises(LabControlError, match="unknown device"):
        client.call({"op": "tamper"})
    with pytest.raises(FrameError):
        client.call({"op": "status"})
    assert client.call({"op": "status"}) == {"ok": True, "n": 1}
    thread.join(5)
    server.close()
    with pytest.raises(LinkDown, match="cannot reach the lab control API"):
        LabControlClient(f"127.0.0.1:{port}", timeout=0.3).call({"op": "status"})
