"""One parameter set per SRV, as the packs send them (test_packs/service_reference_variant), plus the
fields the duis route fills in itself (log periods, the clock, the other device of a join)."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

PERIOD = {"from": "2026-12-01T00:00:00+00:00", "to": "2026-12-06T00:00:00+00:00"}
ESME = "00-1A-2B-FF-FE-00-00-02"
GSME = "00-1A-2B-FF-FE-00-00-03"
CH = "00-1A-2B-FF-FE-00-00-01"
IHD = "00-1A-2B-FF-FE-00-00-04"


def cert_params(cert: x509.Certificate) -> dict[str, Any]:
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return {"certificate": der, "certification_path": [der]}


#: SRV -> (target, fuel, params). Fuel "gas" targets the GSME branch of a body.
CASES: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "1.1.1": [
        (
            ESME,
            "electricity",
            {
                "rates": 2,
                "prices": [24.5, 12.25],
                "standing_charge": 45.0,
                "switches": [{"at": "00:00", "rate": 1}, {"at": "07:00", "rate": 2}],
            },
        ),
        (GSME, "gas", {"rates": 1, "prices": [6.5], "standing_charge": 28.0}),
        (  # switching by day: a day profile per rate, the week naming one per weekday
            GSME,
            "gas",
            {"rates": 4, "prices": [10.0, 17.5, 25.0, 32.5], "days": [1, 2, 3, 4, 1, 2, 3]},
        ),
        (
            ESME,
            "electricity",
            {
                "rates": 1,
                "prices": [24.5],
                "standing_charge": 45.0,
                "block_thresholds": [0.404, 1.476, 2.128],
                "block_prices": [59.47, 49.14, 39.57, 20.11],
            },
        ),
        (
            GSME,
            "gas",
            {
                "rates": 1,
                "prices": [68.725],
                "standing_charge": 28.0,
                "block_thresholds": [1.683, 4.69],
                "block_prices": [68.725, 50.441, 37.031],
            },
        ),
    ],
    "1.2.1": [
        (ESME, "electricity", {"prices": [25.0, 13.0], "standing_charge": 45.0}),
        (GSME, "gas", {"prices": [7.0]}),
    ],
    "1.5": [(ESME, "electricity", {"delta": 500.0}), (GSME, "gas", {"delta": -80.5})],
    "1.6": [(ESME, "electricity", {"mode": "prepayment"}), (GSME, "gas", {"mode": "credit"})],
    "2.1": [
        (ESME, "electricity", {"low_credit_threshold": 250.0}),
        (GSME, "gas", {"low_credit_threshold": 300.0, "emergency_credit_limit": 500.0}),
    ],
    "2.2": [(ESME, "electricity", {"utrn": "73476234234234234234"})],
    "2.3": [
        (ESME, "electricity", {"debts": [{"name": "time_debt_1", "amount": 1234.0, "rate": 17.0}]}),
        (GSME, "gas", {"debts": [{"name": "payment_debt", "amount": 10.0, "rate": 1.0}]}),
    ],
    "2.5": [(ESME, "electricity", {})],
    "3.1": [(ESME, "electricity", {"text": "DMCT TEST MESSAGE 42"})],
    "3.2": [(ESME, "electricity", {"from_date": "2026-11-01T00:00:00+00:00"})],
    "3.4": [(GSME, "gas", {"name": "DMCT ENERGY"})],
    "4.1.1": [(ESME, "electricity", {})],
    "4.1.2": [(ESME, "electricity", {})],
    "4.3": [(GSME, "gas", {})],
    "4.4.2": [(ESME, "electricity", dict(PERIOD))],
    "4.6.1": [(ESME, "electricity", dict(PERIOD))],
    "4.8.1": [(GSME, "gas", dict(PERIOD))],
    "4.11.1": [(ESME, "electricity", {})],
    "4.13": [(ESME, "electricity", {})],
    "4.18": [(GSME, "gas", {})],
    "5.1": [(ESME, "electricity", {"srv": "4.6.1", "start": "2026-12-07T01:30:00+00:00", "period_s": 86400})],
    "5.2": [(ESME, "electricity", {"schedule_id": "42"}), (ESME, "electricity", {})],
    "5.3": [(ESME, "electricity", {"schedule_id": "42"})],
    "6.2.1": [(ESME, "electricity", {})],
    "6.2.2": [(ESME, "electricity", {})],
    "6.2.3": [(ESME, "electricity", {})],
    "6.2.4": [(ESME, "electricity", {})],
    "6.2.5": [(ESME, "electricity", {})],
    "6.2.7": [(ESME, "electricity", {})],
    "6.2.8": [(GSME, "gas", {})],
    "6.2.9": [(ESME, "electricity", {})],
    "6.2.10": [(ESME, "electricity", {})],
    "6.4.1": [(ESME, "electricity", {"threshold_w": 1000.0, "period_s": 60.0})],
    "6.4.2": [(ESME, "electricity", {})],
    "6.8": [
        (ESME, "electricity", {"billing_time": "00:00:00", "period": "weekly", "day": 1}),
        (GSME, "gas", {"start": "2099-01-01T00:00:00+00:00", "period": "monthly"}),
    ],
    "6.11": [(ESME, "electricity", {"now": "2026-12-06T23:00:00+00:00"})],
    "6.13": [(ESME, "electricity", {"log": "security", **PERIOD}), (GSME, "gas", {"log": "event", **PERIOD})],
    "6.15.1": [(ESME, "electricity", {"credential_roles": ["supplier"]})],  # + cert_params
    "6.15.2": [(ESME, "electricity", {})],  # + the certificate of cert_params (not SMETS1: refused, E13)
    "6.20.1": [(ESME, "electricity", {"mpxn": "1234567890123"}), (GSME, "gas", {"mpxn": "123456789"})],
    "6.22": [
        (ESME, "electricity", {"alerts": [{"code": "0x8119", "send": False}]}),
        (GSME, "gas", {"alerts": [{"code": "0x810D", "send": True}]}),
    ],
    "6.23": [(ESME, "electricity", {"mpxn": "1234567890123"})],  # + cert_params; new_supplier: the route
    "6.24.1": [(ESME, "electricity", {"credential_role": "network_operator"})],
    "6.25": [(ESME, "electricity", {"state": "locked"})],
    "7.1": [(ESME, "electricity", {})],
    "7.2": [(ESME, "electricity", {})],
    "7.3": [(ESME, "electricity", {})],
    "7.4": [(ESME, "electricity", {})],
    "8.2": [(IHD, "electricity", {})],
    "8.3": [(IHD, "electricity", {})],
    "8.4": [
        (ESME, "electricity", {"status": "InstalledNotCommissioned"}),
        (ESME, "electricity", {"mpxn": "1234567890123"}),
    ],
    "8.7.2": [(ESME, "electricity", {"other": CH})],
    "8.8.2": [(ESME, "electricity", {"other": CH})],
    "8.9": [(CH, "electricity", {})],
    "8.11": [(CH, "electricity", {"add": {IHD: "ihd"}}), (CH, "electricity", {"remove": [IHD]})],
    "11.1": [(CH, "electricity", {"version": "2.1.1", "image_model": "VCH-100"})],
    "11.2": [(CH, "electricity", {})],
    "11.3": [(CH, "electricity", {"version": "2.1.1", "image_model": "VCH-100"})],
}
#: SRVs whose DUIS body carries certificates: the test adds :func:`cert_params` of a real certificate.
NEEDS_CERTIFICATES = {"6.15.1", "6.23"}
#: SRVs whose DUIS body carries one certificate (``certificate`` of :func:`cert_params` only).
NEEDS_CERTIFICATE = {"6.15.2"}
#: Future-dated variants exercised (SRV -> fuel of the case).
FUTURE_DATED = ["1.1.1", "1.2.1", "3.1", "4.1.1", "4.6.1", "6.4.1", "8.11", "11.3"]
