"""Service route protocol, harness side: frame codec, signing, S1SP signature checks, and the client.

Implements ``docs/protocols/service-route.md`` on its own (it shares no code with the virtual route in
``labs/virtual/s1sp``: a client built on the simulator's codec could not catch the simulator's bugs, nor
the other way round). Pure functions for the codec and signatures; :class:`ServiceRouteClient` does
the I/O over a :class:`~device_drivers.links.Link`, so any pyserial URL works (``socket://`` for the
virtual lab, a serial bridge for a real one).

Errors, by who is to blame:

* transport trouble — :class:`~device_drivers.errors.LinkDown`, :class:`~device_drivers.errors.LinkTimeout`,
  :class:`~device_drivers.errors.FrameError` (bad magic, CRC, oversize, unparseable): the test is blocked;
* the route answered with an E-code — :class:`RouteError` (a :class:`DeviceError`), ``code`` says which;
* an answer whose S1SP signature does not verify — :class:`ResponseSignatureError` (a DeviceError: an
  unsigned or tampered response must never be taken as evidence, and it is the system's fault, not the
  lab's, when the S1SP's key or response content is wrong).
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device_drivers.errors import DeviceError, FrameError, LinkTimeout
from device_drivers.links import Link

MAGIC = b"S1"
VERSION = 1
_HEADER = struct.Struct(">2sBBI")
HEADER_SIZE = 8
CRC_SIZE = 4
DEFAULT_MAX_PAYLOAD = 1 << 20
FINAL_CODES_OK = frozenset({"I0"})


class RouteError(DeviceError):
    """The route answered a request with an E-code (see the protocol's code table)."""

    def __init__(self, device: str, code: str, text: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(device, f"{code}: {text}")
        self.code = code
        self.text = text
        self.response = response or {}


class ResponseSignatureError(DeviceError):
    """A message from the route whose S1SP signature is missing or does not verify."""


# -- codec (pure) -------------------------------------------------------------------------------------------
def canonical(obj: Any) -> bytes:
    """Canonical JSON: keys sorted, no whitespace, ASCII escapes, finite numbers — what signatures cover."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def encode_frame(message: dict[str, Any], *, version: int = VERSION) -> bytes:
    payload = canonical(message)
    head = _HEADER.pack(MAGIC, version, 0, len(payload))
    return head + payload + struct.pack(">I", zlib.crc32(head + payload))


def parse_header(head: bytes, *, device: str, max_payload: int) -> int:
    """Payload length of a frame header; anything wrong is a :class:`FrameError`."""
    if len(head) != HEADER_SIZE:
        raise FrameError(device, f"truncated header ({len(head)} bytes)")
    magic, version, flags, length = _HEADER.unpack(head)
    if magic != MAGIC:
        raise FrameError(device, f"bad magic {magic!r}")
    if version != VERSION:
        raise FrameError(device, f"unsupported protocol version {version}")
    if flags != 0:
        raise FrameError(device, f"reserved flags {flags:#04x}")
    if length > max_payload:
        raise FrameError(device, f"frame of {length} bytes exceeds the limit {max_payload}")
    return int(length)


def decode_body(head: bytes, body: bytes, *, device: str) -> dict[str, Any]:
    """Check the CRC of ``head + payload`` (``body`` is payload + CRC) and parse the JSON object."""
    payload, crc = body[:-CRC_SIZE], body[-CRC_SIZE:]
    if struct.unpack(">I", crc)[0] != zlib.crc32(head + payload):
        raise FrameError(device, "CRC-32 mismatch")
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(device, f"payload is not JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise FrameError(device, "payload is not a message object")
    return obj


def decode_frame(
    frame: bytes, *, device: str = "route", max_payload: int = DEFAULT_MAX_PAYLOAD
) -> dict[str, Any]:
    """Decode one complete frame (tests and tools; the client reads incrementally)."""
    length = parse_header(frame[:HEADER_SIZE], device=device, max_payload=max_payload)
    if len(frame) != HEADER_SIZE + length + CRC_SIZE:
        raise FrameError(
            device, f"frame is {len(frame)} bytes, header says {HEADER_SIZE + length + CRC_SIZE}"
        )
    return decode_body(frame[:HEADER_SIZE], frame[HEADER_SIZE:], device=device)


def sign_bytes(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def verify_message(message: dict[str, Any], public_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``message['sig']`` is a valid signature over the canonical message without ``sig``."""
    sig = message.get("sig")
    if not isinstance(sig, str):
        return False
    body = {k: v for k, v in message.items() if k != "sig"}
    try:
        public_key.verify(base64.b64decode(sig, validate=True), canonical(body), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- credentials --------------------------------------------------------------------------------------------
@dataclass
class UserCredentials:
    """A DCC User's signing key, its User ID and roles (from its certificate), and its counter."""

    name: str
    user_id: str
    roles: tuple[str, ...]
    key: ec.EllipticCurvePrivateKey
    last_counter: int = 0

    @classmethod
    def from_files(cls, name: str, key_file: Path, cert_file: Path) -> UserCredentials:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: not an EC private key")
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        cn = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        roles = tuple(
            str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        )
        return cls(name, cn[0], roles, key)

    def next_counter(self) -> int:
        """Strictly increasing, and still increasing after a restart: microseconds since the epoch."""
        self.last_counter = max(self.last_counter + 1, time.time_ns() // 1000)
        return self.last_counter

    def sign(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message`` with ``user``, a fresh ``counter`` and ``sig`` over the canonical rest."""
        body = {k: v for k, v in message.items() if k != "sig"} | {
            "user": self.user_id,
            "counter": self.next_counter(),
        }
        return body | {"sig": sign_bytes(self.key, canonical(body))}


@dataclass(frozen=True)
class RouteKeys:
    """What the harness needs from a route's ``keys.json``: Users and the S1SP certificate."""

    users: dict[str, UserCredentials]
    s1sp_public_key: ec.EllipticCurvePublicKey

    @classmethod
    def load(cls, keys_dir: Path) -> RouteKeys:
        data = json.loads((keys_dir / "keys.json").read_text(encoding="utf-8"))
        users = {
            name: UserCredentials.from_files(name, keys_dir / entry["key"], keys_dir / entry["cert"])
            for name, entry in data["users"].items()
        }
        cert = x509.load_pem_x509_certificate((keys_dir / data["s1sp_cert"]).read_bytes())
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("the S1SP certificate does not hold an EC key")
        return cls(users, key)

    def user(self, name_or_id: str) -> UserCredentials:
        for user in self.users.values():
            if name_or_id in (user.name, user.user_id):
                return user
        raise KeyError(f"no User {name_or_id!r} (known: {', '.join(self.users)})")


# -- client -------------------------------------------------------------------------------------------------
class ServiceRouteClient:
    """Requests and alerts over one link. Messages that are not the one awaited are kept: responses
    by request id, alerts in arrival order, so alerts interleaved with responses are never lost."""

    def __init__(
        self,
        link: Link,
        keys: RouteKeys,
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        verify: bool = True,
    ) -> None:
        self.link = link
        self.keys = keys
        self.max_payload = max_payload
        self.verify = verify
        self.responses: dict[str | None, deque[dict[str, Any]]] = {}
        self.alerts: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.welcome: dict[str, Any] | None = None
        self._ids = 0

    @property
    def device(self) -> str:
        return self.link.device

    def new_id(self) -> str:
        self._ids += 1
        return f"r{time.time_ns() // 1000:x}-{self._ids}"

    def connect(self, timeout: float = 5.0) -> dict[str, Any]:
        """Open the link and exchange hello / welcome (checks the route's signature and version)."""
        self.link.ensure_open()
        rid = self.new_id()
        self.send({"type": "hello", "id": rid})
        welcome = self.wait_response(rid, timeout)
        if welcome.get("type") != "welcome":
            raise RouteError(
                self.device, str(welcome.get("code", "E1")), str(welcome.get("text", "no welcome")), welcome
            )
        self.welcome = welcome
        return welcome

    def send(self, message: dict[str, Any]) -> None:
        frame = encode_frame(message)
        if len(frame) - HEADER_SIZE - CRC_SIZE > self.max_payload:
            raise ValueError(f"message of {len(frame)} bytes exceeds the route's limit {self.max_payload}")
        self.link.write(frame)

    def request_message(
        self,
        srv: str,
        device: str,
        params: dict[str, Any] | None,
        *,
        user: str,
        role: str | None = None,
        future_date: str | None = None,
        sign: bool = True,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """The request as sent: signed by the User (with a fresh counter) unless ``sign`` is False."""
        creds = self.keys.user(user)
        msg: dict[str, Any] = {
            "type": "request",
            "id": request_id or self.new_id(),
            "srv": srv,
            "device": device,
            "params": params or {},
            "user": creds.user_id,
        }
        if role is not None:
            msg["role"] = role
        if future_date is not None:
            msg["future_date"] = future_date
        return creds.sign(msg) if sign else msg

    def migrate_message(self, rig: str, *, user: str, role: str | None = None) -> dict[str, Any]:
        creds = self.keys.user(user)
        msg: dict[str, Any] = {"type": "migrate", "id": self.new_id(), "rig": rig, "user": creds.user_id}
        if role is not None:
            msg["role"] = role
        return creds.sign(msg)

    # -- receiving -----------------------------------------------------------------------------------------
    def read_message(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None if none starts before ``deadline`` (monotonic seconds)."""
        link = self.link.ensure_open()
        first = b""
        while not first:
            try:
                first = link.read_exact(1)
            except LinkTimeout:
                if time.monotonic() >= deadline:
                    return None
        head = first + link.read_exact(HEADER_SIZE - 1)
        try:
            length = parse_header(head, device=self.device, max_payload=self.max_payload)
        except FrameError:
            link.discard_input()  # the stream cannot be trusted after a bad header
            raise
        message = decode_body(head, link.read_exact(length + CRC_SIZE), device=self.device)
        if self.verify and not verify_message(message, self.keys.s1sp_public_key):
            raise ResponseSignatureError(
                self.device,
                f"S1SP signature does not verify on {message.get('type')} "
                f"{message.get('id') or message.get('alert_id')}",
            )
        return message

    def pump(self, deadline: float) -> bool:
        """Read one message into the inbox; False when nothing arrived before ``deadline``."""
        message = self.read_message(deadline)
        if message is None:
            return False
        if message["type"] == "alert":
            self.alerts.append(message)
        else:
            self.responses.setdefault(message.get("id"), deque()).append(message)
        return True

    def wait_response(self, request_id: str, timeout: float) -> dict[str, Any]:
        """The next response for ``request_id`` (a frame-level error without id is raised too)."""
        deadline = time.monotonic() + timeout
        while True:
            queue = self.responses.get(request_id)
            if queue:
                return queue.popleft()
            orphan = self.responses.get(None)
            if orphan:
                self._raise_orphan(orphan.popleft())
            if not self.pump(deadline):
                raise LinkTimeout(self.device, f"no response to {request_id} within {timeout:g} s")

    def _raise_orphan(self, message: dict[str, Any]) -> None:
        code, text = str(message.get("code")), str(message.get("text", ""))
        if code == "E1":  # the route could not read our frame: damaged in transit
            raise FrameError(self.device, f"the route rejected a frame: {text}")
        raise RouteError(self.device, code, text, message)

    def wait_final(self, request_id: str, timeout: float) -> list[dict[str, Any]]:
        """Every response for ``request_id`` up to the final one (I99 first when the answer follows)."""
        deadline = time.monotonic() + timeout
        out: list[dict[str, Any]] = []
        while True:
            message = self.wait_response(request_id, max(0.0, deadline - time.monotonic()))
            out.append(message)
            if message.get("final", True):
                return out

    def wait_alert(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The first alert (already received or arriving within ``timeout``) matching ``predicate``;
        it is removed from the inbox."""
        deadline = time.monotonic() + timeout
        while True:
            for alert in list(self.alerts):
                if predicate(alert):
                    self.alerts.remove(alert)
                    return alert
            if not self.pump(deadline):
                raise LinkTimeout(self.device, f"no matching alert within {timeout:g} s")

    def drain(self, seconds: float = 0.0) -> None:
        """Read whatever arrives for ``seconds`` into the inbox."""
        deadline = time.monotonic() + seconds
        while self.pump(deadline):
            pass


def check(device: str, responses: list[dict[str, Any]]) -> dict[str, Any]:
    """The final response, or :class:`RouteError` for an E-code."""
    final = responses[-1]
    code = str(final.get("code"))
    if code.startswith("E"):
        raise RouteError(device, code, str(final.get("text", "")), final)
    return final
