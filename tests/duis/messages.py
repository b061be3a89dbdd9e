# ruff: noqa: E501 - XML templates read best unbroken
"""DUIS messages as a DSP sends them (unsigned, compact), for the tests to sign and post.

Shapes from the DUIS XSD (``sr:Response``) and the MMC XSD (``ra:`` payload of a SMETS1 response);
DCC Boxed's own sample (``message.xml`` in its tool) has the same header."""

from __future__ import annotations

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
AT = "2026-12-06T12:00:00Z"


def _response(request_id: str | None, response_id: str, code: str, body: str) -> str:
    rid = f"<sr:RequestID>{request_id}</sr:RequestID>" if request_id else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:Response xmlns:sr="{SR}" xmlns:ra="{RA}" schemaVersion="5.1">'
        f"<sr:Header>{rid}<sr:ResponseID>{response_id}</sr:ResponseID><sr:ResponseCode>{code}</sr:ResponseCode>"
        f"<sr:ResponseDateTime>{AT}</sr:ResponseDateTime></sr:Header><sr:Body>{body}</sr:Body></sr:Response>"
    )


def _swap(request_id: str) -> str:
    user, device, counter = request_id.split(":")
    return f"{device}:{user}:{counter}"


def acknowledgement(request_id: str, srv: str = "7.2") -> str:
    """I99: the DSP took the request; the result follows asynchronously."""
    ref = ".".join(srv.split(".")[:2])
    body = (f"<sr:ResponseMessage><sr:ServiceReference>{ref}</sr:ServiceReference>"
            f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant></sr:ResponseMessage>")  # fmt: skip
    return _response(request_id, _swap(request_id), "I99", body)


def error(request_id: str, code: str = "E3", srv: str = "7.2") -> str:
    ref = ".".join(srv.split(".")[:2])
    body = (f"<sr:ResponseMessage><sr:ServiceReference>{ref}</sr:ServiceReference>"
            f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant></sr:ResponseMessage>")  # fmt: skip
    return _response(request_id, _swap(request_id), code, body)


def gbcs_response(request_id: str, srv: str = "11.2") -> str:
    ref = ".".join(srv.split(".")[:2])
    body = (f"<sr:ResponseMessage><sr:ServiceReference>{ref}</sr:ServiceReference>"
            f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>"
            "<sr:GBCSPayload>3QAAAAAAAEURAAAAAN8JAgAAAYFtXW0E</sr:GBCSPayload></sr:ResponseMessage>")  # fmt: skip
    return _response(request_id, _swap(request_id), "I0", body)


def smets1_signed_response(request_id: str, supply: str = "Disabled") -> str:
    """The S1SP's ``SMETS1SignedResponse`` (its own document, signed by the S1SP) for SRV 7.4."""
    user, device, counter = request_id.split(":")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:SMETS1SignedResponse xmlns:sr="{SR}" xmlns:ra="{RA}" '
        'schemaVersion="5.1"><sr:SMETS1Response><sr:Header>'
        f"<ra:BusinessOriginatorID>{device}</ra:BusinessOriginatorID><ra:BusinessTargetID>{user}</ra:BusinessTargetID>"
        f"<ra:OriginatorCounter>{counter}</ra:OriginatorCounter></sr:Header><sr:Body><sr:ResponseMessage>"
        f"<ra:SMETSData><ra:ReadSupplyStatusRsp><ra:SupplyState>{supply}</ra:SupplyState></ra:ReadSupplyStatusRsp>"
        "</ra:SMETSData></sr:ResponseMessage></sr:Body></sr:SMETS1Response></sr:SMETS1SignedResponse>"
    )


def smets1_response(request_id: str, signed_inner: str, srv: str = "7.4") -> str:
    """A DSP ``SMETS1ResponseMessage`` wrapping the S1SP-signed response (XML declaration dropped)."""
    inner = signed_inner.split("?>", 1)[1] if signed_inner.startswith("<?xml") else signed_inner
    ref = ".".join(srv.split(".")[:2])
    body = (f"<sr:SMETS1ResponseMessage><sr:ServiceReference>{ref}</sr:ServiceReference>"
            f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>{inner}</sr:SMETS1ResponseMessage>")  # fmt: skip
    return _response(request_id, _swap(request_id), "I0", body)


def device_alert(device: str, user: str, counter: int, code: str = "8F66") -> str:
    body = (f"<sr:DeviceAlertMessage><sr:AlertCode>{code}</sr:AlertCode>"
            "<sr:GBCSPayload>3QAAAAAAAEURAAAAAN8J</sr:GBCSPayload></sr:DeviceAlertMessage>")  # fmt: skip
    return _response(None, f"{device}:{user}:{counter}", "I0", body)


def dcc_alert(request_id: str, dsp: str, code: str = "N24") -> str:
    user = request_id.split(":")[0]
    body = (f"<sr:DCCAlertMessage><sr:DCCAlertCode>{code}</sr:DCCAlertCode><sr:DCCAlert>"
            f"<sr:UpdateHANDeviceLogResult><sr:UpdateHANDeviceLogServiceRequestID>{request_id}"
            "</sr:UpdateHANDeviceLogServiceRequestID></sr:UpdateHANDeviceLogResult></sr:DCCAlert></sr:DCCAlertMessage>")  # fmt: skip
    return _response(request_id, f"{dsp}:{user}:1", "I0", body)
