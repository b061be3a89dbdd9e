"""Unit tests of the DLMS simulator's pure layers: A-XDR codec, HDLC framing, link and session.

These run without sockets; the end-to-end behaviour through TCP is in ``test_dlms_server.py``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from dlms_cosem import dlms_data
from dlms_cosem.connection import DlmsConnection
from dlms_cosem.crc import CRCCCITT
from dlms_cosem.hdlc import frames as dlms_frames
from dlms_cosem.hdlc.address import HdlcAddress
from dlms_cosem.protocol import acse, xdlms
from dlms_cosem.protocol.xdlms.conformance import Conformance
from dlms_cosem.security import LowLevelSecurityAuthentication
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.protocols.dlms import decode_data
from labs.virtual import cosem
from labs.virtual.cosem import (
    AccessContext,
    Array,
    AuthLevel,
    Boolean,
    ControlState,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    Long64,
    Null,
    OctetString,
    SimpleCosemModel,
    Structure,
    Unsigned,
    VisibleString,
)
from labs.virtual.dlms_server import DlmsEndpoint, DlmsSession
from labs.virtual.hdlc import (
    LLC_REQUEST,
    FrameBuffer,
    FrameKind,
    HdlcFrame,
    HdlcFrameError,
    HdlcParameters,
    HdlcServerLink,
    ServerAddress,
    crc16_x25,
    decode_server_address,
    encode_client_address,
    encode_frame,
    encode_parameters,
    encode_server_address,
    fcs,
    negotiate,
    parse_frame,
    parse_parameters,
)

REFERENCE_CRC = CRCCCITT()


# -- A-XDR codec ------------------------------------------------------------------------------------


def test_encodings_match_the_green_book() -> None:
    assert DoubleLongUnsigned(123456).to_bytes() == bytes.fromhex("060001e240")
    assert Structure([Integer(-3), Enum(30)]).to_bytes() == bytes.fromhex("02020ffd161e")
    assert Boolean(True).to_bytes() == b"\x03\x01"
    assert Null().to_bytes() == b"\x00"
    assert OctetString(b"\x01" * 200).to_bytes()[:3] == b"\x09\x81\xc8"
    assert VisibleString("AB").to_bytes() == b"\x0a\x02AB"


def test_plain_python_values_get_sensible_types() -> None:
    assert cosem.to_cosem(5) == DoubleLongUnsigned(5)
    assert cosem.to_cosem(-5) == DoubleLong(-5)
    assert cosem.to_cosem(1 << 40) == cosem.Long64Unsigned(1 << 40)
    assert cosem.to_cosem(-(1 << 40)) == Long64(-(1 << 40))
    assert cosem.to_cosem((1, "x", [True])) == Structure(
        [DoubleLongUnsigned(1), VisibleString("x"), Array([True])]
    )
    assert cosem.to_cosem(None) == Null()
    with pytest.raises(ValueError):
        Unsigned(256)
    with pytest.raises(TypeError):
        Long(True)


cosem_values = st.recursive(
    st.one_of(
        st.builds(Integer, st.integers(-128, 127)),
        st.builds(Long, st.integers(-(2**15), 2**15 - 1)),
        st.builds(DoubleLongUnsigned, st.integers(0, 2**32 - 1)),
        st.builds(Long64, st.integers(-(2**63), 2**63 - 1)),
        st.builds(Enum, st.integers(0, 255)),
        st.builds(Boolean, st.booleans()),
        st.builds(OctetString, st.binary(max_size=300)),
        st.builds(VisibleString, st.text(alphabet=st.characters(max_codepoint=127), max_size=20)),
        st.builds(cosem.Utf8String, st.text(max_size=10)),
        st.builds(cosem.Float64, st.floats(allow_nan=False)),
        st.just(Null()),
    ),
    lambda children: st.one_of(
        st.builds(Array, st.lists(children, max_size=4)), st.builds(Structure, st.lists(children, max_size=4))
    ),
    max_leaves=12,
)


@given(cosem_values)
def test_codec_round_trips_and_agrees_with_the_client_decoder(value: cosem.CosemValue) -> None:
    raw = value.to_bytes()
    assert cosem.decode(raw) == value
    assert decode_data(raw) == value.to_python()


@given(st.binary(max_size=64))
def test_decoder_rejects_garbage_with_value_error_only(raw: bytes) -> None:
    with contextlib.suppress(cosem.AxdrDecodeError):
        cosem.decode(raw)
    with contextlib.suppress(ValueError):
        decode_data(raw)


def test_decoder_does_not_trust_element_counts() -> None:
    with pytest.raises(cosem.AxdrDecodeError):
        cosem.decode(b"\x01\x84\xff\xff\xff\xff\x00")


def test_dlms_cosem_decodes_what_we_encode() -> None:
    parsed = dlms_data.DlmsDataParser().parse(Structure([Integer(0), Enum(30)]).to_bytes())
    assert parsed[0].to_python() == [0, 30]


def test_cosem_datetime_round_trip_and_deviation_sign() -> None:
    local = datetime(2024, 3, 31, 1, 30, 5, 250000, tzinfo=timezone(timedelta(hours=1)))
    raw = cosem.datetime_to_cosem(local)
    assert raw[9:11] == (-60).to_bytes(2, "big", signed=True)  # Blue Book: minutes local -> UTC
    assert raw[4] == 7  # Sunday
    assert cosem.cosem_to_datetime(raw) == local
    naive = cosem.cosem_to_datetime(cosem.datetime_to_cosem(datetime(2024, 1, 1)))
    assert naive.tzinfo is None


def test_obis_parsing() -> None:
    expected = bytes([1, 0, 1, 8, 0, 255])
    assert cosem.parse_obis("1.0.1.8.0.255") == expected
    assert cosem.parse_obis("1-0:1.8.0*255") == expected
    assert cosem.parse_obis("1-0:1.8.0") == expected
    assert cosem.parse_obis(expected) == expected
    with pytest.raises(ValueError):
        cosem.parse_obis("1.0.1.8.0.256")


# -- SimpleCosemModel -------------------------------------------------------------------------------


def test_simple_model_access_rights_and_errors() -> None:
    model = SimpleCosemModel()
    model.add_register("1.0.1.8.0.255", DoubleLongUnsigned(10), unit=30)
    model.add_data("0.0.96.1.0.255", OctetString(b"A"), writable=True)
    public = AccessContext(16, AuthLevel.NONE)
    lls = AccessContext(1, AuthLevel.LLS)
    obis = cosem.parse_obis("0.0.96.1.0.255")
    with pytest.raises(cosem.ReadWriteDenied):
        model.set(1, obis, 2, OctetString(b"B"), public)
    with pytest.raises(cosem.TypeUnmatched):
        model.set(1, obis, 2, VisibleString("B"), lls)
    model.set(1, obis, 2, OctetString(b"B"), lls)
    assert model.value_of(obis) == b"B"
    with pytest.raises(cosem.ObjectUndefined):
        model.get(3, cosem.parse_obis("1.0.2.8.0.255"), 2, public)
    with pytest.raises(cosem.ObjectClassInconsistent):
        model.get(1, cosem.parse_obis("1.0.1.8.0.255"), 2, public)
    with pytest.raises(cosem.ObjectUndefined):
        model.get(3, cosem.parse_obis("1.0.1.8.0.255"), 9, public)
    with pytest.raises(cosem.ReadWriteDenied):  # registers are read-only unless asked otherwise
        model.set(3, cosem.parse_obis("1.0.1.8.0.255"), 2, DoubleLongUnsigned(0), lls)
    model.action(3, cosem.parse_obis("1.0.1.8.0.255"), 1, Integer(0), lls)  # reset
    assert model.value_of("1.0.1.8.0.255") == 0


def test_live_values_and_clock() -> None:
    energy = [100]
    model = SimpleCosemModel()
    model.add_register("1.0.1.8.0.255", lambda: DoubleLongUnsigned(energy[0]))
    start = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    now = [start]
    clock = model.add_clock(now=lambda: now[0])
    energy[0] = 150
    assert model.value_of("1.0.1.8.0.255") == 150
    target = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    model.set(8, cosem.parse_obis("0.0.1.0.0.255"), 2, OctetString(cosem.datetime_to_cosem(target)))
    now[0] = start + timedelta(seconds=10)  # simulated time keeps running after the SET
    assert clock.now() == target + timedelta(seconds=10)
    assert cosem.cosem_to_datetime(model.value_of("0.0.1.0.0.255")) == target + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("mode", "after_reconnect"), [(4, ControlState.CONNECTED), (1, ControlState.READY_FOR_RECONNECTION)]
)
def test_disconnect_control_modes(mode: int, after_reconnect: ControlState) -> None:
    changes: list[ControlState] = []
    model = SimpleCosemModel()
    dc = model.add_disconnect_control(control_mode=mode, on_change=changes.append)
    obis = cosem.parse_obis("0.0.96.3.10.255")
    model.action(70, obis, 1, Integer(0))
    assert (model.value_of(obis, 2), model.value_of(obis, 3)) == (False, 0)
    model.action(70, obis, 2, Integer(0))
    assert dc.state is after_reconnect
    dc.manual_reconnect()
    assert model.value_of(obis, 2) is True
    assert changes[0] is ControlState.DISCONNECTED and changes[-1] is ControlState.CONNECTED
    with pytest.raises(cosem.TypeUnmatched):
        model.action(70, obis, 1, DoubleLongUnsigned(0))


# -- HDLC -------------------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_crc_is_the_dlms_cosem_crc(data: bytes) -> None:
    assert fcs(data) == REFERENCE_CRC.calculate_for(data)


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_frames_are_byte_identical_to_dlms_cosem() -> None:
    server = HdlcAddress(1, 17, "server")
    client = HdlcAddress(16, None, "client")
    info = b"\xe6\xe6\x00hello"
    ours = encode_frame(server.to_bytes(), client.to_bytes(), 0x10 | (2 << 1) | (3 << 5), info)
    theirs = dlms_frames.InformationFrame(
        server, client, info, send_sequence_number=2, receive_sequence_number=3
    ).to_bytes()
    assert ours == theirs
    frame = parse_frame(ours[1:-1])
    assert (frame.kind, frame.send_sequence, frame.receive_sequence, frame.information) == (
        FrameKind.I,
        2,
        3,
        info,
    )
    snrm = dlms_frames.SetNormalResponseModeFrame(server, client).to_bytes()
    assert parse_frame(snrm[1:-1]).kind is FrameKind.SNRM


def test_server_addresses() -> None:
    for address in (ServerAddress(1), ServerAddress(1, 17), ServerAddress(1, 0x3FFF), ServerAddress(300, 5)):
        assert decode_server_address(encode_server_address(address)) == address
    assert encode_client_address(16) == b"\x21"


def test_parse_frame_rejects_corruption() -> None:
    good = encode_frame(b"\x03", b"\x21", 0x10, b"\xe6\xe6\x00abc")[1:-1]
    for bad in (good[:-1] + bytes([good[-1] ^ 1]), good[:5] + b"\x00" + good[6:], good[:-3]):
        with pytest.raises(HdlcFrameError):
            parse_frame(bad)


def test_frame_buffer_resynchronises() -> None:
    snrm = encode_frame(b"\x03", b"\x21", 0x93)
    rr = encode_frame(b"\x03", b"\x21", 0x31)
    buffer = FrameBuffer()
    truncated = encode_frame(b"\x03", b"\x21", 0x10, b"x" * 40)[:20]
    corrupt = bytearray(snrm)
    corrupt[-2] ^= 0xFF
    frames = buffer.feed(b"junk" + truncated + bytes(corrupt) + snrm)
    assert [f.kind for f in frames] == [FrameKind.SNRM]
    # Byte-by-byte delivery, shared flags between frames and a 0x7E inside the information field.
    inner = encode_frame(b"\x03", b"\x21", 0x10, b"\xe6\xe6\x00\x7e\x7e")
    stream = snrm + inner[1:] + rr[1:]
    got = []
    for byte in stream:
        got += buffer.feed(bytes([byte]))
    assert [f.kind for f in got] == [FrameKind.SNRM, FrameKind.I, FrameKind.RR]
    assert got[1].information == b"\xe6\xe6\x00\x7e\x7e"


def test_parameter_negotiation() -> None:
    proposed = HdlcParameters(max_info_tx=512, max_info_rx=1024, window_tx=7, window_rx=7)
    agreed = negotiate(parse_parameters(encode_parameters(proposed)), HdlcParameters(256, 256, 1, 1))
    assert agreed == HdlcParameters(max_info_tx=256, max_info_rx=256, window_tx=1, window_rx=1)
    # The Green Book example UA information field parses.
    example = bytes.fromhex("818012050180060180070400000001080400000001")
    assert parse_parameters(example) == HdlcParameters()
    with pytest.raises(HdlcFrameError):
        parse_parameters(b"\x81\x80\x03\x05\x01")


class EchoHandler:
    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.resets: list[int | None] = []

    def handle_apdu(self, apdu: bytes) -> bytes | None:
        self.calls.append(apdu)
        return apdu * 3

    def link_reset(self, client_address: int | None) -> None:
        self.resets.append(client_address)


def _parse_all(chunks: list[bytes]) -> list[HdlcFrame]:
    buffer = FrameBuffer()
    return [f for chunk in chunks for f in buffer.feed(chunk)]


def test_link_segments_long_responses_and_repeats_lost_answers() -> None:
    handler = EchoHandler()
    link = HdlcServerLink(ServerAddress(1), handler)
    server, client = b"\x03", b"\x21"
    (ua,) = _parse_all(link.receive(encode_frame(server, client, 0x93)))
    assert ua.kind is FrameKind.UA and handler.resets == [16]
    request = encode_frame(server, client, 0x10, LLC_REQUEST + b"A" * 100)
    first = _parse_all(link.receive(request))[0]
    assert first.segmented and first.send_sequence == 0 and first.receive_sequence == 1
    body = first.information
    nr = 1
    while True:
        (frame,) = _parse_all(link.receive(encode_frame(server, client, 0x11 | (nr << 5))))
        body += frame.information
        nr = (nr + 1) & 7
        if not frame.segmented:
            break
    assert body == b"\xe6\xe7\x00" + b"A" * 300
    # Retransmitted request (same N(S)): the last frame is repeated, the handler is not called again.
    calls = len(handler.calls)
    repeat = _parse_all(link.receive(request))
    assert repeat and len(handler.calls) == calls
    assert _parse_all(link.receive(encode_frame(server, client, 0x53)))[0].kind is FrameKind.UA
    assert _parse_all(link.receive(encode_frame(server, client, 0x53)))[0].kind is FrameKind.DM
    assert handler.resets == [16, None]


def test_link_ignores_other_addresses_and_answers_dm_when_disconnected() -> None:
    link = HdlcServerLink(ServerAddress(1, 17), EchoHandler())
    assert link.receive(encode_frame(encode_server_address(ServerAddress(2, 17)), b"\x21", 0x93)) == []
    assert link.receive(encode_frame(encode_server_address(ServerAddress(1, 18)), b"\x21", 0x93)) == []
    reply = _parse_all(link.receive(encode_frame(b"\x02\x23", b"\x21", 0x10, LLC_REQUEST + b"x")))
    assert reply[0].kind is FrameKind.DM


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_link_survives_random_bytes(chunks: list[bytes]) -> None:
    model = SimpleCosemModel()
    model.add_register("1.0.1.8.0.255", DoubleLongUnsigned(1))
    session = DlmsSession(DlmsEndpoint(model=model, password=b"pw"))
    link = HdlcServerLink(ServerAddress(1), session)
    link.receive(encode_frame(b"\x03", b"\x21", 0x93))
    for chunk in chunks:
        link.receive(chunk)
    assert session.endpoint.stats.internal_errors == 0


# -- DLMS session (sans-I/O) ------------------------------------------------------------------------


def _session(**options: object) -> DlmsSession:
    model = SimpleCosemModel()
    model.add_register("1.0.1.8.0.255", DoubleLongUnsigned(42), unit=30)
    model.add_data("0.0.96.1.1.255", OctetString(bytes(range(256)) * 4))
    session = DlmsSession(DlmsEndpoint(model=model, password=b"12345678", **options))  # type: ignore[arg-type]
    session.link_reset(1)
    return session


def _ask(session: DlmsSession, apdu: bytes) -> bytes:
    response = session.handle_apdu(apdu)
    assert response is not None
    return response


def _aarq(password: bytes | None = b"12345678") -> bytes:
    connection = DlmsConnection(
        authentication=LowLevelSecurityAuthentication(secret=password), client_system_title=None
    )
    return bytes(connection.get_aarq().to_bytes())


def _associate(session: DlmsSession) -> None:
    aare = acse.ApplicationAssociationResponse.from_bytes(_ask(session, _aarq()))
    assert aare.result.value == 0


def test_session_rejects_ciphered_context_and_hls() -> None:
    session = _session()
    ciphered = bytearray(_aarq())
    ciphered[ciphered.index(bytes.fromhex("0760857405080101")) + 7] = 3
    aare = acse.ApplicationAssociationResponse.from_bytes(_ask(session, bytes(ciphered)))
    assert (aare.result.value, aare.result_source_diagnostics.value) == (1, 2)
    hls = bytearray(_aarq())
    hls[hls.index(bytes.fromhex("0760857405080201")) + 7] = 5  # HLS-GMAC
    aare = acse.ApplicationAssociationResponse.from_bytes(_ask(session, bytes(hls)))
    assert (aare.result.value, aare.result_source_diagnostics.value) == (1, 11)
    assert _ask(session, b"\x60\x03\xa1\x01") is not None  # unparseable AARQ still answered
    assert not session.associated


def test_session_rejects_low_dlms_version_with_confirmed_service_error() -> None:
    session = _session()
    raw = bytearray(_aarq())
    raw[raw.index(b"\x5f\x1f\x04") - 1] = 5
    aare = acse.ApplicationAssociationResponse.from_bytes(_ask(session, bytes(raw)))
    assert aare.result.value == 1
    assert isinstance(aare.user_information.content, xdlms.ConfirmedServiceError)
    assert aare.user_information.content.error.value == 1  # dlms-version-too-low


def test_session_services_need_an_association() -> None:
    session = _session()
    get = bytes.fromhex("c001c100030100010800ff0200")
    assert _ask(session, get) == b"\xd8\x01\x01"
    _associate(session)
    assert _ask(session, get) == bytes.fromhex("c401c100060000002a")
    assert _ask(session, b"\xcb\x01\x02")[:1] == b"\xd8"  # unknown service
    assert _ask(session, b"\xc1\x04\xc1\x00")[:3] == b"\xd8\x01\x02"  # SET with list: unsupported
    assert _ask(session, b"\xc0\x01\xc1\x00")[:1] == b"\xd8"  # truncated GET


def test_session_get_with_list_and_block_transfer() -> None:
    session = _session(max_pdu_size=256)
    _associate(session)
    raw = bytes.fromhex("c003c10200030100010800ff020000030100020800ff0200")
    response = xdlms.GetResponseWithList.from_bytes(_ask(session, raw))
    assert response.result[0] == 42
    assert response.result[1].value == 4  # object-undefined for the second attribute only
    # Block transfer: 1 KiB octet-string with a 256-byte PDU limit.
    apdu = _ask(session, bytes.fromhex("c001c1000100006001 01ff0200".replace(" ", "")))
    data = b""
    while True:
        block = xdlms.GetResponseFactory.from_bytes(apdu)
        data += block.data
        if isinstance(block, xdlms.GetResponseLastBlock):
            break
        assert isinstance(block, xdlms.GetResponseWithBlock) and len(apdu) <= 256
        apdu = _ask(session, b"\xc0\x02\xc1" + block.block_number.to_bytes(4, "big"))
    assert cosem.decode(data) == OctetString(bytes(range(256)) * 4)
    # A GET-next with nothing in progress is answered with the right error.
    error = xdlms.GetResponseFactory.from_bytes(_ask(session, b"\xc0\x02\xc1\x00\x00\x00\x09"))
    assert error.error.value == 16


def test_negotiated_conformance_is_the_intersection() -> None:
    session = _session()
    _associate(session)
    assert session.conformance.get and session.conformance.block_transfer_with_get_or_read
    assert not session.conformance.general_protection
    assert isinstance(session.conformance, Conformance)


def test_session_refuses_requests_above_its_pdu_size() -> None:
    session = _session(max_pdu_size=64)
    _associate(session)
    long_set = bytes.fromhex("c101c100010000600101ff0200") + OctetString(b"x" * 100).to_bytes()
    assert _ask(session, long_set) == b"\xd8\x01\x04"  # service-not-allowed, pdu-too-long
