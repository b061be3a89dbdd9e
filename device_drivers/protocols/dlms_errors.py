"""The DLMS client's two kinds of failure, apart from the client itself.

:mod:`device_drivers.protocols.dlms` needs the ``dlms-cosem`` package (and, through it, structlog and
rich: about 0.3 CPU-s to import). The ports built on it (:class:`~device_drivers.protocols.meter_optical.
MeterOptical`, :class:`~device_drivers.protocols.display.DisplayPort`) catch these errors everywhere but
open a DLMS session only on first use, so keeping the errors here lets a test that never speaks DLMS (an
IEC 62056-21 readout) run without importing ``dlms-cosem`` at all (issue 21: parallel start-up).
"""

from __future__ import annotations

__all__ = ["DlmsDeviceError", "DlmsLinkError", "DlmsProtocolError"]


class DlmsLinkError(Exception):
    """No usable answer from the device: connection refused or lost, timeout, malformed frames or APDUs."""


class DlmsDeviceError(Exception):
    """The device answered and refused: ``code`` is the result it sent.

    ``kind`` says which enumeration ``code`` belongs to: ``"data-access-result"`` (GET/SET),
    ``"action-result"``, ``"association"`` (ACSE service-user diagnostic of a rejected AARQ, e.g. 13 =
    authentication failure), ``"exception-response"`` (``code`` = state-error * 256 + service-error) or
    ``"confirmed-service-error"``.
    """

    def __init__(self, message: str, *, code: int, kind: str = "data-access-result") -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind


class DlmsProtocolError(DlmsDeviceError):
    """The device answered in well-formed frames, but the APDU contradicts DLMS (unparseable, wrong
    response type, undecodable A-XDR).  A device fault, not a link fault; ``code`` is -1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=-1, kind="protocol")
