"""IEC 62056-21 mode C readout, the meter (server) side, on an asyncio stream.

Written independently of the harness's readout client on purpose: a simulator sharing the
driver's codec could not catch the driver's bugs. Replies go out through the device's fault injector
(latency, drops, corruption); a slow or vanished client never blocks the other devices of the lab
process.

What the standard (IEC 62056-21:2002, 6.3 mode C, 6.3.14 timings) makes a meter do, and this one does:

* **Sign-on** ``/? device-address ! CR LF``: answered only if the address is empty or this meter's
  (leading zeros ignored); any other address gets no answer (several meters may share one bus).
* **Reaction time** tr, 200 ms ≤ tr ≤ 1500 ms, before the identification and before the data message
  (:class:`ReadoutTiming`, per device from the lab file; a test may set less to model a bad meter).
* **Identification** ``/XXX Z ident CR LF`` offering baud rate Z (``5`` = 9600 Bd).
* **Acknowledgement/option select** ``ACK V Z Y CR LF``, only right after the identification:
  V = ``0`` (normal) — V = ``2`` asks for the HDLC mode E this meter did not offer, so it is not a
  readout: no answer; Z no higher than the rate offered, else no answer; Y = ``0`` data readout (``6``-``9``
  manufacturer-specific, treated alike), ``1`` programming mode, ``2`` binary mode (not offered: no
  answer). An ACK without a sign-on before it gets nothing.
* **Programming mode**: the meter sends the password request ``SOH P0 STX (serial) ETX BCC``; the lab's
  meters give nobody programming access, so a password (``P1``/``P2``) and every command get ``NAK``;
  a message with a bad BCC gets ``NAK`` too. **Break** ``SOH B0 ETX BCC`` ends the session silently,
  in any state.
* Anything else (noise on the optical port) is ignored, and the meter returns to waiting for a sign-on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from labs.virtual.faults import FaultInjector

Datasets = list[tuple[str, str, str | None]]

SOH, STX, ETX, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x06", b"\x15"
IDLE_TIMEOUT_S = 300.0
OFFERED_BAUD = "5"  # 9600 Bd, the highest rate the virtual meters offer
MAX_MESSAGE = 1024  # a request longer than any valid one is noise


def bcc(block: bytes) -> int:
    check = 0
    for byte in block:
        check ^= byte
    return check


def data_message(datasets: Datasets) -> bytes:
    lines = "".join(f"{a}({v}*{u})\r\n" if u else f"{a}({v})\r\n" for a, v, u in datasets)
    block = (lines + "!\r\n").encode("ascii") + ETX
    return STX + block + bytes([bcc(block)])


def _command(command: bytes, data: bytes | None) -> bytes:
    """``SOH C D [STX data] ETX BCC`` (BCC over everything after SOH)."""
    body = command + (STX + data if data is not None else b"") + ETX
    return SOH + body + bytes([bcc(body)])


@dataclass(frozen=True, slots=True)
class ReadoutTiming:
    """Reaction times in seconds (IEC 62056-21 6.3.14: tr is 200 ms to 1500 ms)."""

    identification_s: float = 0.2
    data_s: float = 0.2


@dataclass(slots=True)
class ModeCMeter:
    """The mode C state machine, sans-I/O: :meth:`feed` takes bytes, returns ``(delay_s, reply)``."""

    manufacturer_flag: str
    identification: Callable[[], str]
    datasets: Callable[[], Datasets]
    device_address: str = ""
    serial: str = ""
    timing: ReadoutTiming = field(default_factory=ReadoutTiming)
    state: str = "idle"  # idle | identified | programming
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[float, bytes]]:
        self._buffer += data
        out: list[tuple[float, bytes]] = []
        while True:
            message = self._next_message()
            if message is None:
                break
            reply = self._on_message(message)
            if reply is not None:
                out.append(reply)
        return out

    def _next_message(self) -> bytes | None:
        buf = self._buffer
        while buf and buf[0:1] not in (b"/", ACK, SOH):
            del buf[0]  # noise between messages
        if not buf:
            return None
        if buf[0:1] == SOH:
            end = buf.find(ETX)
            if end < 0 or end + 1 >= len(buf):
                self._incomplete()
                return None
            message = bytes(buf[: end + 2])
        else:
            end = buf.find(b"\r\n")
            if end < 0:
                self._incomplete()
                return None
            message = bytes(buf[: end + 2])
        del buf[: len(message)]
        return message

    def _incomplete(self) -> None:
        if len(self._buffer) > MAX_MESSAGE:
            self._buffer.clear()
            self.state = "idle"

    def _on_message(self, message: bytes) -> tuple[float, bytes] | None:
        if message[0:1] == SOH:
            return self._on_command(message)
        if message[0:1] == b"/":
            return self._on_sign_on(message)
        return self._on_ack(message)

    def _on_sign_on(self, message: bytes) -> tuple[float, bytes] | None:
        self.state = "idle"
        if not (message.startswith(b"/?") and message.endswith(b"!\r\n")):
            return None
        address = message[2:-3].decode("ascii", "replace")
        if len(address) > 32 or (address and address.lstrip("0") != self.device_address.lstrip("0")):
            return None  # addressed to another meter
        self.state = "identified"
        ident = f"/{self.manufacturer_flag}{OFFERED_BAUD}{self.identification()[:16]}\r\n"
        return self.timing.identification_s, ident.encode("ascii")

    def _on_ack(self, message: bytes) -> tuple[float, bytes] | None:
        state, self.state = self.state, "idle"
        if state != "identified" or len(message) != 6:
            return None  # an acknowledgement with no sign-on before it, or malformed
        v, z, y = (chr(b) for b in message[1:4])
        if v not in "01" or not "0" <= z <= OFFERED_BAUD:
            return None  # mode E (V=2) not offered; a rate above the one offered
        if y == "0" or "6" <= y <= "9":
            return self.timing.data_s, data_message(self.datasets())
        if y == "1":
            self.state = "programming"
            return self.timing.data_s, _command(b"P0", f"({self.serial})".encode("ascii"))
        return None  # binary mode (Y=2) and reserved values: not offered

    def _on_command(self, message: bytes) -> tuple[float, bytes] | None:
        body = message[1:-1]
        if bcc(body) != message[-1]:
            return (0.0, NAK) if self.state == "programming" else None
        if body.startswith(b"B0"):
            self.state = "idle"  # break: the session ends without an answer
            return None
        if self.state != "programming":
            return None
        return 0.0, NAK  # no programming access on the lab's meters: passwords and commands refused


class ByteSink(Protocol):
    """What the readout writes to: an asyncio stream writer, or a pty's (:func:`serve_readout_on_fd`)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


async def serve_readout(
    reader: asyncio.StreamReader,
    writer: ByteSink,
    *,
    manufacturer_flag: str,
    identification: Callable[[], str],
    datasets: Callable[[], Datasets],
    faults: FaultInjector,
    idle_timeout: float = IDLE_TIMEOUT_S,
    device_address: str = "",
    serial: str = "",
    timing: ReadoutTiming | None = None,
) -> None:
    """Serve mode C exchanges (see the module docstring) until the client goes away or is idle."""
    meter = ModeCMeter(
        manufacturer_flag, identification, datasets, device_address, serial, timing or ReadoutTiming()
    )
    try:
        while True:
            data = await asyncio.wait_for(reader.read(256), idle_timeout)
            if not data:
                break
            for delay, reply in meter.feed(data):
                if delay > 0:
                    await asyncio.sleep(delay)
                faults.send(writer.write, reply)
            await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


class _PtySink:
    """Writes to a pty's master side; a session ending does not close the port (the pty outlives it)."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None


async def serve_readout_on_fd(fd: int, **readout: Any) -> Callable[[], None]:
    """Serve the readout on a character device fd (the master side of a pty), so a serial-only tool
    or an optical-head stand-in can use the slave path like the meter's port. Sessions follow one
    another on the same port (a session ends at the idle timeout). ``readout`` is
    :func:`serve_readout`'s keyword arguments. Returns a function that stops serving (the caller
    keeps ownership of ``fd``)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):  # not a tty: nothing to configure
        tty.setraw(fd)
    reader = asyncio.StreamReader()
    read_file = os.fdopen(os.dup(fd), "rb", buffering=0)
    write_file = os.fdopen(os.dup(fd), "wb", buffering=0)
    read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
    write_transport, _ = await loop.connect_write_pipe(asyncio.Protocol, write_file)
    sink = _PtySink(write_transport)

    async def sessions() -> None:
        while not reader.at_eof():
            await serve_readout(reader, sink, **readout)

    task = loop.create_task(sessions())

    def stop() -> None:
        task.cancel()
        read_transport.close()
        write_transport.close()

    return stop
