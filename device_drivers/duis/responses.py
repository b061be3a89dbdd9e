"""Read every DUIS message a User receives: acknowledgements, responses, errors and alerts.

What arrives (DUIS Schema V5.1, ``sr:Response``; DCC Boxed posts the asynchronous ones to the User's
receive endpoint):

* the synchronous answer to a POST: ``I99`` (acknowledged, the result follows), an ``E`` code (refused),
  or — for a non-device request (``serviceD``) — ``I0`` with the DSP's own body;
* an asynchronous response: ``ResponseMessage`` (GBCS payload or a DSP body) or, for a SMETS1 device,
  ``SMETS1ResponseMessage`` carrying the S1SP-signed ``SMETS1SignedResponse`` (MMC ``ra:`` payload);
* a Device Alert (``DeviceAlertMessage``: ``AlertCode`` in hex) or a DCC Alert (``DCCAlertMessage``:
  ``DCCAlertCode`` ``N``-code or ``AD1``), which for SMETS1 may wrap an S1SP-signed ``S1SPAlert``.

Pure: :func:`parse` reads an already verified tree; :func:`verify_inner` checks the S1SP's signature of
a nested SMETS1 response or S1SP alert as the standalone document the S1SP signed.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from device_drivers.duis.requests import RA_NS, SR_NS
from device_drivers.duis.signing import DS_NS, TrustStore, Verified, verify

#: Message kinds :func:`parse` tells apart.
RESPONSE = "response"
SMETS1_RESPONSE = "smets1_response"
DEVICE_ALERT = "device_alert"
DCC_ALERT = "dcc_alert"
S1SP_ALERT = "s1sp_alert"
#: The virtual lab's convention (docs/virtual-lab.md, section 6): the virtual S1SP's complete outcome
#: (the framed route's response or alert message) as one ``ra:GBCSData`` item of this name, base64 JSON,
#: inside the S1SP-signed payload; for an S1SP alert, ``AdditionalInformation`` holds it as JSON.
OUTCOME_ITEM = "dmct-s1sp-outcome"
#: Codes (DUIS ``sr:ResponseCode``): I0 success, I99 acknowledged; every E-code is an error.
SUCCESS = "I0"
ACKNOWLEDGED = "I99"


class NotDuis(ValueError):
    """Not a DUIS message this codec reads (names what it is instead)."""


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def element_data(el: etree._Element) -> Any:
    """An element as plain data: text for a leaf (None when empty), else a dict of children by local
    name (a list where a name repeats) and attributes as ``@name``. Signatures are left out."""
    children = [c for c in el if isinstance(c.tag, str) and c.tag != f"{{{DS_NS}}}Signature"]
    if not children and not el.attrib:
        return el.text.strip() if el.text and el.text.strip() else None
    out: dict[str, Any] = {f"@{k!s}": str(v) for k, v in el.attrib.items()}
    if not children:
        out["#text"] = el.text.strip() if el.text else None
        return out
    for c in children:
        name, value = local(c), element_data(c)
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Smets1Response:
    """The S1SP's ``SMETS1Response``: MMC header (device -> User) and its payload."""

    originator: str
    target: str
    counter: int
    kind: str  # ResponseMessage | DeviceAlertMessage
    payload: str | None  # the SMETSData child (``ReadInstantaneousImportRegistersRsp``) or alert content
    data: Any
    signed: etree._Element = field(repr=False)
    outcome: dict[str, Any] | None = None  # the OUTCOME_ITEM, where the S1SP sent one


@dataclass(frozen=True)
class DuisMessage:
    kind: str
    code: str  # ResponseCode; for alerts the alert code (``0x8F66``, ``N24``, S1SP code)
    request_id: str | None
    response_id: str | None
    at: str | None
    srv: str | None
    data: Any  # the body as plain data (see element_data)
    smets1: Smets1Response | None = None
    alert_code: str | None = None
    root: etree._Element | None = field(default=None, repr=False, compare=False)
    #: The S1SP's own outcome (the framed route's message) where the payload carries one (OUTCOME_ITEM).
    outcome: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS

    @property
    def error(self) -> bool:
        return self.kind == RESPONSE and self.code.startswith("E")

    @property
    def final(self) -> bool:
        """Whether this ends its request (anything but an acknowledgement)."""
        return self.code != ACKNOWLEDGED

    @property
    def dedup_key(self) -> tuple[str, ...]:
        """What identifies this message when the DSP posts it again (a retry after a failed POST)."""
        return (self.kind, self.response_id or "", self.request_id or "", self.code, self.at or "")


def _sr(tag: str) -> str:
    return f"{{{SR_NS}}}{tag}"


def _ra(tag: str) -> str:
    return f"{{{RA_NS}}}{tag}"


def parse(root: etree._Element) -> DuisMessage:
    """Read a DUIS ``sr:Response`` (or a bare ``sr:S1SPAlert``). Raises :class:`NotDuis`."""
    if root.tag == _sr("S1SPAlert"):
        return _s1sp_alert(root, None, None, None)
    if root.tag != _sr("Response"):
        raise NotDuis(f"root element is {root.tag!r}, not a DUIS Response")
    header = root.find(_sr("Header"))
    body = root.find(_sr("Body"))
    if header is None or body is None or len(body) == 0:
        raise NotDuis("DUIS Response without Header or Body")
    rid = header.findtext(_sr("RequestID"))
    resp_id = header.findtext(_sr("ResponseID"))
    code = header.findtext(_sr("ResponseCode")) or ""
    at = header.findtext(_sr("ResponseDateTime"))
    content = body[0]
    name = local(content)
    srv = content.findtext(_sr("ServiceReferenceVariant"))
    if name == "ResponseMessage":
        data = {local(c): element_data(c) for c in content
                if local(c) not in ("ServiceReference", "ServiceReferenceVariant")}  # fmt: skip
        return DuisMessage(RESPONSE, code, rid, resp_id, at, srv, data, root=root)
    if name == "SMETS1ResponseMessage":
        signed = content.find(_sr("SMETS1SignedResponse"))
        if signed is None:
            raise NotDuis("SMETS1ResponseMessage without SMETS1SignedResponse")
        s1 = smets1_response(signed)
        kind = SMETS1_RESPONSE if s1.kind == "ResponseMessage" else DEVICE_ALERT
        return DuisMessage(kind, code, rid, resp_id, at, srv, s1.data, smets1=s1, root=root,
                           alert_code=_alert_code_of(s1) if kind == DEVICE_ALERT else None,
                           outcome=s1.outcome)  # fmt: skip
    if name == "DeviceAlertMessage":
        alert = "0x" + (content.findtext(_sr("AlertCode")) or "").strip().upper()
        return DuisMessage(DEVICE_ALERT, code, rid, resp_id, at, srv, element_data(content),
                           alert_code=alert, root=root)  # fmt: skip
    if name == "DCCAlertMessage":
        alert = (content.findtext(_sr("DCCAlertCode")) or "").strip()
        inner = content.find(f"{_sr('DCCAlert')}/{_sr('S1SPAlertDSP')}/{_sr('S1SPAlert')}")
        if inner is not None:
            return _s1sp_alert(inner, rid, resp_id, root, dcc_code=alert)
        return DuisMessage(DCC_ALERT, code, rid, resp_id, at, srv, element_data(content),
                           alert_code=alert, root=root)  # fmt: skip
    raise NotDuis(f"unknown DUIS Response body {name!r}")


def _s1sp_alert(
    el: etree._Element, rid: str | None, resp_id: str | None, root: etree._Element | None, dcc_code: str = ""
) -> DuisMessage:
    code = (el.findtext(_sr("S1SPAlertCode")) or "").strip()
    data = element_data(el)
    if dcc_code:
        data = {**data, "DCCAlertCode": dcc_code}
    outcome = _json_object((el.findtext(_sr("AdditionalInformation")) or "").encode())
    return DuisMessage(
        S1SP_ALERT, code, el.findtext(_sr("RequestID")) or rid, resp_id, el.findtext(_sr("DateTime")),
        None, data, alert_code=code, root=root if root is not None else el, outcome=outcome,
    )  # fmt: skip


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _outcome_item(parent: etree._Element) -> dict[str, Any] | None:
    for item in parent.iterchildren(_ra("GBCSData")):
        if item.get("name") == OUTCOME_ITEM and item.text:
            try:
                return _json_object(base64.b64decode(item.text.strip(), validate=False))
            except (binascii.Error, ValueError):
                return None
    return None


def _alert_code_of(s1: Smets1Response) -> str | None:
    """The GBCS alert code of a SMETS1 device alert (MMC ``DeviceAlertContent/GBCSHexAlertCode``)."""
    content = s1.data.get("DeviceAlertContent") if isinstance(s1.data, dict) else None
    code = content.get("GBCSHexAlertCode") if isinstance(content, dict) else None
    return f"0x{code.upper()}" if isinstance(code, str) else None


def smets1_response(signed: etree._Element) -> Smets1Response:
    """Read an ``SMETS1SignedResponse`` (its signature is checked by :func:`verify_inner`)."""
    resp = signed.find(_sr("SMETS1Response"))
    if resp is None:
        raise NotDuis("SMETS1SignedResponse without SMETS1Response")
    h = resp.find(_sr("Header"))
    b = resp.find(_sr("Body"))
    if h is None or b is None or len(b) == 0:
        raise NotDuis("SMETS1Response without Header or Body")
    kind_el = b[0]
    counter = (h.findtext(_ra("OriginatorCounter")) or "0").strip()
    payload: str | None = None
    data: Any = element_data(kind_el)
    smets = kind_el.find(_ra("SMETSData"))
    if smets is not None and len(smets):
        payload = local(smets[0])
        data = element_data(smets[0])
    elif local(kind_el) == "DeviceAlertMessage":
        payload = "DeviceAlertContent"
    return Smets1Response(
        originator=(h.findtext(_ra("BusinessOriginatorID")) or "").strip(),
        target=(h.findtext(_ra("BusinessTargetID")) or "").strip(),
        counter=int(counter) if counter.isdigit() else 0,
        kind=local(kind_el),
        payload=payload,
        data=data,
        signed=signed,
        outcome=_outcome_item(kind_el),
    )


def standalone(el: etree._Element) -> etree._Element:
    """``el`` as its own document (as the S1SP signed it before the DSP wrapped it)."""
    return etree.fromstring(etree.tostring(copy.deepcopy(el)))


def verify_inner(message: DuisMessage, trust: TrustStore) -> Verified | None:
    """Check the S1SP's signature of a SMETS1 response or S1SP alert (None when there is none to check).

    Raises :class:`~device_drivers.duis.signing.SignatureRefused` on a bad or untrusted signature."""
    if message.smets1 is not None:
        return verify(standalone(message.smets1.signed), trust)
    if message.kind == S1SP_ALERT and message.root is not None:
        el = (
            message.root
            if message.root.tag == _sr("S1SPAlert")
            else message.root.find(f".//{_sr('S1SPAlert')}")
        )
        if el is not None:
            return verify(standalone(el), trust)
    return None
