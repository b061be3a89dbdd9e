"""DUIS responses and alerts the virtual DSP sends, built from the XSD's ``sr:Response``.

* synchronous answers (HTTP response body, unsigned, as DCC Boxed answers): the acknowledgement
  ``I99``, an error code, or a non-device SRV's ``I0``;
* asynchronous responses to a SMETS1 device's request: ``SMETS1ResponseMessage`` carrying an
  S1SP-signed ``SMETS1SignedResponse`` (MMC ``ra:Header`` and ``ra:ResponsePayload``), the whole
  message signed by the DSP;
* Device Alerts from SMETS1 devices: ``SMETS1ResponseMessage`` whose inner body is a
  ``DeviceAlertMessage`` (``DeviceAlertContent``: the GBCS hex alert code, its name, the time);
* DCC Alerts and S1SP alerts: ``DCCAlertMessage`` with the alert's N-code and an ``S1SPAlertDSP``.

The virtual S1SP's full outcome of a request (per-Instruction outcomes, the result values, the route
code and text) travels in the inner payload as one ``ra:GBCSData`` item, ``name="dmct-s1sp-outcome"``,
``type="dlms"``, ``format="plain"``: base64 of the outcome's canonical JSON. This is the virtual lab's
own convention (the MMC ``SMETSData`` response types are not produced), documented in
docs/virtual-lab.md so a harness-side reader can rely on it; it is covered by the S1SP's signature.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from lxml import etree

from .xmlsig import RA, SR

SCHEMA_VERSION = "5.1"
OUTCOME_NAME = "dmct-s1sp-outcome"
NSMAP = {"sr": SR, "ra": RA}


def _sr(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{SR}}}{name}")
    if text is not None:
        el.text = text
    return el


def _ra(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{RA}}}{name}")
    if text is not None:
        el.text = text
    return el


def stamp(at: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as DCC Boxed writes it."""
    return at.astimezone().strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}" + _offset(at)


def _offset(at: datetime) -> str:
    off = at.astimezone().strftime("%z")
    return "Z" if off in ("+0000", "") else f"{off[:3]}:{off[3:]}"


def service_reference(srv: str) -> str:
    """The ServiceReference of a variant: ``4.1.1`` -> ``4.1``, ``1.5`` -> ``1.5``."""
    parts = srv.split(".")
    return ".".join(parts[:2])


def _envelope(code: str, at: datetime, request_id: str | None, response_id: str | None) -> etree._Element:
    root = etree.Element(f"{{{SR}}}Response", nsmap=NSMAP)
    root.set("schemaVersion", SCHEMA_VERSION)
    header = _sr(root, "Header")
    if request_id is not None:
        _sr(header, "RequestID", request_id)
    if response_id is not None:
        _sr(header, "ResponseID", response_id)
    _sr(header, "ResponseCode", code)
    _sr(header, "ResponseDateTime", stamp(at))
    return root


def synchronous(code: str, at: datetime, request_id: str | None, srv: str | None) -> etree._Element:
    """An acknowledgement or error (unsigned). Without a known SRV the body names none — DUIS needs
    one, so such an answer uses ``8.2`` (Read Inventory) as a placeholder: only the code counts."""
    root = _envelope(code, at, request_id, None)
    message = _sr(_sr(root, "Body"), "ResponseMessage")
    variant = srv or "8.2"
    _sr(message, "ServiceReference", service_reference(variant))
    _sr(message, "ServiceReferenceVariant", variant)
    return root


def outcome_payload(outcome: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(outcome, sort_keys=True, separators=(",", ":")).encode()).decode()


def _gbcs_data(parent: etree._Element, outcome: dict[str, Any]) -> None:
    item = _ra(parent, "GBCSData", outcome_payload(outcome))
    item.set("format", "plain")
    item.set("sequence", "0")
    item.set("name", OUTCOME_NAME)
    item.set("type", "dlms")


def _inner_header(
    parent: etree._Element, originator: str, target: str, counter: int, srv: str | None, at: datetime
) -> None:
    header = _sr(parent, "Header")  # local to the DUIS schema (sr), of the MMC's type (ra children)
    _ra(header, "BusinessOriginatorID", originator)
    _ra(header, "BusinessTargetID", target)
    _ra(header, "OriginatorCounter", str(counter))
    if srv is not None:
        _ra(header, "ServiceReference", service_reference(srv))
        _ra(header, "ServiceReferenceVariant", srv)
    _ra(header, "Timestamp", stamp(at))


def smets1_inner(
    *,
    device: str,
    user: str,
    counter: int,
    srv: str | None,
    at: datetime,
    outcome: dict[str, Any],
    alert: tuple[str, str] | None = None,
) -> etree._Element:
    """The ``SMETS1SignedResponse`` (unsigned yet): the S1SP signs it as a document of its own."""
    signed = etree.Element(f"{{{SR}}}SMETS1SignedResponse", nsmap=NSMAP)
    signed.set("schemaVersion", SCHEMA_VERSION)
    response = _sr(signed, "SMETS1Response")
    _inner_header(response, device, user, counter, srv, at)
    body = _sr(response, "Body")
    if alert is None:
        _gbcs_data(_sr(body, "ResponseMessage"), outcome)
    else:
        message = _sr(body, "DeviceAlertMessage")
        _gbcs_data(message, outcome)
        content = _ra(message, "DeviceAlertContent")
        _ra(content, "GBCSHexAlertCode", alert[0])
        _ra(content, "AlertDescription", alert[1][:250])
        _ra(content, "Timestamp", stamp(at))
    return signed


def smets1_response(
    code: str,
    at: datetime,
    *,
    request_id: str | None,
    response_id: str,
    srv: str | None,
    inner_signed: etree._Element,
    schedule_id: int | None = None,
) -> etree._Element:
    """The outer ``Response`` around an S1SP-signed inner response (the DSP signs it afterwards)."""
    root = _envelope(code, at, request_id, response_id)
    message = _sr(_sr(root, "Body"), "SMETS1ResponseMessage")
    if srv is not None:
        _sr(message, "ServiceReference", service_reference(srv))
        _sr(message, "ServiceReferenceVariant", srv)
    if schedule_id is not None:
        _sr(message, "DSPScheduleID", str(schedule_id))
    message.append(inner_signed)
    return root


#: DCC alert codes the XSD allows (``DCCAlertCode``).
DCC_ALERT_CODES = frozenset({"AD1", *(f"N{n}" for n in range(1, 66) if n != 32), "N999"})


def s1sp_alert(
    at: datetime,
    *,
    request_id: str | None,
    device: str | None,
    alert_code: str,
    details: dict[str, Any],
    utrn: str | None = None,
) -> etree._Element:
    """The ``S1SPAlert`` (unsigned yet; the S1SP signs it as a document of its own): the request and
    device it concerns, the virtual S1SP's alert code and its details (JSON, AdditionalInformation)."""
    alert = etree.Element(f"{{{SR}}}S1SPAlert", nsmap=NSMAP)
    alert.set("schemaVersion", SCHEMA_VERSION)
    if request_id is not None:
        _sr(alert, "RequestID", request_id)
    if device is not None:
        _sr(alert, "DeviceID", device)
    _sr(alert, "S1SPAlertCode", alert_code)
    _sr(alert, "AdditionalInformation", json.dumps(details, sort_keys=True, separators=(",", ":")))
    if utrn is not None:
        _sr(alert, "UTRN", utrn)
    _sr(alert, "DateTime", stamp(at))
    return alert


def dcc_alert(
    dcc_code: str, at: datetime, *, response_id: str, inner_signed: etree._Element
) -> etree._Element:
    """A DCC Alert: ``DCCAlertCode`` and an ``S1SPAlertDSP`` around the S1SP-signed ``S1SPAlert``
    (the DSP signs the whole afterwards)."""
    root = _envelope("I0", at, None, response_id)
    message = _sr(_sr(root, "Body"), "DCCAlertMessage")
    _sr(message, "DCCAlertCode", dcc_code)
    _sr(_sr(message, "DCCAlert"), "S1SPAlertDSP").append(inner_signed)
    return root
