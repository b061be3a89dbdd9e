"""COSEM object model for the virtual lab: A-XDR value types, the model interface, and a simple model.

Device simulators (ESME, GSME, ...) expose their data to the DLMS server in :mod:`labs.virtual.dlms_server`
through the small :class:`CosemModel` protocol: ``get`` / ``set`` / ``action`` addressed by class id,
6-byte OBIS code and attribute or method index. Errors are typed exceptions whose ``code`` is the
Data-Access-Result / Action-Result the server puts on the wire.

One module per concern, so each can be read on its own:

* :mod:`.results` — result codes and the :class:`CosemError` family;
* :mod:`.obis` — OBIS codes (:func:`parse_obis`, :func:`obis_to_str`);
* :mod:`.axdr` — the A-XDR value types, :func:`to_cosem`, :func:`encode`, :func:`decode`;
* :mod:`.date_time` — the 12-octet COSEM date-time;
* :mod:`.model` — :class:`CosemModel`, :class:`AccessContext`, :class:`SelectiveAccess`, :class:`AuthLevel`;
* :mod:`.interface_classes` — disconnect control (IC 70) and clock (IC 8) state machines;
* :mod:`.simple_model` — :class:`SimpleCosemModel`, the dictionary-backed model.

This package's namespace is the public API: import from ``labs.virtual.cosem``.
"""

from __future__ import annotations

from .axdr import (
    Array,
    AxdrDecodeError,
    Bcd,
    BitString,
    Boolean,
    CosemValue,
    Date,
    DateTime,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    Null,
    OctetString,
    Structure,
    Time,
    Unsigned,
    Utf8String,
    VisibleString,
    decode,
    decode_at,
    encode,
    to_cosem,
)
from .date_time import cosem_to_datetime, datetime_to_cosem
from .interface_classes import ClockObject, ControlState, DisconnectControl
from .model import AccessContext, AuthLevel, CosemModel, SelectiveAccess
from .obis import obis_to_str, parse_obis
from .results import (
    ActionResult,
    CosemError,
    DataAccessResult,
    HardwareFault,
    ObjectClassInconsistent,
    ObjectUnavailable,
    ObjectUndefined,
    OtherReason,
    ReadWriteDenied,
    ScopeOfAccessViolated,
    TemporaryFailure,
    TypeUnmatched,
)
from .simple_model import Attribute, CosemObject, Method, SimpleCosemModel

__all__ = [
    "AccessContext",
    "ActionResult",
    "Array",
    "Attribute",
    "AuthLevel",
    "AxdrDecodeError",
    "Bcd",
    "BitString",
    "Boolean",
    "ClockObject",
    "ControlState",
    "CosemError",
    "CosemModel",
    "CosemObject",
    "CosemValue",
    "DataAccessResult",
    "Date",
    "DateTime",
    "DisconnectControl",
    "DontCare",
    "DoubleLong",
    "DoubleLongUnsigned",
    "Enum",
    "Float32",
    "Float64",
    "HardwareFault",
    "Integer",
    "Long",
    "Long64",
    "Long64Unsigned",
    "LongUnsigned",
    "Method",
    "Null",
    "ObjectClassInconsistent",
    "ObjectUnavailable",
    "ObjectUndefined",
    "OctetString",
    "OtherReason",
    "ReadWriteDenied",
    "ScopeOfAccessViolated",
    "SelectiveAccess",
    "SimpleCosemModel",
    "Structure",
    "TemporaryFailure",
    "Time",
    "TypeUnmatched",
    "Unsigned",
    "Utf8String",
    "VisibleString",
    "cosem_to_datetime",
    "datetime_to_cosem",
    "decode",
    "decode_at",
    "encode",
    "obis_to_str",
    "parse_obis",
    "to_cosem",
]
