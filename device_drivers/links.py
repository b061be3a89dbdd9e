"""Links: every byte stream to a device opens from a pyserial URL.

``/dev/ttyUSB0`` (opened exclusively, so two runs can never share a real port), ``socket://host:port``,
``rfc2217://host:port`` (ser2net) and ``loop://`` all go through :func:`serial.serial_for_url`, so a
simulator behind ``socket://`` exercises exactly the code path hardware does. ``virtual://rig/dev/iface``
names an interface of the virtual lab and is resolved to its ``socket://`` endpoint before opening.
Every byte in either direction goes to the test's transcript.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import serial
from serial.urlhandler.protocol_socket import Serial as _SocketSerial

from device_drivers.errors import LinkDown, LinkTimeout
from device_drivers.transcript import Transcript


def resolve_url(url: str, endpoints: Mapping[str, str], device: str) -> str:
    """Map a ``virtual://`` URL to the endpoint the running virtual lab serves it on."""
    if not url.startswith("virtual://"):
        return url
    try:
        return endpoints[url]
    except KeyError:
        raise LinkDown(device, f"{url} is not served (is the virtual lab running? `dmct lab up`)") from None


def read_runtime(path: Path) -> dict[str, Any]:
    """The whole endpoints file of a running virtual lab (endpoints, control, route keys); ``{}`` if none."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def read_endpoints(path: Path) -> dict[str, str]:
    """The ``virtual://`` → ``socket://`` map of a running virtual lab; empty when none is up."""
    endpoints = read_runtime(path).get("endpoints", {})
    return {str(k): str(v) for k, v in endpoints.items()}


def probe(url: str, *, device: str, timeout: float = 2.0, endpoints: Mapping[str, str] | None = None) -> None:
    """Check that a link can be opened (a rig health check); raise :class:`LinkDown` if not.

    ``socket://`` and ``tcp://`` (Modbus TCP) are probed with a plain TCP connect: pyserial's handler
    sleeps 0.3 s on close.
    """
    resolved = resolve_url(url, endpoints or {}, device)
    if resolved.startswith(("socket://", "tcp://")):
        host, _, port = resolved.split("://", 1)[1].split("?")[0].rstrip("/").rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except OSError as exc:
            raise LinkDown(device, f"cannot connect to {resolved}: {exc}") from None
        return
    Link(url, device=device, timeout=timeout, endpoints=endpoints).open().close()


def rfc2217_options(url: str) -> str:
    """Add ``ign_set_control`` to an ``rfc2217://`` URL that does not say otherwise.

    ser2net serving a pty cannot set modem control lines and never confirms them, and pyserial's
    RFC 2217 client then times out on open; meters' optical heads do not use those lines anyway.
    """
    if not url.startswith("rfc2217://") or "ign_set_control" in url:
        return url
    return url + ("&" if "?" in url else "?") + "ign_set_control"


def close_port(port: Any) -> None:
    """Close a pyserial port; a ``socket://`` port without pyserial's 0.3 s sleep.

    pyserial 3.5's ``socket://`` ``close()`` shuts the socket down, closes it, then sleeps 0.3 s "in case
    of quick reconnects, give the server some time": the socket is already closed when it sleeps, so the
    pause only delays the caller. A TCP server (the virtual lab, a terminal server) accepts the next
    connection without it, and a run opens and closes hundreds of links. Here the socket is shut down
    and closed the same way, and the port marked closed, without the pause. Every other port type
    (local serial, ``rfc2217://``, whose close waits for its reader thread, ``loop://``) closes as
    pyserial does. Errors from a socket already gone are ignored, as pyserial ignores them.
    """
    sock = getattr(port, "_socket", None) if isinstance(port, _SocketSerial) else None
    if sock is None:
        port.close()
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
    port._socket = None
    port.is_open = False


class Link:
    """A byte stream to one device interface, with timeouts and a transcript."""

    def __init__(
        self,
        url: str,
        *,
        device: str,
        timeout: float = 2.0,
        transcript: Transcript | None = None,
        endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self.device = device
        self.url = url
        self.resolved_url = rfc2217_options(resolve_url(url, endpoints or {}, device))
        self.timeout = timeout
        self.transcript = transcript
        self._port: Any = None

    # -- life cycle ------------------------------------------------------------------------------
    def open(self) -> Link:
        try:
            port = serial.serial_for_url(self.resolved_url, timeout=self.timeout, do_not_open=True)
            if self.resolved_url.startswith("/dev/") or self.resolved_url.upper().startswith("COM"):
                port.exclusive = True
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkDown(self.device, f"cannot open {self.resolved_url}: {exc}") from None
        self._port = port
        self._note(
            f"opened {self.resolved_url}" + (f" ({self.url})" if self.url != self.resolved_url else "")
        )
        return self

    def close(self) -> None:
        if self._port is not None:
            try:
                close_port(self._port)
            finally:
                self._port = None
                self._note("closed")

    def __enter__(self) -> Link:
        return self.open() if self._port is None else self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    # -- bytes -----------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        port = self._require()
        if self.transcript:
            self.transcript.record(self.device, "tx", data)
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            self._lost()
            raise LinkDown(self.device, f"write failed: {exc}") from None

    def read_until(self, terminator: bytes, max_size: int = 65536) -> bytes:
        """Read up to and including ``terminator``; a timeout before it arrives is :class:`LinkTimeout`."""
        port = self._require()
        try:
            data: bytes = port.read_until(terminator, max_size)
        except (serial.SerialException, OSError) as exc:
            self._lost()
            raise LinkDown(self.device, f"read failed: {exc}") from None
        if data and self.transcript:
            self.transcript.record(self.device, "rx", data)
        if not data.endswith(terminator):
            what = "no answer" if not data else f"incomplete answer ({len(data)} bytes)"
            raise LinkTimeout(self.device, f"{what} within {self.timeout:g} s")
        return data

    def read_exact(self, size: int) -> bytes:
        port = self._require()
        try:
            data: bytes = port.read(size)
        except (serial.SerialException, OSError) as exc:
            self._lost()
            raise LinkDown(self.device, f"read failed: {exc}") from None
        if data and self.transcript:
            self.transcript.record(self.device, "rx", data)
        if len(data) < size:
            raise LinkTimeout(self.device, f"got {len(data)} of {size} bytes within {self.timeout:g} s")
        return data

    def discard_input(self) -> None:
        """Drop stale bytes (e.g. a late reply to a timed-out request) before a new exchange."""
        port = self._require()
        try:
            port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self._lost()
            raise LinkDown(self.device, f"reset failed: {exc}") from None

    def ensure_open(self) -> Link:
        """Open the link if it is closed (first use, or after it was lost)."""
        return self if self._port is not None else self.open()

    def _require(self) -> Any:
        if self._port is None:
            raise LinkDown(self.device, "link is not open")
        return self._port

    def _lost(self) -> None:
        """The far end went away: forget the port so the next exchange reopens it."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                close_port(port)
        self._note("link lost; will reopen on next use")

    def _note(self, text: str) -> None:
        if self.transcript:
            self.transcript.note(self.device, text)
