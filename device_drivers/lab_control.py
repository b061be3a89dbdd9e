"""Client of a virtual lab's control API (JSON Lines over TCP), for the harness-side lab facilities.

The control API (``docs/virtual-lab.md``, section 5) injects faults into a running virtual lab. Most
faults are the lab engineer's business, but a few are part of what a pack tests — the route's ``tamper``
fault is the only way to deliver a badly authenticated Instruction to a device — so the harness reaches
the API through this small client. It is written from the document, not imported from
``labs.virtual.control`` (drivers never import the simulator).

The API's address is published in the lab's endpoints map under :data:`CONTROL_ENDPOINT` (value
``tcp://host:port``), so a driver handed only that map can find it. One connection per call: calls are
rare, and a lab restart between two of them is then harmless.

Errors: the API cannot be reached or answers nothing → ``LinkDown`` / ``LinkTimeout``; an answer that is
not one JSON object line → ``FrameError`` (all infrastructure faults: the test is blocked); the lab
refusing the request (``{"ok": false}``) → :class:`LabControlError` (the request was wrong, e.g. an
unknown device: a usage error, neither a device failure nor a lab fault).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

from device_drivers.errors import FrameError, LinkDown, LinkTimeout

__all__ = ["CONTROL_ENDPOINT", "LabControlClient", "LabControlError", "control_address"]

#: The endpoints-map key under which a virtual lab publishes its control API.
CONTROL_ENDPOINT = "virtual://lab/control/jsonl"
MAX_ANSWER = 1 << 20


class LabControlError(Exception):
    """The lab refused a control request (its ``error`` text is the message)."""


def control_address(endpoints: Mapping[str, str] | None) -> str | None:
    """``host:port`` of the control API from a lab's endpoints map, or None if it publishes none."""
    value = (endpoints or {}).get(CONTROL_ENDPOINT)
    if not value:
        return None
    return value.split("://", 1)[-1].rstrip("/")


class LabControlClient:
    """Requests to the control API at ``address`` (``host:port``)."""

    def __init__(self, address: str, *, timeout: float = 5.0, device: str = "lab-control") -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"control address {address!r} is not host:port")
        self.host, self.port = host, int(port)
        self.timeout = timeout
        self.device = device

    def call(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request; the answer when it is ``ok``, else :class:`LabControlError`."""
        line = json.dumps(dict(request)).encode() + b"\n"
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(line)
                answer = _read_line(sock)
        except TimeoutError:
            raise LinkTimeout(
                self.device, f"no answer from the lab control API within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise LinkDown(
                self.device, f"cannot reach the lab control API at {self.host}:{self.port}: {exc}"
            ) from None
        try:
            decoded = json.loads(answer)
        except ValueError:
            raise FrameError(self.device, f"the lab control API answered {answer[:80]!r}") from None
        if not isinstance(decoded, dict):
            raise FrameError(self.device, f"the lab control API answered {decoded!r}")
        if not decoded.get("ok"):
            raise LabControlError(str(decoded.get("error", "refused")))
        return decoded


def _read_line(sock: socket.socket) -> bytes:
    buffer = bytearray()
    while not buffer.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the lab control API closed the connection")
        buffer += chunk
        if len(buffer) > MAX_ANSWER:
            raise ConnectionError("the lab control API's answer is too long")
    return bytes(buffer)
