"""The virtual DSP's findings from running the packs over DUIS (docs/protocols/duis.md, "Causes"):
Command Variant 8 for non-device SRVs, money in pence, SRV 4.4.2's body, 8.11's device type.

Pure translation tests need only the XSD (lxml); one end-to-end check signs with the DCC Boxed tool.
"""

from __future__ import annotations

from typing import Any

import pytest

from labs.virtual.dsp.translate import DuisRequest, TranslationError, translate
from labs.virtual.dsp.xmlsig import Schema, parse

from .conftest import CH, ESME, GSME, DspLab, DuisTool
from .test_dsp_conformance import code_of, outcome_of, request, responses_to


@pytest.fixture(scope="module")
def schema(duis_tool: DuisTool) -> Schema:
    return Schema(duis_tool.xsd)


def _translate(schema: Schema, srv: str, body: str, **kw: Any) -> DuisRequest:
    root = parse(request(srv, body, **kw).encode())
    schema.check(root)
    return translate(root)


READ_INVENTORY = f"<sr:ReadInventory><sr:DeviceID>{ESME}</sr:DeviceID></sr:ReadInventory>"


def test_non_device_srv_takes_command_variant_8_and_only_it(schema: Schema) -> None:
    """DUIS: a DCC-only request (8.2 Read Inventory) is Command Variant 8 on serviceD."""
    req = _translate(schema, "8.2", READ_INVENTORY, variant=8)
    assert req.command_variant == 8 and req.device == ESME
    with pytest.raises(TranslationError) as wrong:
        _translate(schema, "8.2", READ_INVENTORY, variant=1)
    assert wrong.value.code == "E2"
    with pytest.raises(TranslationError) as device_srv:  # a device SRV does not take CV 8
        _translate(schema, "7.4", "<sr:ReadSupplyStatus/>", variant=8)
    assert device_srv.value.code == "E2"


def test_read_inventory_with_variant_8_is_answered_by_the_dsp(dsp_lab: DspLab, duis_tool: DuisTool) -> None:
    signed = duis_tool.sign(request("8.2", READ_INVENTORY, counter=8201, variant=8))
    status, answer = dsp_lab.post(signed, endpoint="serviceD")
    assert (status, code_of(answer)) == (200, "I99")
    posts = dsp_lab.receiver.wait_for(lambda p: bool(responses_to(p, 8201)))
    outcome = outcome_of(responses_to(posts, 8201)[0])
    assert outcome["code"] == "I0"
    result = outcome["result"]
    assert isinstance(result, dict) and result["device_id"] == ESME and result["device_type"] == "ESME"


GAS_PRICES = (
    "<sr:UpdatePricePrimaryElement><sr:PriceElements><sr:GasPriceElements>"
    "<sr:CurrencyUnits>GBP</sr:CurrencyUnits><sr:StandingCharge>25000</sr:StandingCharge>"
    '<sr:TOUTariff><sr:TOUPrice index="1">6500</sr:TOUPrice></sr:TOUTariff>'
    "</sr:GasPriceElements></sr:PriceElements></sr:UpdatePricePrimaryElement>"
)


def test_amounts_are_pence_prices_scaled_from_gbp(schema: Schema) -> None:
    """The packs and the S1SP count pence: an unscaled DUIS amount is pence, unchanged; an electricity
    price is value x 10^PriceScale GBP; a gas price (no scale in DUIS) thousandths of a penny."""
    balance = _translate(
        schema, "1.5",
        "<sr:UpdateMeterBalance><sr:PrepaymentMode><sr:AdjustMeterBalance>-250</sr:AdjustMeterBalance>"
        "</sr:PrepaymentMode></sr:UpdateMeterBalance>",
    )  # fmt: skip
    assert balance.params == {"delta": -250.0}
    elec = _translate(
        schema, "1.2.1",
        "<sr:UpdatePricePrimaryElement><sr:PriceElements><sr:ElectricityPriceElements>"
        "<sr:StandingCharge>45</sr:StandingCharge><sr:StandingChargeScale>-2</sr:StandingChargeScale>"
        '<sr:PriceScale>-4</sr:PriceScale><sr:TOUTariff><sr:TOUPrice index="1">2750</sr:TOUPrice>'
        "</sr:TOUTariff></sr:ElectricityPriceElements></sr:PriceElements></sr:UpdatePricePrimaryElement>",
    )  # fmt: skip
    assert elec.params == {"standing_charge": 45.0, "prices": [27.5]}  # 0.45 GBP, 0.275 GBP
    gas = _translate(schema, "1.2.1", GAS_PRICES, device=GSME)
    assert gas.params == {"standing_charge": 25.0, "prices": [6.5]}


def test_4_4_2_is_the_change_of_mode_or_tariff_billing_log(schema: Schema) -> None:
    period = (
        "<sr:ReadLogPeriod><sr:StartDateTime>2026-01-01T00:00:00Z</sr:StartDateTime>"
        "<sr:EndDateTime>2026-01-02T00:00:00Z</sr:EndDateTime></sr:ReadLogPeriod>"
        "<sr:KAPublicSecurityCredentials>MIIB</sr:KAPublicSecurityCredentials>"
    )
    req = _translate(
        schema, "4.4.2",
        f"<sr:RetrieveCoMOrTariffTriggeredBillingDataLog>{period}</sr:RetrieveCoMOrTariffTriggeredBillingDataLog>",
    )  # fmt: skip
    assert req.body == "RetrieveCoMOrTariffTriggeredBillingDataLog"
    with pytest.raises(TranslationError) as wrong:  # 4.4.3's body under 4.4.2
        _translate(
            schema, "4.4.2",
            "<sr:RetrieveBillingCalendarTriggeredBillingDataLog>"
            f"{period}</sr:RetrieveBillingCalendarTriggeredBillingDataLog>",
        )  # fmt: skip
    assert wrong.value.code == "E1"


def test_8_11_adds_a_device_with_the_type_the_inventory_gives(schema: Schema, dsp_lab: DspLab) -> None:
    body = (
        "<sr:UpdateHANDeviceLog><sr:DeviceID>{}</sr:DeviceID><sr:RequestType>Add</sr:RequestType>"
        "<sr:AddDeviceToCHFWhitelist><sr:JoinTimePeriod>3600</sr:JoinTimePeriod>"
        "<sr:InstallCode>000000000000000000000000000000</sr:InstallCode></sr:AddDeviceToCHFWhitelist>"
        "</sr:UpdateHANDeviceLog>"
    )
    for device, role in ((GSME, "gsme"), (ESME, "esme"), ("00-1A-2B-FF-FE-00-99-99", "other")):
        root = parse(request("8.11", body.format(device), device=CH).encode())
        schema.check(root)
        assert translate(root, dsp_lab.dsp.device_type).params == {"add": {device: role}}
