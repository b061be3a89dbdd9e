"""IEC 62056-21 (mode C) data readout over an optical port link: the client side.

The oldest interface every GB meter's optical port speaks: the reader sends a sign-on, the meter names
itself, and on acknowledgement sends a block of data sets ``address(value*unit)`` closed by ``!``,
ETX and a block check character (XOR of everything after STX up to and including ETX). Used by the
packs to verify what a meter holds independently of the service route.

Parsing is pure (functions over bytes); :class:`ReadoutClient` does the exchange and retries damaged
or missing answers, and lost links (reopened), under a tenacity policy, noting every retry in the
transcript. Baud-rate switching
is acknowledged but not performed: on ``socket://``/``rfc2217://`` links the serial server owns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from device_drivers.errors import FrameError, LinkDown, LinkTimeout
from device_drivers.links import Link

STX, ETX, ACK = b"\x02", b"\x03", b"\x06"
SIGN_ON = b"/?!\r\n"
_IDENT = re.compile(rb"^/([A-Za-z]{3})([0-9A-Z])(?:\\\d)?([\x21-\x7e ]{1,16})\r\n$")
_DATASET = re.compile(r"^([^()\s]+)\(([^()*]*)(?:\*([^()]*))?\)$")


@dataclass(frozen=True, slots=True)
class DataSet:
    """One ``address(value*unit)`` line of a readout."""

    address: str
    value: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Readout:
    manufacturer_flag: str
    baud_id: str
    identification: str
    datasets: tuple[DataSet, ...]

    def get(self, address: str) -> DataSet | None:
        return next((d for d in self.datasets if d.address == address), None)


def bcc(block: bytes) -> int:
    """Block check character: XOR of every byte after STX up to and including ETX."""
    value = 0
    for byte in block:
        value ^= byte
    return value


def parse_identification(line: bytes, device: str) -> tuple[str, str, str]:
    match = _IDENT.match(line)
    if not match:
        raise FrameError(device, f"malformed identification message {line!r}")
    flag, baud, ident = match.groups()
    return flag.decode(), baud.decode(), ident.decode().strip()


def parse_data_message(frame: bytes, device: str) -> tuple[DataSet, ...]:
    """Check STX/ETX/BCC framing and split the data block into data sets."""
    if len(frame) < 3 or not frame.startswith(STX) or frame[-2:-1] != ETX:
        raise FrameError(device, "data message not framed by STX ... ETX BCC")
    body = frame[1:-1]  # after STX, up to and including ETX
    if bcc(body) != frame[-1]:
        raise FrameError(device, f"block check failed (got 0x{frame[-1]:02x}, computed 0x{bcc(body):02x})")
    text = body[:-1].decode("ascii", "replace")
    lines = [ln for ln in text.split("\r\n") if ln]
    if not lines or lines[-1] != "!":
        raise FrameError(device, "data block does not end with '!'")
    datasets = []
    for ln in lines[:-1]:
        match = _DATASET.match(ln)
        if not match:
            raise FrameError(device, f"malformed data set {ln!r}")
        address, value, unit = match.groups()
        datasets.append(DataSet(address, value, unit or None))
    return tuple(datasets)


class ReadoutClient:
    """Performs mode C data readouts on an open :class:`Link`."""

    def __init__(self, link: Link, *, attempts: int = 3, backoff_s: float = 0.05) -> None:
        self.link = link
        self.attempts = attempts
        self.backoff_s = backoff_s

    def readout(self) -> Readout:
        """Sign on and read every data set, retrying damaged or missing answers."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_fixed(self.backoff_s),
            retry=retry_if_exception_type((FrameError, LinkTimeout, LinkDown)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        result: Readout = retrying(self._readout_once)
        return result

    def _readout_once(self) -> Readout:
        link = self.link.ensure_open()  # reopens a link lost on an earlier attempt (e.g. a power cycle)
        link.discard_input()
        link.write(SIGN_ON)
        flag, baud, ident = parse_identification(link.read_until(b"\r\n", 64), link.device)
        link.write(ACK + b"0" + baud.encode() + b"0\r\n")  # protocol mode C, data readout
        frame = link.read_until(ETX, 1 << 16)
        frame += link.read_exact(1)
        start = frame.find(STX)
        if start < 0:
            raise FrameError(link.device, "no STX in data message")
        return Readout(flag, baud, ident, parse_data_message(frame[start:], link.device))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if self.link.transcript:
            self.link.transcript.note(
                self.link.device, f"retry {state.attempt_number}/{self.attempts - 1} after: {exc}"
            )
