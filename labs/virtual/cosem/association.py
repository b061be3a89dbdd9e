"""The Association LN object (IC 15, 0.0.40.0.0.255) and the SAP assignment (IC 17, 0.0.41.0.0.255).

The Blue Book (DLMS UA 1000-1) makes "current association" mandatory in every logical device: a
generic client's first step is to read its ``object_list`` (attribute 2) to learn which objects the
association may reach and how. Its attributes describe the *association*, not the meter — the client
SAP, the mechanism, the negotiated conformance — so the DLMS server answers them per connection
from an :class:`AssociationView`, and the device model only provides its objects and their access
levels (:class:`~.simple_model.SimpleCosemModel`). The SAP assignment lists the logical devices of
the physical device (mandatory in the management logical device).

Served as IC 15 version 0 (attributes 1-8; method access rights as booleans) because the simulator
has no Security setup object for version 1's attribute 9. Method 1 (reply_to_HLS_authentication) is
offered on an HLS-GMAC association, where the DLMS server answers it (pass 3 and 4 of HLS); methods 2-4
(change HLS secret, add/remove object) are not offered: ``object_list`` says so, and an ACTION on them
is read-write-denied.

Where the device has an HLS-GMAC association, the Security setup object (IC 64 version 0,
0.0.43.0.0.255) says how it is protected: security_policy 3 (all messages authenticated and
encrypted), security_suite 0 (AES-GCM-128), the client's and the server's system titles. Its methods
(security_activate, global_key_transfer) are not offered: the lab's keys come from the lab file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .axdr import (
    Array,
    BitString,
    Boolean,
    CosemValue,
    Enum,
    Integer,
    LongUnsigned,
    Null,
    OctetString,
    Structure,
    Unsigned,
)
from .model import AuthLevel
from .obis import parse_obis
from .results import ObjectClassInconsistent, ObjectUndefined, ReadWriteDenied
from .simple_model import CosemObject

__all__ = [
    "ASSOCIATION_LN",
    "ASSOCIATION_LN_CLASS",
    "SAP_ASSIGNMENT",
    "SAP_ASSIGNMENT_CLASS",
    "SECURITY_SETUP",
    "SECURITY_SETUP_CLASS",
    "AssociationView",
    "SecuritySetupView",
    "object_list",
    "read_association",
]

ASSOCIATION_LN = parse_obis("0.0.40.0.0.255")
SAP_ASSIGNMENT = parse_obis("0.0.41.0.0.255")
SECURITY_SETUP = parse_obis("0.0.43.0.0.255")
ASSOCIATION_LN_CLASS, SAP_ASSIGNMENT_CLASS, SECURITY_SETUP_CLASS = 15, 17, 64
#: security_policy (IC 64 v0): all messages authenticated and encrypted.
POLICY_AUTHENTICATED_ENCRYPTED = 3

#: Interface class versions the simulator's objects follow (Blue Book); every other class is version 0.
CLASS_VERSIONS = {7: 1}
#: application-context-name Logical_Name_Referencing_No_Ciphering: OID 2.16.756.5.8.1.1, BER-encoded.
LN_NO_CIPHERING_OID = bytes.fromhex("60857405080101")
#: ... and Logical_Name_Referencing_With_Ciphering (2.16.756.5.8.1.3), the context of an HLS-GMAC association.
LN_CIPHERING_OID = bytes.fromhex("60857405080103")
#: mechanism-name prefix 2.16.756.5.8.2 (the mechanism id is the last arc).
MECHANISM_OID_PREFIX = bytes.fromhex("608574050802")
ASSOCIATION_PENDING, ASSOCIATED = 1, 2  # association_status
#: Green Book mechanism id per access level the server serves (HLS is HLS-GMAC, mechanism 5).
MECHANISM_IDS = {AuthLevel.NONE: 0, AuthLevel.LLS: 1, AuthLevel.HLS: 5}
NO_ACCESS, READ_ONLY, WRITE_ONLY, READ_WRITE = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class SecuritySetupView:
    """The Security setup object's values: the server's system title, and the client's on an HLS-GMAC
    association (empty on the others, which are not protected)."""

    server_system_title: bytes
    client_system_title: bytes = b""


@dataclass(frozen=True, slots=True)
class AssociationView:
    """What the association object reports about the connection it is read on."""

    client_sap: int
    server_sap: int
    mechanism: AuthLevel
    conformance: str  # the negotiated conformance block, 24 bits, Green Book bit 0 first
    max_receive_pdu: int  # the server's
    max_send_pdu: int  # the client's
    dlms_version: int = 6
    #: HLS: the association is ciphered, and pending until the client's f(StoC) verified.
    pending: bool = False
    #: Set where the device has an HLS-GMAC association (then it has a Security setup object).
    security: SecuritySetupView | None = None


def _access_mode(readable: bool, writable: bool) -> int:
    return (READ_ONLY if readable else NO_ACCESS) | (WRITE_ONLY if writable else NO_ACCESS)


def _entry(
    class_id: int, ln: bytes, attributes: list[tuple[int, int, bool]], methods: list[tuple[int, bool]]
) -> Structure:
    """object_list_element: {class_id, version, logical_name, access_rights}."""
    attribute_access = Array(
        Structure([Integer(i), Enum(mode), Array([Integer(1), Integer(2)]) if selective else Null()])
        for i, mode, selective in attributes
    )
    method_access = Array(Structure([Integer(i), Boolean(ok)]) for i, ok in methods)
    return Structure(
        [
            LongUnsigned(class_id),
            Unsigned(CLASS_VERSIONS.get(class_id, 0)),
            OctetString(ln),
            Structure([attribute_access, method_access]),
        ]
    )


def _model_entry(obj: CosemObject, mechanism: AuthLevel) -> Structure:
    attributes = [
        (
            i,
            _access_mode(mechanism >= a.read_level, a.setter is not None and mechanism >= a.write_level),
            a.selective_getter is not None,
        )
        for i, a in sorted(obj.attributes.items())
    ]
    methods = [(i, mechanism >= m.level) for i, m in sorted(obj.methods.items())]
    return _entry(obj.class_id, obj.logical_name, attributes, methods)


def _own_entries(mechanism: AuthLevel, security: SecuritySetupView | None) -> list[Structure]:
    association = _entry(
        ASSOCIATION_LN_CLASS,
        ASSOCIATION_LN,
        [(i, NO_ACCESS if i == 7 else READ_ONLY, False) for i in range(1, 9)],
        [(i, i == 1 and mechanism == AuthLevel.HLS) for i in range(1, 5)],
    )
    sap = _entry(
        SAP_ASSIGNMENT_CLASS, SAP_ASSIGNMENT, [(1, READ_ONLY, False), (2, READ_ONLY, False)], [(1, False)]
    )
    if security is None:
        return [association, sap]
    attributes = [(i, READ_ONLY, False) for i in range(1, 6)]
    setup = _entry(SECURITY_SETUP_CLASS, SECURITY_SETUP, attributes, [(1, False), (2, False)])
    return [association, sap, setup]


def object_list(objects: Iterable[CosemObject], view: AssociationView) -> Array:
    """Attribute 2: every object the association can see, with the access rights *this* association
    has (a public client's list shows read-only where the management client's shows read-write)."""
    entries = _own_entries(view.mechanism, view.security)
    entries += [_model_entry(obj, view.mechanism) for obj in objects]
    return Array(entries)


def read_association(
    class_id: int,
    obis: bytes,
    attribute: int,
    view: AssociationView,
    objects: Iterable[CosemObject],
    logical_device_name: bytes,
) -> CosemValue:
    """GET on the Association LN, SAP assignment or Security setup object (``obis`` is one of them)."""
    if obis == SECURITY_SETUP:
        return _read_security_setup(class_id, attribute, view.security)
    own_class = ASSOCIATION_LN_CLASS if obis == ASSOCIATION_LN else SAP_ASSIGNMENT_CLASS
    if class_id != own_class:
        raise ObjectClassInconsistent(f"{obis.hex()} is class {own_class}, not {class_id}")
    if attribute == 1:
        return OctetString(obis)
    if own_class == SAP_ASSIGNMENT_CLASS:
        if attribute == 2:  # SAP_assignment_list: {SAP, logical_device_name}
            return Array([Structure([LongUnsigned(view.server_sap), OctetString(logical_device_name)])])
        raise ObjectUndefined(f"SAP assignment has no attribute {attribute}")
    if attribute == 2:
        return object_list(objects, view)
    if attribute == 3:  # associated_partners_id
        return Structure([Integer(view.client_sap), LongUnsigned(view.server_sap)])
    if attribute == 4:
        return OctetString(LN_CIPHERING_OID if view.mechanism == AuthLevel.HLS else LN_NO_CIPHERING_OID)
    if attribute == 5:  # xDLMS_context_info
        return Structure(
            [
                BitString.from_bits(view.conformance),
                LongUnsigned(view.max_receive_pdu),
                LongUnsigned(view.max_send_pdu),
                Unsigned(view.dlms_version),
                Integer(0),
                OctetString(b""),
            ]
        )
    if attribute == 6:
        return OctetString(MECHANISM_OID_PREFIX + bytes([MECHANISM_IDS[view.mechanism]]))
    if attribute == 7:
        raise ReadWriteDenied("the association's secret is never read")
    if attribute == 8:
        return Enum(ASSOCIATION_PENDING if view.pending else ASSOCIATED)
    raise ObjectUndefined(f"Association LN has no attribute {attribute}")


def _read_security_setup(class_id: int, attribute: int, security: SecuritySetupView | None) -> CosemValue:
    if security is None:
        raise ObjectUndefined("no Security setup: this device has no protected association")
    if class_id != SECURITY_SETUP_CLASS:
        raise ObjectClassInconsistent(f"Security setup is class {SECURITY_SETUP_CLASS}, not {class_id}")
    values: dict[int, CosemValue] = {
        1: OctetString(SECURITY_SETUP),
        2: Enum(POLICY_AUTHENTICATED_ENCRYPTED),
        3: Enum(0),  # security suite 0: AES-GCM-128
        4: OctetString(security.client_system_title),
        5: OctetString(security.server_system_title),
    }
    if attribute not in values:
        raise ObjectUndefined(f"Security setup has no attribute {attribute}")
    return values[attribute]
