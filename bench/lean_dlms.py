"""Shared by the DLMS benchmarks: a lean raw-HDLC client (pre-built frames, so the *server* is what is
measured) and /proc readings of a server process. Not a test; imported by bench_dlms.py, bench_lab.py."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from labs.virtual.hdlc import LLC_REQUEST, encode_frame, parse_frame  # noqa: E402 - after sys.path

ENERGY = bytes([1, 0, 1, 8, 0, 255])
SERVER_ADDRESS = b"\x03"  # logical 1, one byte
CLIENT_ADDRESS = b"\x03"  # management client 1 (LLS)
#: GET-Request-Normal of the energy register's value (class 3, attribute 2).
GET_ENERGY = bytes.fromhex("c001c10003") + ENERGY + b"\x02\x00"


def snrm() -> bytes:
    """SNRM with default HDLC parameters (opens the link)."""
    return encode_frame(SERVER_ADDRESS, CLIENT_ADDRESS, 0x93)


def i_frame(ns: int, nr: int, apdu: bytes) -> bytes:
    return encode_frame(SERVER_ADDRESS, CLIENT_ADDRESS, 0x10 | (ns << 1) | (nr << 5), LLC_REQUEST + apdu)


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """A whole frame by its length field (0x7E may occur inside); HCS and FCS are checked."""
    head = await reader.readexactly(3)
    length = ((head[1] & 0x07) << 8) | head[2]
    rest = await reader.readexactly(length - 1)
    parse_frame(head[1:] + rest[:-1])
    return head + rest


def aarq_bytes(password: bytes) -> bytes:
    """An LLS AARQ as the dlms-cosem client builds it."""
    from dlms_cosem.connection import DlmsConnection
    from dlms_cosem.security import LowLevelSecurityAuthentication

    connection = DlmsConnection(
        authentication=LowLevelSecurityAuthentication(secret=password), client_system_title=None
    )
    return bytes(connection.get_aarq().to_bytes())


async def get_loop(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    expected: bytes,
    counts: list[int],
    ready: asyncio.Event,
    label: str,
) -> None:
    """On an associated link: GET the energy register until cancelled, checking every answer holds
    ``expected`` and counting it in ``counts[0]``; closes the connection at the end."""
    frames = [i_frame(k, k, GET_ENERGY) for k in range(8)]
    await ready.wait()
    k = 1
    try:
        while True:
            writer.write(frames[k & 7])
            frame = await read_frame(reader)
            if expected not in frame:
                raise RuntimeError(f"{label}: unexpected answer {frame.hex()}")
            counts[0] += 1
            k += 1
    finally:
        writer.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
