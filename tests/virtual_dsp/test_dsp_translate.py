"""Every SMETS1 SRV of the virtual S1SP: a schema-valid DUIS body is read into params the S1SP's own
model accepts (and, where given, exactly the expected ones). Fast: lxml only, no JVM."""

from __future__ import annotations

import pytest

from labs.virtual.dsp.translate import BODIES, TranslationError, translate
from labs.virtual.dsp.xmlsig import Schema, parse
from labs.virtual.s1sp import executors as X
from labs.virtual.s1sp import load_srv_catalogue

from .conftest import ESME, SUPPLIER, DuisTool
from .samples import SAMPLES
from .test_dsp_conformance import request


@pytest.fixture(scope="module")
def schema(duis_tool: DuisTool) -> Schema:
    return Schema(duis_tool.xsd)


def test_every_smets1_srv_of_the_s1sp_has_a_duis_body() -> None:
    assert sorted(BODIES) == sorted(load_srv_catalogue().applicable())
    assert set(X.EXECUTORS) == set(BODIES)


def _srv_order(srv: object) -> tuple[int, ...]:
    return tuple(int(p) for p in str(srv).split("."))


@pytest.mark.parametrize("srv", sorted(BODIES, key=_srv_order))
def test_body_is_schema_valid_and_read_into_params_the_s1sp_accepts(srv: str, schema: Schema) -> None:
    name, _ = BODIES[srv]
    body, expected = SAMPLES.get(srv, (f"<sr:{name}/>", {}))
    root = parse(request(srv, body, counter=1).encode())
    schema.check(root)  # the sample is DUIS as the XSD defines it
    req = translate(root)
    assert (req.srv, req.body, req.originator, req.counter) == (srv, name, SUPPLIER, 1)
    X.EXECUTORS[srv][0].model_validate(req.params)  # the S1SP's own parameter model accepts them
    if expected is not None:
        assert req.params == expected
    assert req.device == ESME


def test_execution_date_is_the_future_date_and_a_wrong_body_is_refused(schema: Schema) -> None:
    body = (
        "<sr:ReadFirmwareVersion><sr:ExecutionDateTime>2026-02-01T10:00:00Z</sr:ExecutionDateTime>"
        "</sr:ReadFirmwareVersion>"
    )
    root = parse(request("11.2", body).encode())
    schema.check(root)
    assert translate(root).future_date == "2026-02-01T10:00:00+00:00"
    wrong = parse(request("11.2", "<sr:ReadSupplyStatus/>").encode())
    schema.check(wrong)
    with pytest.raises(TranslationError, match="takes a ReadFirmwareVersion body") as exc:
        translate(wrong)
    assert exc.value.code == "E1"


def test_firmware_image_header_names_the_model_it_is_built_for(schema: Schema) -> None:
    """11.1: the model named in the image's header goes to the S1SP (a device of another model refuses
    the image at verification); an image without the virtual lab's header names none."""
    import base64

    def update(image: bytes) -> dict[str, object]:
        body = (
            f"<sr:UpdateFirmware><sr:FirmwareImage>{base64.b64encode(image).decode()}</sr:FirmwareImage>"
            f"<sr:FirmwareVersion>1.4.2-o</sr:FirmwareVersion><sr:DeviceIDList>{ESME}</sr:DeviceIDList>"
            "</sr:UpdateFirmware>"
        )
        root = parse(request("11.1", body, counter=1, variant=8).encode())
        schema.check(root)
        return translate(root).params

    assert update(b"DMCT-FIRMWARE model=NOT-THIS-MODEL version=1.4.2-o") == {
        "version": "1.4.2-o",
        "image_model": "NOT-THIS-MODEL",
    }
    assert update(b"DMCT-FIRMWARE model= version=1.4.2-o") == {"version": "1.4.2-o"}
    assert update(b"\x00\x01 a vendor's image") == {"version": "1.4.2-o"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("<sr:Daily/>", {"period": "daily"}),
        ("<sr:Weekly>3</sr:Weekly>", {"period": "weekly", "day": 3}),
        ("<sr:Monthly>21</sr:Monthly>", {"period": "monthly", "day": 21}),
    ],
)
def test_electricity_billing_calendar_passes_time_period_and_day_through(
    choice: str, expected: dict[str, object], schema: Schema
) -> None:
    """DUIS's ElectricityBillingCalendar has no start date: the DSP passes the billing time, period and
    day to the S1SP (whose meter takes the next occurrence by its own clock), never a start of its own."""
    body = (
        "<sr:UpdateDeviceConfigurationBillingCalendar><sr:ElectricityBillingCalendar>"
        f"<sr:BillingTime>06:30:00</sr:BillingTime>{choice}"
        "</sr:ElectricityBillingCalendar></sr:UpdateDeviceConfigurationBillingCalendar>"
    )
    root = parse(request("6.8", body).encode())
    schema.check(root)
    params = translate(root).params
    assert params == {"billing_time": "06:30:00", **expected}
    X.EXECUTORS["6.8"][0].model_validate(params)


GAS_BLOCK_TARIFF = (
    "<sr:UpdateImportTariffPrimaryElement><sr:GasTariffElements><sr:SwitchingTable><sr:DayProfiles>"
    "<sr:DayProfile><sr:DayName>1</sr:DayName><sr:BlockTariff/></sr:DayProfile></sr:DayProfiles>"
    "<sr:WeekProfiles><sr:WeekProfile><sr:WeekName>1</sr:WeekName>"
    + "".join(f'<sr:ReferencedDayName index="{i}">1</sr:ReferencedDayName>' for i in range(1, 8))
    + "</sr:WeekProfile></sr:WeekProfiles><sr:Seasons><sr:Season><sr:SeasonStartDate>"
    "<sr:GasYearWithWildcards><sr:NonSpecifiedYear/></sr:GasYearWithWildcards>"
    "<sr:GasMonthWithWildcards><sr:NonSpecifiedMonth/></sr:GasMonthWithWildcards>"
    "<sr:GasDayOfMonthWithWildcards><sr:GasNonSpecifiedDayOfMonth/></sr:GasDayOfMonthWithWildcards>"
    "<sr:GasDayOfWeekWithWildcards><sr:NonSpecifiedDayOfWeek/></sr:GasDayOfWeekWithWildcards>"
    "</sr:SeasonStartDate><sr:ReferencedWeekName>1</sr:ReferencedWeekName></sr:Season></sr:Seasons>"
    "</sr:SwitchingTable><sr:SpecialDays/><sr:ThresholdMatrix>"
    '<sr:BlockThreshold index="1">2000</sr:BlockThreshold>'
    '<sr:BlockThreshold index="2">5500</sr:BlockThreshold></sr:ThresholdMatrix></sr:GasTariffElements>'
    "<sr:PriceElements><sr:GasPriceElements><sr:CurrencyUnits>GBP</sr:CurrencyUnits>"
    "<sr:StandingCharge>28000</sr:StandingCharge><sr:BlockTariff>"
    '<sr:BlockPrice index="1">9000</sr:BlockPrice>'
    '<sr:BlockPrice index="2">7500</sr:BlockPrice><sr:BlockPrice index="3">6125</sr:BlockPrice>'
    "<sr:NumberOfThresholds>2</sr:NumberOfThresholds></sr:BlockTariff></sr:GasPriceElements></sr:PriceElements>"
    "</sr:UpdateImportTariffPrimaryElement>"
)


def test_a_gas_block_tariff_is_one_rate_at_the_block_prices(schema: Schema) -> None:
    """1.1.1 gas block tariff (day ``BlockTariff``, ``GasPriceElements/BlockTariff``): no TOU prices in
    DUIS, so the S1SP's meter gets one rate at block 1's price, the block prices (thousandths of a penny)
    and as many thresholds (Wh) as ``NumberOfThresholds``."""
    root = parse(request("1.1.1", GAS_BLOCK_TARIFF, counter=1).encode())
    schema.check(root)
    params = translate(root).params
    X.EXECUTORS["1.1.1"][0].model_validate(params)
    assert params == {
        "standing_charge": 28.0,
        "prices": [9.0],
        "rates": 1,
        "block_prices": [9.0, 7.5, 6.125],
        "block_thresholds": [2.0, 5.5],
    }


def test_a_hybrid_tariff_is_the_s1sp_block_tariff(schema: Schema) -> None:
    """1.1.1 with an electricity block tariff: ``HybridTariff`` (block tariff 1's prices beside the TOU
    prices) and threshold set 1 in Wh become the S1SP's ``block_prices`` (pence) and
    ``block_thresholds`` (kWh); the TOU switches and prices stay as they are."""
    body, plain = SAMPLES["1.1.1"]
    assert plain is not None
    rows = "".join(
        f'<sr:Thresholds index="{i}"><sr:BlockThreshold index="1">1500</sr:BlockThreshold>'
        f'<sr:BlockThreshold index="2">4250</sr:BlockThreshold>'
        f'<sr:BlockThreshold index="3">7001</sr:BlockThreshold></sr:Thresholds>'
        for i in range(1, 9)
    )
    start, end = body.index("<sr:ThresholdMatrix>"), body.index("</sr:ThresholdMatrix>")
    body = body[: start + len("<sr:ThresholdMatrix>")] + rows + body[end:]
    hybrid = (
        '<sr:HybridTariff><sr:BlockPrices index="1"><sr:BlockPrice index="1">30000</sr:BlockPrice>'
        '<sr:BlockPrice index="2">25125</sr:BlockPrice><sr:BlockPrice index="3">20000</sr:BlockPrice>'
        '<sr:BlockPrice index="4">5010</sr:BlockPrice></sr:BlockPrices>'
        '<sr:TOUPrice index="1">15500</sr:TOUPrice><sr:TOUPrice index="2">9000</sr:TOUPrice>'
        "</sr:HybridTariff>"
    )
    tou = (
        '<sr:TOUTariff><sr:TOUPrice index="1">15500</sr:TOUPrice><sr:TOUPrice index="2">9000</sr:TOUPrice>'
        "</sr:TOUTariff>"
    )
    assert tou in body
    body = body.replace(tou, hybrid, 1)
    root = parse(request("1.1.1", body, counter=1).encode())
    schema.check(root)
    params = translate(root).params
    X.EXECUTORS["1.1.1"][0].model_validate(params)
    assert params == {
        **plain,
        "block_thresholds": [1.5, 4.25, 7.001],
        "block_prices": [30.0, 25.125, 20.0, 5.01],
    }


def test_update_inventory_mpxn_is_read_and_an_unsupported_change_refused(schema: Schema) -> None:
    """SRV 8.4's other DUIS form: ``UpdateMPxN/ImportMPxN`` reaches the S1SP as the meter's new
    inventory MPxN; an ``UpdateDeviceDetails`` (which the virtual S1SP does not model) is refused E6."""
    body = (
        "<sr:UpdateInventory><sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID>"
        "<sr:UpdateMPxN><sr:ImportMPxN>1012345678905</sr:ImportMPxN></sr:UpdateMPxN></sr:UpdateInventory>"
    )
    root = parse(request("8.4", body).encode())
    schema.check(root)
    req = translate(root)
    assert req.params == {"mpxn": "1012345678905"}
    X.EXECUTORS["8.4"][0].model_validate(req.params)
    details = (
        "<sr:UpdateInventory><sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID>"
        "<sr:UpdateDeviceDetails><sr:DeviceModel>0001</sr:DeviceModel></sr:UpdateDeviceDetails>"
        "</sr:UpdateInventory>"
    )
    root = parse(request("8.4", details).encode())
    schema.check(root)
    with pytest.raises(TranslationError, match="status or its import MPxN") as exc:
        translate(root)
    assert exc.value.code == "E6"
