"""The interface between the DLMS server and a device simulator: :class:`CosemModel` and who is asking.

Device simulators (ESME, GSME, ...) expose their data to the DLMS server in :mod:`labs.virtual.dlms_server`
through this small protocol: ``get`` / ``set`` / ``action`` addressed by class id, 6-byte OBIS code and
attribute or method index. It is the only thing the server knows of a device.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from .axdr import CosemValue


class AuthLevel(enum.IntEnum):
    """Authentication mechanism of the association a request arrives on (Green Book mechanism ids)."""

    NONE = 0  # lowest level security (public client)
    LLS = 1  # low level security: password
    HLS = 2  # high level security: the server serves HLS-GMAC (Green Book mechanism 5) for it


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who is asking: lets a model apply per-association access rights as real meters do."""

    client_address: int = 16
    mechanism: AuthLevel = AuthLevel.NONE


@dataclass(frozen=True, slots=True)
class SelectiveAccess:
    """Selective-access descriptor of a GET/SET (e.g. range_descriptor on a profile buffer)."""

    selector: int
    parameters: CosemValue


class CosemModel(Protocol):
    """What the DLMS server needs from a device simulator.

    ``obis`` is always the 6-byte wire form.  ``ctx`` is ``None`` for in-process callers (simulator
    code, tests) which bypass access rights.  Implementations raise :class:`CosemError` subclasses;
    any other exception is reported on the wire as other-reason and logged by the server.
    Calls are synchronous and made on the event loop, so they must not block.
    """

    def get(
        self,
        class_id: int,
        obis: bytes,
        attribute: int,
        ctx: AccessContext | None = None,
        selector: SelectiveAccess | None = None,
    ) -> CosemValue: ...

    def set(
        self, class_id: int, obis: bytes, attribute: int, value: CosemValue, ctx: AccessContext | None = None
    ) -> None: ...

    def action(
        self,
        class_id: int,
        obis: bytes,
        method: int,
        parameter: CosemValue | None,
        ctx: AccessContext | None = None,
    ) -> CosemValue | None: ...
