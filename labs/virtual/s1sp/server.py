"""The route's TCP face: frames in, :class:`~.service.S1spService` answers out, alerts pushed.

Every connection gets every alert (device, DCC and S1SP) interleaved with its responses. Each request
is handled in its own task so a request waiting for a sleepy GSME never holds up the next one. Frame
problems are answered with their E-code; only a bad magic (the stream cannot be re-synchronised), an
announced length above the hard limit, or a frame that stalls mid-way close the connection. Replies
pass through an optional :class:`~labs.virtual.faults.FaultInjector`, so the route can be given
latency, drops and corruption like any other simulated device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from labs.virtual.faults import FaultInjector

from .service import S1spService
from .wire import (
    CRC_SIZE,
    HARD_LIMIT,
    HEADER_SIZE,
    VERSION,
    WireError,
    check_frame,
    encode_frame,
    parse_header,
    parse_message,
)

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
#: Once a frame's header has arrived, the rest must follow within this many real seconds.
FRAME_TIMEOUT_S = 10.0
_SKIP_CHUNK = 64 * 1024


async def serve_route(
    service: S1spService, host: str = HOST, port: int = 0, *, faults: FaultInjector | None = None
) -> asyncio.Server:
    """Listen on ``host:port`` (an OS-chosen port by default) and start the service's housekeeping."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the virtual route listens on loopback only")
    service.start()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await Connection(service, reader, writer, faults).run()

    return await asyncio.start_server(accept, host, port)


class Connection:
    def __init__(
        self,
        service: S1spService,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        faults: FaultInjector | None,
    ) -> None:
        self.service = service
        self.reader = reader
        self.writer = writer
        self.faults = faults
        self.closed = False

    def reply(self, message: dict[str, Any]) -> None:
        if self.closed or self.writer.is_closing():
            return
        data = encode_frame(message)
        with contextlib.suppress(ConnectionError, RuntimeError, OSError):
            if self.faults is not None:
                self.faults.send(self.writer.write, data)
            else:
                self.writer.write(data)

    def error(self, code: str, text: str, rid: str | None = None) -> None:
        self.reply(self.service.response(rid, code, text))

    async def run(self) -> None:
        if self.faults is not None and self.faults.config.disconnect:
            self.writer.close()
            return
        self.service.subscribers.add(self.reply)
        try:
            while await self._one_frame():
                pass
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except Exception:  # a connection must never take the route down
            log.exception("route connection failed")
        finally:
            self.closed = True
            self.service.subscribers.discard(self.reply)
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await self.writer.wait_closed()

    async def _one_frame(self) -> bool:
        """Read and dispatch one frame; False when the connection must close."""
        head = await self.reader.readexactly(HEADER_SIZE)
        try:
            header = parse_header(head)
        except WireError as exc:
            self.error(exc.code, exc.message)
            await self.writer.drain()
            return False
        limit = self.service.config.max_payload
        if header.length > HARD_LIMIT:
            self.error("E3", f"frame of {header.length} bytes exceeds the hard limit {HARD_LIMIT}; closing")
            await self.writer.drain()
            return False
        if header.length > limit or header.version != VERSION or header.flags != 0:
            await asyncio.wait_for(self._skip(header.length + CRC_SIZE), FRAME_TIMEOUT_S)
            if header.length > limit:
                self.error("E3", f"payload of {header.length} bytes exceeds {limit}")
            elif header.version != VERSION:
                self.error("E2", f"protocol version {header.version} is not supported (use {VERSION})")
            else:
                self.error("E1", f"reserved flags {header.flags:#04x} must be 0")
            return True
        try:
            rest = await asyncio.wait_for(self.reader.readexactly(header.length + CRC_SIZE), FRAME_TIMEOUT_S)
        except TimeoutError:
            self.error("E1", "frame incomplete within the frame timeout; closing")
            return False
        payload, crc = rest[: header.length], rest[header.length :]
        try:
            check_frame(head, payload, crc)
            message = parse_message(payload)
        except WireError as exc:
            self.error(exc.code, exc.message, exc.request_id)
            return True
        self.service.spawn(self.service.handle(message, self.reply))
        return True

    async def _skip(self, count: int) -> None:
        """Discard ``count`` bytes without holding them (an oversize frame is never buffered)."""
        while count > 0:
            chunk = await self.reader.read(min(count, _SKIP_CHUNK))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", count)
            count -= len(chunk)
