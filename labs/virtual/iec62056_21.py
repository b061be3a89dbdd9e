"""IEC 62056-21 mode C readout, the meter (server) side, on an asyncio stream.

Written independently of the client in :mod:`device_drivers` on purpose: a simulator sharing the
driver's codec could not catch the driver's bugs. Garbage and unknown requests are ignored, as a meter
does; a slow or vanished client never blocks the other devices of the lab process. Replies go out
through the device's fault injector (latency, drops, corruption).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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


async def serve_readout(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
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
