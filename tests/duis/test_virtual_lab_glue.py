"""The duis route's reading of the virtual lab's conventions (docs/virtual-lab.md, section 6): settings
from the route keys it publishes, and the S1SP's own outcome carried inside the signed payload."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from lxml import etree

from device_drivers.duis import responses
from device_drivers.duis.route import _as_response, to_alert, virtual_lab_settings

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA = "http://www.dccinterface.co.uk/ResponseAndAlert"
RID = "90-B3-D5-1F-30-01-00-01:00-1A-2B-FF-FE-00-00-02:7"


def test_settings_come_from_the_route_keys_and_route_dsp(tmp_path: Path) -> None:
    supplier = {"user_id": "90-B3-D5-1F-30-01-00-01", "roles": ["IS", "GS"],
                "cert": "users/supplier.cert.pem", "key": "users/supplier.key.pem"}  # fmt: skip
    gas = {"user_id": "90-B3-D5-1F-30-01-00-02", "roles": ["GS"], "party": "supplier",
           "cert": "users/supplier_gs.cert.pem", "key": "users/supplier_gs.key.pem"}  # fmt: skip
    index = {"s1sp_cert": "s1sp.cert.pem", "users": {"supplier": supplier, "supplier_gs": gas}}
    (tmp_path / "keys.json").write_text(json.dumps(index))
    dsp = {
        "xsd": "~/x/DUIS.xsd",
        "receive_url": "http://127.0.0.1:8080/duis",
        "s1sp_url": "virtual://lab/route/s1sp",
    }
    got = virtual_lab_settings(tmp_path, dsp)
    assert got["receive"] == "127.0.0.1:8080/duis" and not got["xsd"].startswith("~")
    assert got["users"][0]["eui"] == "90-B3-D5-1F-30-01-00-01" and got["users"][0]["role"] == ""
    # the supplier's GS User ID is listed under its party's name, so "supplier as GS" picks it
    assert (got["users"][1]["name"], got["users"][1]["roles"]) == ("supplier", ["GS"])
    assert got["dsp_certs"] == [str(tmp_path / "dsp.cert.pem")]
    assert got["s1sp_certs"] == [str(tmp_path / "s1sp.cert.pem")]
    assert got["migration"] == {"kind": "virtual", "url": "virtual://lab/route/s1sp"}
    assert "users" not in virtual_lab_settings(None, dsp)  # no keys published: the lab file must say


def _smets1(outcome: dict[str, object], alert: bool = False) -> etree._Element:
    item = base64.b64encode(json.dumps(outcome).encode()).decode()
    data = (
        f'<ra:GBCSData format="plain" sequence="0" name="dmct-s1sp-outcome" type="dlms">{item}</ra:GBCSData>'
    )
    content = "<ra:DeviceAlertContent><ra:GBCSHexAlertCode>8F66</ra:GBCSHexAlertCode></ra:DeviceAlertContent>"
    body = (f"<sr:DeviceAlertMessage>{data}{content}</sr:DeviceAlertMessage>" if alert
            else f"<sr:ResponseMessage>{data}</sr:ResponseMessage>")  # fmt: skip
    text = (
        f'<sr:Response xmlns:sr="{SR}" xmlns:ra="{RA}" schemaVersion="5.1"><sr:Header>'
        + ("" if alert else f"<sr:RequestID>{RID}</sr:RequestID>")
        + "<sr:ResponseID>00-1A-2B-FF-FE-00-00-02:90-B3-D5-1F-30-01-00-01:7</sr:ResponseID>"
        "<sr:ResponseCode>E21</sr:ResponseCode><sr:ResponseDateTime>2026-12-06T12:00:00Z</sr:ResponseDateTime>"
        "</sr:Header><sr:Body><sr:SMETS1ResponseMessage><sr:SMETS1SignedResponse schemaVersion='5.1'>"
        "<sr:SMETS1Response><sr:Header><ra:BusinessOriginatorID>00-1A-2B-FF-FE-00-00-02</ra:BusinessOriginatorID>"
        "<ra:BusinessTargetID>90-B3-D5-1F-30-01-00-01</ra:BusinessTargetID><ra:OriginatorCounter>7"
        f"</ra:OriginatorCounter></sr:Header><sr:Body>{body}</sr:Body></sr:SMETS1Response></sr:SMETS1SignedResponse>"
        "</sr:SMETS1ResponseMessage></sr:Body></sr:Response>"
    )
    return etree.fromstring(text.encode())


def test_the_s1sp_outcome_is_the_packs_message() -> None:
    outcome: dict[str, object] = {"code": "E14", "text": "device is Suspended", "result": None, "final": True}
    m = responses.parse(_smets1(outcome))
    assert m.outcome == outcome
    answer = _as_response(m, RID)
    assert (answer["code"], answer["text"], answer["duis_code"], answer["id"]) == (
        "E14",
        "device is Suspended",
        "E21",
        RID,
    )


def test_without_an_outcome_the_duis_code_is_mapped() -> None:
    m = responses.parse(_smets1({"no": "code"}))
    assert _as_response(m, RID)["code"] == "E14"  # DUIS E21 (codes.py)


def test_an_alert_outcome_is_the_packs_alert() -> None:
    outcome: dict[str, object] = {
        "alert_id": 12, "kind": "device", "code": "0x8F66", "name": "Supply Disabled",
        "device": "00-1A-2B-FF-FE-00-00-02", "rig": "rig-1", "at": "2026-12-06T12:00:00+00:00",
        "details": {"reason": "test"}, "request_id": RID,
    }  # fmt: skip
    m = responses.parse(_smets1(outcome, alert=True))
    assert m.kind == responses.DEVICE_ALERT and m.alert_code == "0x8F66"
    alert = to_alert(m, 99)
    assert (alert.alert_id, alert.kind, alert.code, alert.rig, alert.request_id) == (
        12,
        "device",
        "0x8F66",
        "rig-1",
        RID,
    )
    assert alert.details == {"reason": "test"}


def test_a_role_the_user_id_does_not_hold_is_not_asked_for() -> None:
    from device_drivers.duis.route import User

    supplier = User("supplier", "", "90-B3-D5-1F-30-01-00-01", None, None, ("IS", "GS"))
    assert supplier.holds("IS") and supplier.holds("GS") and supplier.holds(None)
    assert not supplier.holds("ED")  # DUIS has no role field: this User ID cannot act as a DNO
    assert User("dno", "ED", "90-B3-D5-1F-30-02-00-01", None, None).holds("ED")
    assert User("any", "", "90-B3-D5-1F-30-03-00-01", None, None).holds("GT")  # the lab said nothing
