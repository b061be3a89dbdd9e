"""The DUIS codec on its own: SRV coverage of the packs, RequestIDs, request bodies against the DUIS XSD,
our signatures verified by ourselves, and the parser on every response kind."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from device_drivers.duis import catalogue, responses, signing, xsd
from device_drivers.duis.counters import CounterStore
from device_drivers.duis.ids import RequestId, eui
from device_drivers.duis.requests import RequestBuildError, build_request, to_bytes
from tests.duis.cases import CASES, FUTURE_DATED, NEEDS_CERTIFICATE, NEEDS_CERTIFICATES, cert_params
from tests.duis.dcc_tool import DSP, SUPPLIER, DccTool

REPO = Path(__file__).resolve().parents[2]


def pack_srvs() -> set[str]:
    """Every SRV the standard packs send (their case table and direct submits)."""
    found: set[str] = set()
    for py in (REPO / "test_packs").rglob("*.py"):
        text = py.read_text()
        found |= set(re.findall(r'@case\("([\d.]+)"', text))
        found |= set(re.findall(r'(?:submit|ok|result|rejected)\((?:"E\d+", )?"(\d+\.\d+(?:\.\d+)?)"', text))
    return found


def test_catalogue_covers_every_srv_the_packs_send() -> None:
    used = pack_srvs()
    assert len(used) >= 50, sorted(used)  # the scan itself works
    assert used <= set(catalogue.SRVS), sorted(used - set(catalogue.SRVS))
    assert set(CASES) == set(catalogue.SRVS)


def test_request_id_spelling_and_bounds() -> None:
    rid = RequestId.make("90b3d51f30010000", "00:1a:2b:ff:fe:00:00:02", 7)
    assert str(rid) == "90-B3-D5-1F-30-01-00-00:00-1A-2B-FF-FE-00-00-02:7"
    assert RequestId.parse(str(rid)) == rid
    with pytest.raises(ValueError):
        RequestId.make(SUPPLIER, "00-1A", 1)
    with pytest.raises(ValueError):
        RequestId.make(SUPPLIER, SUPPLIER, 1 << 64)


def test_counters_strictly_increase_and_never_fall_below_the_clock(tmp_path: Path) -> None:
    clock = [1_000]
    store = CounterStore(tmp_path, clock_ms=lambda: clock[0])
    a, b = store.next(SUPPLIER), store.next(SUPPLIER)
    assert (a, b) == (1_000, 1_001)
    clock[0] = 5_000
    assert store.next(SUPPLIER) == 5_000
    clock[0] = 10  # a clock set back: still above the last counter handed out
    assert CounterStore(tmp_path, clock_ms=lambda: clock[0]).next(SUPPLIER) == 5_001
    assert CounterStore(tmp_path, clock_ms=lambda: 0).next(DSP) == 1  # per User


def _all_requests(cert_path: Path) -> list[tuple[str, etree._Element]]:
    cert = signing.load_cert(cert_path.read_bytes())
    out = []
    n = 0
    for srv, cases in CASES.items():
        for i, (target, fuel, params) in enumerate(cases):
            p = {**params, **cert_params(cert)} if srv in NEEDS_CERTIFICATES else params
            if srv in NEEDS_CERTIFICATE:
                p = {**params, "certificate": cert_params(cert)["certificate"]}
            dates = [None] + ([datetime(2027, 1, 1, tzinfo=UTC)] if srv in FUTURE_DATED and i == 0 else [])
            for fd in dates:
                n += 1
                root = build_request(srv, originator=SUPPLIER, target=target, counter=1_000 + n, params=p,
                                     fuel=fuel, future_date=fd)  # fmt: skip
                out.append((f"{srv}-{fuel}-{i}{'-fd' if fd else ''}", root))
    return out


def test_every_request_is_valid_against_the_duis_xsd(dcc: DccTool) -> None:
    schema = xsd.schema(dcc.xsd)
    built = _all_requests(dcc.cert(SUPPLIER))
    assert len(built) >= 77
    bad = {name: xsd.errors(schema, root) for name, root in built if xsd.errors(schema, root)}
    assert not bad


def test_headers_name_the_variant_and_command_variant() -> None:
    root = build_request("5.2", originator=SUPPLIER, target="00-1A-2B-FF-FE-00-00-02", counter=9)
    ns = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
    assert root.findtext("sr:Header/sr:CommandVariant", namespaces=ns) == "8"  # non-device: DSP answers
    assert root.findtext("sr:Header/sr:ServiceReference", namespaces=ns) == "5.2"
    dev = build_request("4.1.1", originator=SUPPLIER, target="00-1A-2B-FF-FE-00-00-02", counter=9)
    assert dev.findtext("sr:Header/sr:CommandVariant", namespaces=ns) == "1"
    assert dev.findtext("sr:Header/sr:ServiceReference", namespaces=ns) == "4.1"
    assert dev.findtext("sr:Header/sr:ServiceReferenceVariant", namespaces=ns) == "4.1.1"


def test_bad_parameters_are_refused_not_truncated() -> None:
    kw: dict[str, Any] = {"originator": SUPPLIER, "target": "00-1A-2B-FF-FE-00-00-02", "counter": 1}
    with pytest.raises(RequestBuildError, match="116"):
        build_request("3.1", params={"text": "x" * 117}, **kw)
    with pytest.raises(RequestBuildError, match="cannot be future-dated"):
        build_request("7.2", future_date=datetime(2027, 1, 1, tzinfo=UTC), **kw)
    with pytest.raises(RequestBuildError, match="utrn"):
        build_request("2.2", params={"utrn": "123"}, **kw)
    with pytest.raises(catalogue.UnknownSrv):
        build_request("12.1", **kw)
    hourly = {
        "rates": 2,
        "prices": [7.0, 5.0],
        "switches": [{"at": "00:00", "rate": 1}, {"at": "07:00", "rate": 2}],
    }
    with pytest.raises(RequestBuildError, match="by day, not within a day"):  # DUIS GasDayProfile
        build_request("1.1.1", params=hourly, fuel="gas", **kw)


def test_a_gas_tariff_switching_by_day_is_a_week_of_day_profiles(dcc: DccTool) -> None:
    """A gas meter switches rate by day: ``days`` (Monday first) becomes one GasDayProfile per rate and
    a week profile naming each weekday's, XSD-valid; the virtual DSP reads the same week back."""
    from labs.virtual.dsp.translate import translate

    kw: dict[str, Any] = {"originator": SUPPLIER, "target": "00-1A-2B-FF-FE-00-00-03", "counter": 1}
    days = [3, 4, 1, 2, 1, 2, 1]
    params = {"rates": 4, "prices": [10.0, 17.5, 25.0, 32.5], "standing_charge": 20.0, "days": days}
    root = build_request("1.1.1", params=params, fuel="gas", **kw)
    assert not xsd.errors(xsd.schema(dcc.xsd), root)
    actions = root.findall(".//{*}GasTariffElements/{*}SwitchingTable/{*}DayProfiles/{*}DayProfile")
    assert [int(a.findtext("{*}TOUTariffAction") or 0) for a in actions] == [1, 2, 3, 4]
    assert translate(root).params["days"] == days
    with pytest.raises(RequestBuildError, match="7 rates"):
        build_request("1.1.1", params=params | {"days": [1, 2]}, fuel="gas", **kw)


def test_as_given_writes_what_the_checks_refuse_and_says_so() -> None:
    from device_drivers.duis.requests import build_as_given

    kw: dict[str, Any] = {"originator": SUPPLIER, "target": "00-1A-2B-FF-FE-00-00-02", "counter": 1}
    given = build_as_given("2.2", params={"utrn": "123"}, **kw)
    assert given.refused and not given.unknown_srv
    assert given.root.findtext(".//{*}UTRN") == "123"
    unknown = build_as_given("99.1", **kw)
    assert unknown.unknown_srv and unknown.root.findtext(".//{*}ServiceReferenceVariant") == "99.1"
    assert build_as_given("7.4", **kw).refused == ()  # a valid request: exactly the checked one
    with pytest.raises(RequestBuildError, match="15"):  # no DUIS form though the SRV allows it
        build_as_given("3.4", params={"name": "x" * 20}, **kw)


def test_own_signature_verifies_and_a_changed_byte_does_not(dcc: DccTool) -> None:
    key = signing.load_key(dcc.key(SUPPLIER).read_bytes())
    cert = signing.load_cert(dcc.cert(SUPPLIER).read_bytes())
    root = build_request("7.2", originator=SUPPLIER, target="00-1A-2B-FF-FE-00-00-02", counter=42)
    raw = to_bytes(signing.sign(root, key, cert))
    trust = signing.TrustStore([cert])
    assert signing.verify(etree.fromstring(raw), trust).signer == cert
    tampered = raw.replace(b"DisableSupply", b"EnableSupply")
    with pytest.raises(signing.SignatureRefused):
        signing.verify(etree.fromstring(tampered), trust)
    other = signing.TrustStore([signing.load_cert(dcc.cert(DSP).read_bytes())])
    with pytest.raises(signing.SignatureRefused, match="not trusted"):
        signing.verify(etree.fromstring(raw), other)
    with pytest.raises(signing.SignatureRefused, match="not signed"):
        signing.verify(root, trust)


def test_parser_reads_the_dcc_sample_response(dcc: DccTool) -> None:
    m = responses.parse(etree.parse(str(dcc.files / "message.xml")).getroot())
    assert (m.kind, m.code, m.srv, m.final) == (responses.RESPONSE, "I0", "11.2", True)
    assert m.request_id == "90-B3-D5-1F-30-01-00-00:00-07-81-D7-00-00-36-CE:1655397248260"
    assert "GBCSPayload" in m.data


def test_eui_spelling() -> None:
    assert eui("001a2bfffe000001") == "00-1A-2B-FF-FE-00-00-01"
    with pytest.raises(ValueError):
        eui("not-an-eui")


def test_pack_names_are_added_only_where_duis_carries_the_fact() -> None:
    from device_drivers.duis.results import pack_result

    assert pack_result("7.4", {"SupplyState": "Disabled"})["supply"] == "disabled"
    assert pack_result("11.2", {"FirmwareVersion": "2.1.1"})["firmware_version"] == "2.1.1"
    assert pack_result("4.18", {"Gas": {"MeterBalancePrepaymentMode": "-250"}})["balance"] == -250
    assert pack_result("6.2.7", {"Electricity": {"ImportMPAN": "1234567890123"}})["mpxn"] == "1234567890123"
    inventory = {"DSPInventory": {"Device": {"DeviceID": "00-1A-2B-FF-FE-00-00-04", "DeviceType": "IHD",
                                             "DeviceStatus": "Decommissioned", "DeviceManufacturer": "M",
                                             "DeviceModel": "X"}}}  # fmt: skip
    read = pack_result("8.2", inventory)
    assert read["status"] == "Decommissioned" and "supplier" not in read
    config = pack_result("4.13", {"LowCreditThreshold": "250", "CreditMaxCreditThreshold": "5000"})
    assert (config["low_credit_threshold"], config["max_credit"]) == (250, 5000)
    wan = {"SupplierESMECommon": {"x8119": "Disable", "x810D": "Enable"}}
    han = {"SupplierESMECommon": {"x8145": "Disable"}}
    settings = {"ElectricitySupplierWANAlertSettings": wan, "ElectricitySupplierHANAlertSettings": han}
    alerts = {"ElectricitySupplierAlertEventSettings": settings}
    assert pack_result("6.2.10", alerts)["suppressed"] == ["0x8119"]
    entries = [{"DeviceID": "00-1A-2B-FF-FE-00-00-02", "DeviceType": "ESME"},
               {"DeviceID": "00-1A-2B-FF-FE-00-00-04", "DeviceType": "PPMID"}]  # fmt: skip
    connected = {"CHFCurrentConnectedDeviceLogEntry": {"DeviceID": "00-1a-2b-ff-fe-00-00-02"}}
    log = {"DeviceLogEntries": {"LogEntry": entries}, "CHFConnectedDeviceLog": connected}
    devices = pack_result("8.9", log)["devices"]
    assert [(d["eui"], d["type"], d["joined"]) for d in devices] == [
        ("00-1A-2B-FF-FE-00-00-02", "esme", True), ("00-1A-2B-FF-FE-00-00-04", "ppmid", False)]  # fmt: skip
    events = pack_result(
        "6.13", {"Log": {"LogEntry": {"LogCode": "8f3d", "Timestamp": "2026-12-06T10:00:00Z"}}}
    )
    assert events["entries"] == [{"code": "0x8F3D", "at": "2026-12-06T10:00:00Z", "details": {}}]
    assert pack_result("7.4", {}) == {}
    block_prices = [
        {"@index": str(i), "#text": v} for i, v in ((2, "4914"), (1, "5947"), (3, "3957"), (4, "2011"))
    ]
    elec = {"PriceScale": "-4", "StandingCharge": "500", "StandingChargeScale": "-4",
            "TariffTOUPriceMatrix": {"TariffTOUPrice": {"@index": "1", "#text": "2000"}},
            "TariffBlockPriceMatrix": {"TariffBlockPrices": [{"@index": "2", "BlockPrice": []},
                                                             {"@index": "1", "BlockPrice": block_prices}]},
            "TariffThresholdMatrix": {"ElecTariffThresholds": [
                {"@index": "1", "BlockThreshold": [{"@index": "1", "#text": "404"},
                                                   {"@index": "2", "#text": "1476"}]}]}}  # fmt: skip
    read = pack_result("4.11.1", {"Electricity": elec})
    assert (read["prices"], read["standing_charge"]) == ([20.0], 5.0)
    assert (read["block_thresholds"], read["block_prices"]) == ([0.404, 1.476], [59.47, 49.14, 39.57])
    gas_thresholds = [{"@index": "2", "#text": "5500"}, {"@index": "1", "#text": "2000"}]
    gas = {"StandingCharge": "28000", "BlockTariff": {"BlockPrice": block_prices[:3]},
           "TariffThresholds": {"BlockThreshold": gas_thresholds}}  # fmt: skip
    read = {k: v for k, v in pack_result("4.11.1", {"Gas": gas}).items() if k != "Gas"}
    assert read == {"prices": [5.947], "rates": 1, "standing_charge": 28.0,
                    "block_thresholds": [2.0, 5.5], "block_prices": [5.947, 4.914, 3.957]}  # fmt: skip
    assert pack_result("6.2.1", {"X": "1"}) == {"X": "1"}


def _count(directory: str, n: int) -> list[int]:
    store = CounterStore(directory)
    return [store.next(SUPPLIER) for _ in range(n)]


def test_counters_strictly_increase_across_processes(tmp_path: Path) -> None:
    """Two xdist workers signing as the same User never hand out the same or a falling counter."""
    import concurrent.futures
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        runs = list(pool.map(_count, [str(tmp_path)] * 2, [40] * 2))
    assert all(run == sorted(run) and len(set(run)) == len(run) for run in runs)
    assert not set(runs[0]) & set(runs[1])
    later = CounterStore(tmp_path).next(SUPPLIER)  # a later run, the same store
    assert later > max(runs[0] + runs[1])


def test_amounts_are_pence_and_electricity_rates_are_scaled_gbp() -> None:
    """Units shared with the virtual DSP (docs/protocols/duis.md, Assumptions 1): unscaled amounts are
    integer pence; an electricity debt recovery rate, like a price, is value x 10^scale GBP."""
    ns = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
    debts = [{"name": "time_debt_1", "amount": 1500, "rate": 25}]
    root = build_request("2.3", originator=SUPPLIER, target="00-1A-2B-FF-FE-00-00-02", counter=1,
                         params={"debts": debts})  # fmt: skip
    assert root.findtext(".//sr:TimeDebtRegister1", namespaces=ns) == "1500"
    rate = int(root.findtext(".//sr:ElecDebtRecovery1/sr:DebtRecoveryRate", namespaces=ns) or "")
    scale = int(root.findtext(".//sr:ElecDebtRecovery1/sr:DebtRecoveryRatePriceScale", namespaces=ns) or "")
    assert rate * 10 ** (scale + 2) == pytest.approx(25)  # pence
    balance = build_request("1.5", originator=SUPPLIER, target="00-1A-2B-FF-FE-00-00-02", counter=1,
                            params={"delta": -250})  # fmt: skip
    assert balance.findtext(".//sr:AdjustMeterBalance", namespaces=ns) == "-250"


def test_pack_names_from_mmc_tariff_prepay_logs_schedules_credentials_calendar() -> None:
    """The packs' names for 4.11.1, 4.3, 4.6.1, 4.4.2, 5.2, 6.24.1, 6.2.3, read from payloads shaped as
    the MMC/DUIS XSDs define them (element_data form); what the payload lacks stays absent."""
    from device_drivers.duis.results import pack_result

    tou = [{"@index": "2", "#text": "9000"}, {"@index": "1", "#text": "15500"}]
    elec = {"Electricity": {"StandingCharge": "45", "StandingChargeScale": "-2", "PriceScale": "-5",
                            "TariffTOUPriceMatrix": {"TariffTOUPrice": tou}}}  # fmt: skip
    tariff = pack_result("4.11.1", elec)
    assert (tariff["prices"], tariff["standing_charge"], tariff["rates"]) == ([15.5, 9.0], 45.0, 2)
    gas_tou = {"TariffTOUPrice": {"@index": "1", "#text": "6500"}}
    gas = pack_result("4.11.1", {"Gas": {"StandingCharge": "25000", "TOUTariff": gas_tou}})
    assert (gas["prices"], gas["standing_charge"]) == ([6.5], 25.0)
    prepay = pack_result("4.3", {"MeterBalance": "1200", "TimeDebtRegister1": "300", "TimeDebtRegister2": "0",
                                 "PaymentDebtRegister": "50"})  # fmt: skip
    assert prepay["balance"] == 1200
    assert prepay["debts"] == {"time_debt_1": [300], "time_debt_2": [0], "payment_debt": [50]}
    entries = [{"Timestamp": at, "Electricity": {"ElecActiveImportRegisterConsumption": kwh}}
               for at, kwh in (("12-05T00:00:00Z", "10.5"), ("12-06T00:00:00Z", "12"))]  # fmt: skip
    reads = pack_result("4.6.1", {"LogEntry": entries})
    assert reads["reads"] == [{"at": "12-05T00:00:00Z", "total_kwh": 10.5},
                              {"at": "12-06T00:00:00Z", "total_kwh": 12}]  # fmt: skip
    entry = {"ActiveImportRegisterConsumption": "7"}
    log = {"Electricity": {"LogEntryConsumptionAndTariffRegistersData": entry}}
    assert pack_result("4.4.2", log)["records"] == [{"total_kwh": 7}]  # no time, no trigger: not in MMC
    schedule = {"DSPScheduleID": "3", "DSPScheduleDetails": {
        "ScheduleFrequency": "Daily", "ScheduleStartDate": "12-07", "DSPScheduledServiceReference": "4.6",
        "DSPScheduledServiceReferenceVariant": "4.6.1", "DeviceID": "E1"}}  # fmt: skip
    assert pack_result("5.2", {"DSPSchedulesRead": {"DSPSchedules": schedule}})["schedules"] == [
        {"schedule_id": "3", "srv": "4.6.1", "start": "12-07", "device": "E1",
         "period_s": 86400}]  # fmt: skip
    party = {"RemotePartyRole": "Supplier", "CertificateUsage": "DS", "ExistingCertificateHash": "ab"}
    keys = pack_result("6.24.1", {"RemotePartyDetails": party})["keys"]
    assert keys == [{"role": "Supplier", "usage": "DS", "hash": "ab"}]
    cal = {"BillingCalendar": {"GasBillingCalendar": {"BillingPeriodStart": "2098-06-01",
                                                      "Periodicity": "Weekly"}}}  # fmt: skip
    assert pack_result("6.2.3", cal)["billing_calendar"] == {"start": "2098-06-01", "period": "weekly"}
    assert pack_result("6.2.3", {})["billing_calendar"] is None
    elec = {"BillingCalendar": {"ElectricityBillingCalendar": {"BillingTime": "06:30:00", "Weekly": "3"}}}
    assert pack_result("6.2.3", elec)["billing_calendar"] == {
        "billing_time": "06:30:00", "period": "weekly", "day": 3}  # fmt: skip
    assert "supplier" not in pack_result("8.2", {"DSPInventory": {"Device": {"DeviceID": "X"}}})


def test_as_given_makes_up_no_missing_value() -> None:
    from device_drivers.duis.requests import build_as_given

    kw: dict[str, Any] = {"originator": SUPPLIER, "target": "00-1A-2B-FF-FE-00-00-02", "counter": 1}
    missing = build_as_given("1.5", params={}, **kw)  # the adjustment left out: XSD-invalid
    assert missing.refused and missing.root.find(".//{*}AdjustMeterBalance") is None
    with pytest.raises(RequestBuildError, match="'name' is required"):  # not a supplier name "None"
        build_as_given("3.4", params={}, **kw)


def test_block_tariff_and_what_duis_cannot_carry() -> None:
    """1.1.1 block tariff: electricity as ``HybridTariff`` (block tariff 1 beside the TOU prices, one
    PriceScale) with the thresholds in Wh in all 8 threshold sets; gas holds TOU *or* block prices
    (XSD GasPriceElements), a price finer than the shared scale has no form. 8.4: Commissioned is a CH
    status only (XSD UpdateDeviceStatusExceptCH: Pending, InstalledNotCommissioned)."""
    kw: dict[str, Any] = {"originator": SUPPLIER, "target": "00-1A-2B-FF-FE-00-00-02", "counter": 1}
    tariff = {
        "rates": 2,
        "prices": [20.0, 25.0],
        "standing_charge": 50.0,
        "switches": [{"at": "00:00", "rate": 1}, {"at": "07:00", "rate": 2}],
        "block_thresholds": [0.404, 1.476, 2.128],
        "block_prices": [59.47, 49.14, 39.57, 20.11],
    }
    root = build_request("1.1.1", params=tariff, **kw)
    ns = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
    e = root.find(".//sr:ElectricityPriceElements", ns)
    assert e is not None and e.findtext("sr:PriceScale", namespaces=ns) == "-4"
    assert [p.text for p in e.findall("sr:HybridTariff/sr:BlockPrices/sr:BlockPrice", ns)] == [
        "5947", "4914", "3957", "2011"]  # fmt: skip
    assert [p.text for p in e.findall("sr:HybridTariff/sr:TOUPrice", ns)] == ["2000", "2500"]
    rows = root.findall(".//sr:ThresholdMatrix/sr:Thresholds", ns)
    assert len(rows) == 8
    assert {tuple(t.text for t in r) for r in rows} == {("404", "1476", "2128")}
    with pytest.raises(RequestBuildError, match="finer than DUIS carries"):
        build_request("1.1.1", params={**tariff, "block_prices": [59.467, 49.14, 39.57, 20.11]}, **kw)
    with pytest.raises(RequestBuildError, match="TOU or block"):
        gas = {**tariff, "rates": 1, "prices": [7.0], "switches": None}
        build_request("1.1.1", params=gas, fuel="gas", **kw)
    gas_block = {
        "rates": 1,
        "prices": [20.5],
        "block_thresholds": [1.5, 3.0],
        "block_prices": [20.5, 10.25, 5.0],
    }
    g = build_request("1.1.1", params=gas_block, fuel="gas", **kw)
    assert (
        g.find(".//sr:GasDayProfile", ns) is None
        and g.find(".//sr:DayProfile/sr:BlockTariff", ns) is not None
    )
    assert [p.text for p in g.findall(".//sr:GasPriceElements/sr:BlockTariff/sr:BlockPrice", ns)] == [
        "20500", "10250", "5000"]  # fmt: skip
    assert g.findtext(".//sr:GasPriceElements/sr:BlockTariff/sr:NumberOfThresholds", namespaces=ns) == "2"
    gas_thresholds = g.findall(".//sr:GasTariffElements/sr:ThresholdMatrix/sr:BlockThreshold", ns)
    assert [t.text for t in gas_thresholds] == ["1500", "3000"]
    with pytest.raises(RequestBuildError, match="one price more"):
        build_request("1.1.1", params={**tariff, "block_prices": [1.0]}, **kw)
    with pytest.raises(RequestBuildError, match="status Commissioned on ESME"):
        build_request("8.4", params={"status": "Commissioned", "device_type": "esme"}, **kw)
    ch = build_request("8.4", params={"status": "Commissioned", "device_type": "ch"}, **kw)
    assert ch.findtext(".//sr:UpdateDeviceStatusCH", namespaces=ns) == "Commissioned"
    esme = build_request("8.4", params={"status": "Pending", "device_type": "esme"}, **kw)
    assert esme.findtext(".//sr:UpdateDeviceStatusExceptCH", namespaces=ns) == "Pending"
