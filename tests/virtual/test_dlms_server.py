"""The DLMS/HDLC meter simulator through real sockets on 127.0.0.1.

The "independent client" tests use dlms-cosem exactly as published (its own ``BlockingTcpIO`` and
``HdlcTransport``); the others use the project's driver (:mod:`device_drivers.protocols.dlms`) and a raw
HDLC client for the malformed-input cases.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dlms_cosem import cosem as dc_cosem
from dlms_cosem import enumerations as dc_enums
from dlms_cosem import exceptions as dc_exceptions
from dlms_cosem import utils as dc_utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.connection import DlmsConnection
from dlms_cosem.io import BlockingTcpIO, HdlcTransport
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_drivers.protocols.dlms import (
    DlmsDeviceError,
    DlmsLinkError,
    DlmsOpticalClient,
    DlmsProtocolError,
    UrlSerialIO,
    quiet_dlms_cosem_logging,
)
from labs.virtual import cosem
from labs.virtual.cosem import DoubleLongUnsigned, Integer, OctetString, SimpleCosemModel, VisibleString
from labs.virtual.dlms_server import DlmsEndpoint, DlmsServerThread, serve_dlms_on_fd
from labs.virtual.hdlc import LLC_REQUEST, FrameBuffer, FrameKind, HdlcFrame, encode_frame

PASSWORD = b"12345678"
ENERGY = "1.0.1.8.0.255"
CLOCK = "0.0.1.0.0.255"
DISCONNECT = "0.0.96.3.10.255"
SERIAL = "0.0.96.1.0.255"
LABEL = "0.0.96.1.1.255"
BIG = "0.0.96.1.2.255"
FIXED_TIME = datetime(2024, 5, 17, 9, 30, 0, tzinfo=UTC)
INTEGER_ZERO = b"\x0f\x00"

quiet_dlms_cosem_logging()


def meter_model(energy: int = 123456) -> SimpleCosemModel:
    model = SimpleCosemModel()
    model.add_register(ENERGY, DoubleLongUnsigned(energy), scaler=0, unit=30)
    model.add_clock(now=lambda: FIXED_TIME)
    model.add_disconnect_control()
    model.add_data(SERIAL, OctetString(b"SIM-ESME-0001"))
    model.add_data(LABEL, VisibleString("kitchen"), writable=True)
    model.add_data(BIG, OctetString(bytes(range(256)) * 12))
    return model


@pytest.fixture(scope="module")
def lab() -> Iterator[DlmsServerThread]:
    with DlmsServerThread() as running:
        yield running


@pytest.fixture
def meter(lab: DlmsServerThread) -> tuple[int, DlmsEndpoint]:
    """A fresh simulated meter (own model and port) per test."""
    endpoint = DlmsEndpoint(model=meter_model(), password=PASSWORD, inactivity_timeout=10)
    port = lab.add_endpoint(endpoint)
    return port, endpoint


def dlms_cosem_client(port: int, *, password: bytes | None, client: int) -> DlmsClient:
    """dlms-cosem with its own TCP I/O: nothing from this project on the client side."""
    transport = HdlcTransport(
        client_logical_address=client,
        server_logical_address=1,
        io=BlockingTcpIO(host="127.0.0.1", port=port, timeout=5),
    )
    auth = LowLevelSecurityAuthentication(secret=password) if password else NoSecurityAuthentication()
    return DlmsClient(transport=transport, authentication=auth)


def attribute(class_id: int, obis: str, index: int) -> dc_cosem.CosemAttribute:
    return dc_cosem.CosemAttribute(
        interface=dc_enums.CosemInterface(class_id), instance=dc_cosem.Obis.from_string(obis), attribute=index
    )


def parse(raw: bytes) -> object:
    return dc_utils.parse_as_dlms_data(raw)


# -- the unmodified dlms-cosem client -------------------------------------------------------------


def test_dlms_cosem_client_full_lls_session(meter: tuple[int, DlmsEndpoint]) -> None:
    port, endpoint = meter
    client = dlms_cosem_client(port, password=PASSWORD, client=1)
    client.connect()
    client.associate()
    assert parse(client.get(attribute(3, ENERGY, 2))) == 123456
    assert parse(client.get(attribute(3, ENERGY, 3))) == [0, 30]
    clock = parse(client.get(attribute(8, CLOCK, 2)))
    assert isinstance(clock, bytes) and cosem.cosem_to_datetime(clock) == FIXED_TIME
    assert parse(client.get(attribute(70, DISCONNECT, 2))) is True
    assert parse(client.get(attribute(70, DISCONNECT, 3))) == 1
    method = dc_cosem.CosemMethod(dc_enums.CosemInterface(70), dc_cosem.Obis.from_string(DISCONNECT), 1)
    assert client.action(method, INTEGER_ZERO) is None
    assert parse(client.get(attribute(70, DISCONNECT, 2))) is False
    assert parse(client.get(attribute(70, DISCONNECT, 3))) == 0
    response = client.set(attribute(1, LABEL, 2), VisibleString("garage").to_bytes())
    assert response.result == dc_enums.DataAccessResult.SUCCESS
    assert parse(client.get(attribute(1, LABEL, 2))) == "garage"
    assert endpoint.model.get(1, cosem.parse_obis(LABEL), 2) == VisibleString("garage")
    assert client.release_association() is not None
    client.disconnect()
    assert endpoint.stats.internal_errors == 0


def test_dlms_cosem_client_no_security_is_read_only(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    client = dlms_cosem_client(port, password=None, client=16)
    with client.session():
        assert parse(client.get(attribute(3, ENERGY, 2))) == 123456
        response = client.set(attribute(1, LABEL, 2), VisibleString("x").to_bytes())
        assert response.result == dc_enums.DataAccessResult.READ_WRITE_DENIED


def test_dlms_cosem_client_block_transfer(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    client = dlms_cosem_client(port, password=PASSWORD, client=1)
    with client.session():
        assert parse(client.get(attribute(1, BIG, 2))) == bytes(range(256)) * 12


def test_dlms_cosem_client_over_the_url_adapter(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    transcript: list[tuple[str, bytes]] = []
    io = UrlSerialIO(f"socket://127.0.0.1:{port}", timeout=5, on_bytes=lambda d, b: transcript.append((d, b)))
    transport = HdlcTransport(client_logical_address=1, server_logical_address=1, io=io)
    client = DlmsClient(transport=transport, authentication=LowLevelSecurityAuthentication(secret=PASSWORD))
    with client.session():
        assert parse(client.get(attribute(3, ENERGY, 2))) == 123456
    sent = b"".join(b for d, b in transcript if d == "tx")
    received = b"".join(b for d, b in transcript if d == "rx")
    assert sent.startswith(bytes.fromhex("7ea007030393")) and sent.endswith(b"\x7e")  # SNRM first
    assert b"\x06\x00\x01\xe2\x40" in received  # double-long-unsigned 123456


# -- the project's driver -------------------------------------------------------------------------


def url(port: int) -> str:
    return f"socket://127.0.0.1:{port}"


def test_optical_client_round_trip(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as meter_client:
        assert meter_client.get(3, ENERGY, 2) == 123456
        assert meter_client.get(3, ENERGY, 3) == (0, 30)
        assert cosem.cosem_to_datetime(meter_client.get(8, CLOCK, 2)) == FIXED_TIME
        assert meter_client.get(1, SERIAL, 2) == b"SIM-ESME-0001"
        assert meter_client.action(70, DISCONNECT, 1, INTEGER_ZERO) is None
        assert (meter_client.get(70, DISCONNECT, 2), meter_client.get(70, DISCONNECT, 3)) == (False, 0)
        meter_client.action(70, DISCONNECT, 2, Integer(0))
        assert meter_client.get(70, DISCONNECT, 2) is True
        meter_client.set(1, LABEL, 2, VisibleString("loft"))
        assert meter_client.get(1, LABEL, 2) == "loft"
        long_label = "attic " * 60  # 360 bytes: the request itself is segmented into HDLC frames
        meter_client.set(1, LABEL, 2, VisibleString(long_label))
        assert meter_client.get(1, LABEL, 2) == long_label
        assert meter_client.get(1, BIG, 2) == bytes(range(256)) * 12


def test_wrong_password_is_rejected(meter: tuple[int, DlmsEndpoint]) -> None:
    port, endpoint = meter
    client = DlmsOpticalClient(url(port), client_address=1, password=b"wrong", timeout=3)
    client.connect()
    with pytest.raises(DlmsDeviceError) as error:
        client.associate()
    assert (error.value.kind, error.value.code) == ("association", 13)  # authentication-failure
    client.close()
    raw = dlms_cosem_client(port, password=b"wrong", client=1)
    raw.connect()
    with pytest.raises(dc_exceptions.DlmsClientException, match="AUTHENTICATION_FAILED"):
        raw.associate()
    raw.disconnect()
    assert endpoint.stats.rejected_associations == 2 and endpoint.stats.associations == 0


@pytest.mark.parametrize(
    ("client", "password", "diagnostic"),
    [
        (16, None, None),  # the public client: no security, accepted
        (1, PASSWORD, None),  # the management client: LLS, accepted
        (16, PASSWORD, 11),  # LLS on the public association: authentication-mechanism-name-not-recognised
        (1, None, 12),  # no mechanism on the management association: authentication-mechanism-name-required
        (1, b"wrong", 13),  # authentication-failure
        (2, None, 1),  # a client SAP with no association: rejected-permanent, no-reason-given
        (2, PASSWORD, 1),
    ],
)
def test_each_client_sap_has_its_association_and_mechanism(
    meter: tuple[int, DlmsEndpoint], client: int, password: bytes | None, diagnostic: int | None
) -> None:
    """Green Book: the client SAP selects the association, and the association fixes the mechanism."""
    port, _ = meter
    meter_client = DlmsOpticalClient(url(port), client_address=client, password=password, timeout=3)
    meter_client.connect()
    try:
        if diagnostic is None:
            meter_client.associate()
            assert meter_client.get(3, ENERGY, 2) == 123456
            return
        with pytest.raises(DlmsDeviceError) as error:
            meter_client.associate()
        assert (error.value.kind, error.value.code) == ("association", diagnostic)
    finally:
        meter_client.close()


def test_public_client_reads_but_may_not_write(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    with DlmsOpticalClient(url(port), client_address=16, password=None, timeout=3) as public:
        assert public.get(1, LABEL, 2) is not None
        with pytest.raises(DlmsDeviceError) as error:
            public.set(1, LABEL, 2, VisibleString("x"))
        assert (error.value.kind, error.value.code) == ("data-access-result", 3)  # read-write-denied


def test_associations_as_the_lab_file_declares(lab: DlmsServerThread) -> None:
    port = lab.add(meter_model(), password=None, allow_no_security=False)  # no association at all
    for client, password in ((16, None), (1, PASSWORD)):
        meter_client = DlmsOpticalClient(url(port), client_address=client, password=password, timeout=3)
        meter_client.connect()
        with pytest.raises(DlmsDeviceError) as error:
            meter_client.associate()
        assert error.value.code == 1
        meter_client.close()
    port = lab.add(meter_model(), password=PASSWORD, associations={3: cosem.AuthLevel.LLS})
    with DlmsOpticalClient(url(port), client_address=3, password=PASSWORD, timeout=3) as client:
        assert client.get(3, ENERGY, 2) == 123456


def test_association_ln_object_lists_the_objects_with_this_association_s_rights(
    meter: tuple[int, DlmsEndpoint],
) -> None:
    """Blue Book IC 15: 0.0.40.0.0.255 in every logical device; object_list = {class_id, version,
    logical_name, access_rights} per object, the rights being those of the association it is read on."""
    port, endpoint = meter
    model = endpoint.model
    assert isinstance(model, SimpleCosemModel)
    lists = {}
    for client, password in ((16, None), (1, PASSWORD)):
        with DlmsOpticalClient(url(port), client_address=client, password=password, timeout=3) as c:
            lists[client] = c.get(15, "0.0.40.0.0.255", 2)
            assert c.get(15, "0.0.40.0.0.255", 1) == bytes([0, 0, 40, 0, 0, 255])
            assert c.get(15, "0.0.40.0.0.255", 3) == (client, 1)  # associated_partners_id
            assert c.get(15, "0.0.40.0.0.255", 6)[-1] == (0 if password is None else 1)  # mechanism id
            assert c.get(15, "0.0.40.0.0.255", 8) == 2  # associated
            with pytest.raises(DlmsDeviceError) as error:
                c.get(15, "0.0.40.0.0.255", 7)  # the secret
            assert error.value.code == 3
            with pytest.raises(DlmsDeviceError) as error:
                c.get(1, "0.0.40.0.0.255", 2)
            assert error.value.code == 9  # object-class-inconsistent
            assert c.get(17, "0.0.41.0.0.255", 2) == [(1, endpoint.name.encode())]
    for client, listed in lists.items():
        by_name = {bytes(e[2]): e for e in listed}
        assert set(by_name) == {o.logical_name for o in model} | {
            bytes([0, 0, 40, 0, 0, 255]),
            bytes([0, 0, 41, 0, 0, 255]),
        }
        label = by_name[cosem.parse_obis(LABEL)]
        assert label[0] == 1 and label[1] == 0
        attribute_rights = {a[0]: a[1] for a in label[3][0]}
        # Attribute 2 of the label is writable with LLS: read-only for the public client, read-write
        # for the management client; attribute 1 (logical name) read-only for both.
        assert attribute_rights == {1: 1, 2: 1 if client == 16 else 3}
        disconnect = by_name[cosem.parse_obis(DISCONNECT)]
        assert {m[0]: m[1] for m in disconnect[3][1]} == dict.fromkeys((1, 2), client == 1)


@pytest.mark.parametrize(
    ("class_id", "obis", "index", "code"),
    [
        (3, "1.0.99.8.0.255", 2, 4),  # unknown OBIS: object-undefined
        (3, ENERGY, 9, 4),  # unknown attribute: object-undefined
        (1, ENERGY, 2, 9),  # wrong class: object-class-inconsistent
    ],
)
def test_get_errors_carry_the_data_access_result(
    meter: tuple[int, DlmsEndpoint], class_id: int, obis: str, index: int, code: int
) -> None:
    port, _ = meter
    with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as client:
        with pytest.raises(DlmsDeviceError) as error:
            client.get(class_id, obis, index)
        assert (error.value.kind, error.value.code) == ("data-access-result", code)
        assert client.get(3, ENERGY, 2) == 123456  # the association is still usable


def test_set_and_action_errors(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as client:
        with pytest.raises(DlmsDeviceError) as error:
            client.set(1, SERIAL, 2, OctetString(b"X"))
        assert error.value.code == 3  # read-write-denied on a read-only attribute
        with pytest.raises(DlmsDeviceError) as error:
            client.set(1, LABEL, 2, OctetString(b"X"))
        assert error.value.code == 12  # type-unmatched
        with pytest.raises(DlmsDeviceError) as error:
            client.action(70, DISCONNECT, 7, INTEGER_ZERO)
        assert (error.value.kind, error.value.code) == ("action-result", 4)
        with pytest.raises(DlmsDeviceError) as error:
            client.action(70, DISCONNECT, 1, DoubleLongUnsigned(0))
        assert error.value.code == 12
    with DlmsOpticalClient(url(port), client_address=16, password=None, timeout=3) as public:
        with pytest.raises(DlmsDeviceError) as error:
            public.action(70, DISCONNECT, 1, INTEGER_ZERO)
        assert error.value.code == 3


def test_link_errors_are_not_device_errors(lab: DlmsServerThread) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(DlmsLinkError):
        DlmsOpticalClient(url(closed_port), timeout=1).connect()
    # A listener that never answers: the HDLC connect times out.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(DlmsLinkError, match="timeout"):
            DlmsOpticalClient(url(silent.getsockname()[1]), timeout=0.3).connect()
        assert time.monotonic() - started < 2


# -- raw HDLC: malformed input ----------------------------------------------------------------------

SERVER, CLIENT = b"\x03", b"\x03"  # server logical 1, client 1


class RawHdlc:
    """Just enough of a client to send arbitrary bytes and read frames back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.frames = FrameBuffer()
        self.pending: list[HdlcFrame] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float = 2.0) -> HdlcFrame | None:
        self.sock.settimeout(timeout)
        while not self.pending:
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                return None
            if not chunk:
                return None
            self.pending += self.frames.feed(chunk)
        return self.pending.pop(0)

    def command(self, control: int, info: bytes = b"") -> HdlcFrame | None:
        self.send(encode_frame(SERVER, CLIENT, control, info))
        return self.read()

    def close(self) -> None:
        self.sock.close()


def test_bad_frames_are_dropped_silently_and_the_server_keeps_serving(
    meter: tuple[int, DlmsEndpoint],
) -> None:
    port, endpoint = meter
    raw = RawHdlc(port)
    snrm = encode_frame(SERVER, CLIENT, 0x93)
    bad_fcs = bytearray(snrm)
    bad_fcs[-2] ^= 0x55
    raw.send(bytes(bad_fcs))
    assert raw.read(0.3) is None
    bad_hcs = bytearray(encode_frame(SERVER, CLIENT, 0x10, LLC_REQUEST + b"\xc0\x01"))
    bad_hcs[7] ^= 0x01
    raw.send(bytes(bad_hcs) + b"\x00\xff garbage \x7e\x7e\xa0")
    assert raw.read(0.3) is None
    raw.send(encode_frame(SERVER, CLIENT, 0x10, LLC_REQUEST + b"x" * 50)[:30])  # truncated
    ua = raw.command(0x93)
    assert ua is not None and ua.kind is FrameKind.UA
    raw.close()
    assert endpoint.stats.dropped_frames >= 3
    with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as client:
        assert client.get(3, ENERGY, 2) == 123456


def test_disconnected_mode_answers_dm(meter: tuple[int, DlmsEndpoint]) -> None:
    raw = RawHdlc(meter[0])
    info = raw.command(0x10, LLC_REQUEST + bytes.fromhex("c001c100030100010800ff0200"))
    assert info is not None and info.kind is FrameKind.DM
    disc = raw.command(0x53)
    assert disc is not None and disc.kind is FrameKind.DM
    raw.close()


def test_xdlms_without_association_gets_exception_response(meter: tuple[int, DlmsEndpoint]) -> None:
    raw = RawHdlc(meter[0])
    assert raw.command(0x93) is not None
    reply = raw.command(0x10, LLC_REQUEST + bytes.fromhex("c001c100030100010800ff0200"))
    assert reply is not None and reply.information == b"\xe6\xe7\x00\xd8\x01\x01"
    # Next I-frame: N(S)=1, N(R)=1.  An APDU nobody knows: service-unknown.
    reply = raw.command(0x10 | (1 << 1) | (1 << 5), LLC_REQUEST + b"\x42\x00")
    assert reply is not None and reply.information == b"\xe6\xe7\x00\xd8\x02\x02"
    raw.close()


def test_retransmitted_request_is_not_executed_twice(lab: DlmsServerThread) -> None:
    calls: list[int] = []
    model = meter_model()
    model.add_object(
        1, "0.0.96.99.0.255", methods={1: cosem.Method(lambda p: calls.append(1), cosem.AuthLevel.NONE)}
    )
    port = lab.add(model, password=None, associations={1: cosem.AuthLevel.NONE})  # RawHdlc is client 1
    raw = RawHdlc(port)
    raw.command(0x93)
    aarq = (
        DlmsConnection(authentication=NoSecurityAuthentication(), client_system_title=None)
        .get_aarq()
        .to_bytes()
    )
    aare = raw.command(0x10, LLC_REQUEST + aarq)
    assert aare is not None and aare.information[3] == 0x61
    action = encode_frame(
        SERVER, CLIENT, 0x10 | (1 << 1) | (1 << 5), LLC_REQUEST + bytes.fromhex("c301c100010000606300ff0100")
    )
    raw.send(action)
    first = raw.read()
    raw.send(action)  # as if our answer had been lost
    second = raw.read()
    assert first is not None and second is not None and first.information == second.information
    assert first.information.endswith(b"\xc7\x01\xc1\x00\x00") and calls == [1]
    raw.close()


# -- isolation, concurrency, fuzzing ------------------------------------------------------------------


def test_a_bad_client_does_not_affect_others(meter: tuple[int, DlmsEndpoint]) -> None:
    port, endpoint = meter
    stop = threading.Event()
    attacks = [0]

    def vandal() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(encode_frame(SERVER, CLIENT, 0x93))
                    sock.sendall(os.urandom(200) + encode_frame(SERVER, CLIENT, 0x10, b"x" * 60)[:40])
                attacks[0] += 1
            except OSError:
                pass

    thread = threading.Thread(target=vandal)
    thread.start()
    try:
        with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as client:
            gets = 0
            while gets < 50 or attacks[0] < 20:  # interleave with a fair number of hostile connections
                assert client.get(3, ENERGY, 2) == 123456
                gets += 1
    finally:
        stop.set()
        thread.join()
    assert endpoint.stats.internal_errors == 0


def test_many_concurrent_clients(lab: DlmsServerThread) -> None:
    endpoints = [
        DlmsEndpoint(model=meter_model(energy=1000 + i), password=PASSWORD, name=f"m{i}") for i in range(24)
    ]
    ports = lab.add_many(endpoints)
    errors: list[BaseException] = []

    def worker(i: int, port: int) -> None:
        try:
            with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=5) as client:
                for _ in range(20):
                    assert client.get(3, ENERGY, 2) == 1000 + i
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    # Two connections per meter: each TCP connection is its own HDLC link and association.
    threads = [threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(ports)]
    threads += [threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(ports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(ep.stats.associations == 2 for ep in endpoints)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=1, max_size=120), min_size=1, max_size=4), st.booleans())
def test_random_bytes_never_crash_the_server(
    meter: tuple[int, DlmsEndpoint], chunks: list[bytes], connect_first: bool
) -> None:
    port, endpoint = meter
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        if connect_first:
            sock.sendall(encode_frame(SERVER, CLIENT, 0x93))
        for chunk in chunks:
            sock.sendall(chunk)
        # Random bytes wrapped in a valid I-frame reach the DLMS layer too.
        sock.sendall(encode_frame(SERVER, CLIENT, 0x10, LLC_REQUEST + chunks[0]))
    assert endpoint.stats.internal_errors == 0


def test_server_alive_after_fuzzing(meter: tuple[int, DlmsEndpoint]) -> None:
    port, _ = meter
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(encode_frame(SERVER, CLIENT, 0x93) + os.urandom(300))
    with DlmsOpticalClient(url(port), client_address=1, password=PASSWORD, timeout=3) as client:
        assert client.get(3, ENERGY, 2) == 123456


def test_serving_on_a_pty(lab: DlmsServerThread) -> None:
    master, slave = os.openpty()
    endpoint = DlmsEndpoint(model=meter_model(), password=PASSWORD)
    stop = asyncio.run_coroutine_threadsafe(serve_dlms_on_fd(endpoint, master), lab.loop).result()
    try:
        with DlmsOpticalClient(os.ttyname(slave), client_address=1, password=PASSWORD, timeout=3) as client:
            assert client.get(3, ENERGY, 2) == 123456
    finally:
        lab.call(stop)
        os.close(slave)
        os.close(master)


class ScriptedMeter:
    """A fake device answering each request APDU with the next scripted APDU (in valid HDLC frames)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        frames = FrameBuffer()
        vs = vr = 0
        with conn:
            while chunk := conn.recv(4096):
                for frame in frames.feed(chunk):
                    if frame.kind is FrameKind.SNRM or frame.kind is FrameKind.DISC:
                        conn.sendall(encode_frame(frame.source, frame.destination, 0x73))
                    elif frame.kind is FrameKind.I:
                        vr = (vr + 1) & 7
                        info = b"\xe6\xe7\x00" + self.answers.pop(0)
                        control = 0x10 | (vs << 1) | (vr << 5)
                        conn.sendall(encode_frame(frame.source, frame.destination, control, info))
                        vs = (vs + 1) & 7

    def close(self) -> None:
        self.listener.close()


def test_exception_responses_and_protocol_violations_are_device_errors() -> None:
    accepted = "6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000181d04000007"
    session_aare = bytes.fromhex(accepted)
    fake = ScriptedMeter([session_aare, b"\xd8\x01\x02", b"\xc4\x01\xc1\x00\x99", b"\x63\x03\x80\x01\x00"])
    try:
        with DlmsOpticalClient(url(fake.port), timeout=2) as client:
            with pytest.raises(DlmsDeviceError) as error:
                client.get(3, ENERGY, 2)
            assert (error.value.kind, error.value.code) == ("exception-response", 0x0102)
            with pytest.raises(DlmsProtocolError):
                client.get(3, ENERGY, 2)  # tag 0x99 is no A-XDR type
    finally:
        fake.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "192.168.1.10", "::"])
def test_only_loopback_addresses_are_served(lab: DlmsServerThread, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        lab.add(meter_model(), password=None, host=host)
