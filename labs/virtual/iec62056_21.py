"""IEC 62056-21 mode C readout, the meter (server) side, on an asyncio stream.

Written independently of the harness's readout client on purpose: a simulator sharing the
driver's codec could not catch the driver's bugs. Garbage and unknown requests are ignored, as a meter
does; a slow or vanished client never blocks the other devices of the lab process. Replies go out
through the device's fault injector (latency, drops, corruption).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from typing import Any, Protocol

from labs.virtual.faults import FaultInjector

Datasets = list[tuple[str, str, str | None]]

STX, ETX, ACK = b"\x02", b"\x03", b"\x06"
IDLE_TIMEOUT_S = 300.0


def data_message(datasets: Datasets) -> bytes:
    lines = "".join(f"{a}({v}*{u})\r\n" if u else f"{a}({v})\r\n" for a, v, u in datasets)
    block = (lines + "!\r\n").encode("ascii") + ETX
    check = 0
    for byte in block:
        check ^= byte
    return STX + block + bytes([check])


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
) -> None:
    """Serve sign-on / identification / ACK / data message exchanges until the client goes away."""
    try:
        while True:
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), IDLE_TIMEOUT_S)
            if line.endswith(b"/?!\r\n") or (line.startswith(b"/?") and line.endswith(b"!\r\n")):
                reply = f"/{manufacturer_flag}5{identification()[:16]}\r\n".encode("ascii")
                faults.send(writer.write, reply)
            elif line.startswith(ACK) and len(line) >= 6 and line[3:4] in (b"0", b"6"):
                # option select: mode 0 is data readout (6 = manufacturer specific, treated alike)
                faults.send(writer.write, data_message(datasets()))
            # anything else: ignored, as a meter ignores noise on its optical port
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
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
    another on the same port (a session ends at the idle timeout or a garbled exchange). ``readout``
    is :func:`serve_readout`'s keyword arguments. Returns a function that stops serving (the caller
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
