"""The wire protocol: codec round trips, bad frames and bad requests get typed errors, the route survives
them and never acts on a rejected request; S1SP signatures are verified (tampering is detected)."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.errors import FrameError
from device_drivers.protocols import service_route as C
from device_drivers.route import VirtualServiceRoute
from labs.virtual.faults import FaultConfig, FaultInjector, FaultLog
from labs.virtual.s1sp import wire as W

from .conftest import RouteLab

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False, width=32),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_client_and_route_codecs_agree(body: dict[str, Any]) -> None:
    msg = body | {"type": "request"}
    frame = C.encode_frame(msg)
    assert frame == W.encode_frame(msg)
    head, rest = frame[:8], frame[8:]
    header = W.parse_header(head)
    W.check_frame(head, rest[: header.length], rest[header.length :])
    assert W.parse_message(rest[: header.length]) == C.decode_frame(frame) == json.loads(json.dumps(msg))
    assert C.canonical(msg) == W.canonical(msg)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(0, 10_000))
def test_any_flipped_byte_is_a_frame_error(junk: bytes, where: int) -> None:
    frame = bytearray(C.encode_frame({"type": "response", "id": "x", "junk": junk.hex()}))
    frame[where % len(frame)] ^= 0xFF
    with pytest.raises(FrameError):
        C.decode_frame(bytes(frame))


class Raw:
    """A plain socket to the route: sends arbitrary bytes, reads frames with the route-side codec."""

    def __init__(self, lab: RouteLab) -> None:
        self.sock = socket.create_connection(("127.0.0.1", lab.port), timeout=5)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> dict[str, Any]:
        head = self._exact(8)
        length = W.parse_header(head).length
        rest = self._exact(length + 4)
        W.check_frame(head, rest[:length], rest[length:])
        return W.parse_message(rest[:length])

    def response(self) -> dict[str, Any]:
        while True:
            msg = self.read()
            if msg["type"] != "alert":
                return msg

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out

    def closed(self) -> bool:
        try:
            while True:
                if not self.sock.recv(4096):
                    return True
        except TimeoutError:
            return False


def frame(payload: bytes, *, version: int = 1, flags: int = 0, crc_delta: int = 0) -> bytes:
    head = struct.pack(">2sBBI", b"S1", version, flags, len(payload))
    return head + payload + struct.pack(">I", (zlib.crc32(head + payload) + crc_delta) & 0xFFFFFFFF)


def ok_request(lab: RouteLab, route: VirtualServiceRoute) -> None:
    assert route.submit("4.1.1", lab.inst().esme.device_id, user="supplier").code == "I0"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(b'{"type":"hello","id":"h"}', crc_delta=1), "E1"),
        (frame(b"not json"), "E1"),
        (frame(b"[1,2,3]"), "E1"),
        (frame(b'{"id":"x"}'), "E1"),
        (frame(b'{"type":"shout","id":"x"}'), "E1"),
        (frame(b'{"type":"hello","id":"h"}', version=2), "E2"),
        (frame(b'{"type":"hello","id":"h"}', flags=1), "E1"),
        (frame(b"x" * (W.MAX_PAYLOAD + 1)), "E3"),
    ],
    ids=["crc", "json", "not-object", "no-type", "unknown-type", "version", "flags", "oversize"],
)
def test_bad_frames_get_typed_errors_and_the_connection_survives(
    lab: RouteLab, route: VirtualServiceRoute, data: bytes, code: str
) -> None:
    raw = Raw(lab)
    raw.send(data)
    assert raw.response()["code"] == code
    raw.send(W.encode_frame({"type": "hello", "id": "after"}))
    assert raw.response()["type"] == "welcome"
    ok_request(lab, route)


def test_bad_magic_and_hard_limit_close_only_that_connection(
    lab: RouteLab, route: VirtualServiceRoute
) -> None:
    for data in (b"XX" + bytes(30), struct.pack(">2sBBI", b"S1", 1, 0, W.HARD_LIMIT + 1)):
        raw = Raw(lab)
        raw.send(data)
        answer = raw.response()
        assert answer["code"] == ("E1" if data.startswith(b"XX") else "E3")
        assert raw.closed()
    ok_request(lab, route)


def test_oversize_frame_is_skipped_not_buffered(lab: RouteLab) -> None:
    """An oversize frame is discarded as it streams in; the next frame on the stream is still read."""
    raw = Raw(lab)
    big = frame(b"y" * (W.MAX_PAYLOAD * 3))
    raw.send(big + W.encode_frame({"type": "hello", "id": "next"}))
    assert raw.response()["code"] == "E3"
    assert raw.response()["id"] == "next"


def _request(lab: RouteLab, route: VirtualServiceRoute, **fields: Any) -> dict[str, Any]:
    msg = route.client.request_message("7.2", lab.inst().esme.device_id, {}, user="supplier")
    body = {k: v for k, v in msg.items() if k not in ("sig", "counter")} | fields
    return route.client.keys.user("supplier").sign(body)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"srv": "99.9"}, "E4"),
        ({"srv": 7}, "E4"),
        ({"srv": "6.28"}, "E13"),
        ({"srv": "1.1.2"}, "E13"),
        ({"device": "00-00-00-00-00-00-00-00"}, "E5"),
        ({"params": {"unexpected": 1}}, "E6"),
        ({"params": "nope"}, "E6"),
        ({"future_date": "2030-01-01T00:00:00+00:00"}, "E6"),
        ({"id": ""}, "E1"),
    ],
    ids=[
        "unknown-srv",
        "srv-not-string",
        "dual-band",
        "unassessed",
        "unknown-device",
        "extra-param",
        "params-not-object",
        "not-future-datable",
        "empty-id",
    ],
)
def test_bad_requests_get_typed_errors_and_nothing_happens(
    lab: RouteLab, route: VirtualServiceRoute, fields: dict[str, Any], code: str
) -> None:
    raw = Raw(lab)
    raw.send(W.encode_frame(_request(lab, route, **fields)))
    assert raw.response()["code"] == code
    assert lab.call(lambda: lab.inst().esme.supply_state().value) == "enabled"  # 7.2 never acted
    ok_request(lab, route)


@pytest.mark.parametrize(
    ("srv", "params"),
    [
        ("1.1.1", {"rates": 0, "prices": []}),
        ("2.2", {"utrn": "123"}),
        ("2.3", {"debts": [{"name": "nope", "amount": 1, "rate": 1}]}),
        ("6.22", {"alerts": [{"code": "0x0001", "send": True}]}),
        ("5.1", {"srv": "7.2", "start": "2030-01-01T00:00:00+00:00", "period_s": 86400}),
        ("6.25", {"state": "open"}),
    ],
)
def test_wrong_parameters_are_e6(
    lab: RouteLab, route: VirtualServiceRoute, srv: str, params: dict[str, Any]
) -> None:
    before = lab.call(lambda: lab.inst().esme.event_log())
    result = route.submit(srv, lab.inst().esme.device_id, params, user="supplier", check=False)
    assert result.code == "E6", result
    assert lab.call(lambda: lab.inst().esme.event_log()) == before


def test_route_answers_are_signed_and_verified(lab: RouteLab, route: VirtualServiceRoute) -> None:
    raw = Raw(lab)
    raw.send(W.encode_frame({"type": "hello", "id": "h"}))
    welcome = raw.response()
    assert C.verify_message(welcome, route.client.keys.s1sp_public_key)
    forged = dict(welcome, s1sp="S1SP-EVIL")
    assert not C.verify_message(forged, route.client.keys.s1sp_public_key)


class TamperingProxy:
    """A man in the middle that alters one byte of the JSON of each route answer and recomputes the CRC,
    so only the S1SP signature can catch it."""

    def __init__(self, lab: RouteLab, field: str) -> None:
        self.lab = lab
        self.field = field

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._accept, "127.0.0.1", 0)

        self.server = lab.run(start())
        self.url = f"socket://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.lab.port)

        async def pump_up() -> None:
            while data := await reader.read(65536):
                up_w.write(data)

        async def pump_down() -> None:
            while True:
                head = await up_r.readexactly(8)
                length = W.parse_header(head).length
                rest = await up_r.readexactly(length + 4)
                msg = json.loads(rest[:length])
                if msg.get("type") == "response" and self.field in msg:
                    msg[self.field] = msg[self.field] + "X" if isinstance(msg[self.field], str) else "X"
                writer.write(W.encode_frame(msg))

        await asyncio.gather(pump_up(), pump_down(), return_exceptions=True)
        writer.close()


def test_tampered_response_is_detected(lab: RouteLab) -> None:
    proxy = TamperingProxy(lab, "code")
    route = VirtualServiceRoute(proxy.url, lab.keys_dir, timeout=5, poll_s=0.02)
    lab.routes.append(route)
    route.client.link.ensure_open()
    with pytest.raises(C.ResponseSignatureError):
        route.submit("4.1.1", lab.inst().esme.device_id, user="supplier")


def test_corrupted_bytes_in_transit_are_frame_errors(make_lab: Any) -> None:
    faults = FaultInjector("route", FaultLog(), FaultConfig(corrupt=1.0))
    lab = make_lab(faults=faults)
    route = VirtualServiceRoute(lab.url, lab.keys_dir, timeout=5, poll_s=0.02)
    lab.routes.append(route)
    with pytest.raises(FrameError):
        route.open()
    assert [e["kind"] for e in faults.log.entries] == ["corrupt"] * len(faults.log.entries)


def test_the_route_keeps_serving_after_a_burst_of_garbage(lab: RouteLab, route: VirtualServiceRoute) -> None:
    for n in range(20):
        raw = Raw(lab)
        raw.send(bytes((n * 37 + i) % 256 for i in range(200)))
        raw.sock.close()
    ok_request(lab, route)
    assert lab.service.handled >= 1
