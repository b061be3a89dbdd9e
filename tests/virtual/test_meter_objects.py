"""The meters' optical-port object list, end to end over DLMS/HDLC on 127.0.0.1.

Server side: :mod:`labs.virtual.meter_objects` over catalogue-built ESME/GSME behaviour models, served by
:class:`DlmsServerThread`. Client side: the project's :class:`MeterOptical` (written without the
simulator's tables) and, as the independent witness, the stock dlms-cosem client on its own TCP I/O.
Each seeded-defect test reads a clean and a defective meter through the same calls, so it shows the
defect *and* that the assertion can fail.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from dlms_cosem import cosem as dc_cosem
from dlms_cosem import enumerations as dc_enums
from dlms_cosem import time as dc_time
from dlms_cosem import utils as dc_utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.cosem.capture_object import CaptureObject
from dlms_cosem.cosem.selective_access import RangeDescriptor
from dlms_cosem.io import BlockingTcpIO, HdlcTransport
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.errors import LinkDown, LinkTimeout
from device_drivers.protocols import meter_optical
from device_drivers.protocols.dlms import DlmsDeviceError, DlmsOpticalClient, quiet_dlms_cosem_logging
from device_drivers.protocols.meter_optical import (
    Balance,
    Identity,
    LogRecord,
    MeterOptical,
    OpticalDeviceError,
    decode_cosem_datetime,
    encode_cosem_datetime,
)
from device_drivers.transcript import Transcript
from labs.virtual.cosem import cosem_to_datetime, datetime_to_cosem
from labs.virtual.devices import Esme, Gsme, PaymentMode
from labs.virtual.devices import alerts as A
from labs.virtual.devices.base import Device
from labs.virtual.dlms_server import DlmsEndpoint, DlmsServerThread
from labs.virtual.meter_objects import OBJECT_LIST, EsmeObjects, GsmeObjects, MeterObjects, meter_objects
from tests.virtual.test_devices_support import START, HandClock, esme, gsme

PASSWORD = b"12345678"
INTEGER_ZERO = b"\x0f\x00"
READ_WRITE_DENIED, HARDWARE_FAULT, TEMPORARY_FAILURE, OBJECT_UNDEFINED = 3, 1, 2, 4
DOC = Path(__file__).resolve().parents[2] / "docs" / "virtual-lab.md"

quiet_dlms_cosem_logging()


@pytest.fixture(scope="module")
def lab() -> Iterator[DlmsServerThread]:
    with DlmsServerThread() as running:
        yield running


def serve(lab: DlmsServerThread, objects: MeterObjects, *, inactivity_timeout: float = 10) -> str:
    """Serve one meter's object list on its own loopback port; returns its socket:// URL."""
    endpoint = DlmsEndpoint(model=objects, password=PASSWORD, inactivity_timeout=inactivity_timeout)
    return f"socket://127.0.0.1:{lab.add_endpoint(endpoint)}"


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def optical(url: str, *, lls: bool = True, transcript: Transcript | None = None) -> MeterOptical:
    return MeterOptical(
        url, device="rig-1/meter", password=PASSWORD if lls else None, timeout=3, transcript=transcript
    )


def served(lab: DlmsServerThread, meter: Device) -> tuple[str, MeterObjects]:
    assert isinstance(meter, Esme | Gsme)
    objects = meter_objects(meter)
    return serve(lab, objects), objects


# -- every object through MeterOptical ---------------------------------------------------------------


def test_esme_every_object_through_meter_optical(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock, load_w=1000)
    url, _ = served(lab, meter)
    with optical(url) as port:
        total, tou, unit = port.import_registers()
        assert (total, tou, unit) == (
            Decimal(1900),
            (Decimal(1000), Decimal(200), Decimal(300), Decimal(400)),
            "kWh",
        )
        clock.advance(hours=1)  # 1 kW for an hour, in rate 1 (00:00-06:00): values are live
        registers = port.import_registers()
        assert registers.total == Decimal(1901) and registers.tou[0] == Decimal(1001)
        assert port.clock() == START + timedelta(hours=1) == meter.device_time()
        assert port.supply_state() == "enabled"
        assert port.active_power() == Decimal(1000)
        assert port.firmware_version() == "1.4.2"
        assert port.identity() == Identity("DMC", "VESME-1P", "E21Z000001", meter.device_id, "1.4.2")
        assert port.payment_mode() == "credit"
        assert port.balance() == Balance("credit", Decimal(-20), Decimal(0))  # 1 kWh at 20 p, credit mode
        assert port.event_log() == [] and port.security_log() == []
        with pytest.raises(OpticalDeviceError) as err:
            port.gas_volume()  # an ESME has no gas register
        assert (err.value.code, err.value.kind) == (OBJECT_UNDEFINED, "data-access-result")


def test_gsme_every_object_through_meter_optical(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = gsme(clock=clock, flow_m3h=1.5, initial_m3=10.0)
    url, _ = served(lab, meter)
    with optical(url) as port:
        assert port.gas_volume() == Decimal("10.000")
        clock.advance(hours=2)
        assert port.gas_volume() == Decimal("13.000")
        registers = port.import_registers()
        reading = meter.registers()
        assert registers.unit == "kWh" and len(registers.tou) == len(reading.tou_kwh) >= 1
        assert registers.total == Decimal(round(reading.total_kwh * 1000)) / 1000 > Decimal(145)
        assert registers.tou == tuple(Decimal(round(kwh * 1000)) / 1000 for kwh in reading.tou_kwh)
        assert port.clock() == START + timedelta(hours=2)
        assert port.supply_state() == "enabled"
        assert port.identity() == Identity("DMC", "VGSME-G4", "G4Z0000001", meter.device_id, "3.0.1")
        charged = Decimal(round(meter.prepay_values().balance))  # 3 m³ of gas at 20 p/kWh, credit mode
        assert charged < -600 and port.balance() == Balance("credit", charged, Decimal(0))
        with pytest.raises(OpticalDeviceError) as err:
            port.active_power()  # the GSME has no electricity power register
        assert err.value.code == OBJECT_UNDEFINED


def test_prepayment_balance_and_emergency_credit_are_live(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock, load_w=1000, payment_mode=PaymentMode.PREPAYMENT, balance=5000)
    url, _ = served(lab, meter)
    with optical(url) as port:
        assert port.balance() == Balance("prepayment", Decimal(5000), Decimal(0))
        clock.advance(hours=1)  # 1 kWh at rate 1 (20 p/kWh)
        assert port.balance() == Balance("prepayment", Decimal(4980), Decimal(0))
    low = esme(clock=HandClock(), payment_mode=PaymentMode.PREPAYMENT, balance=50)
    url, _ = served(lab, low)
    low.activate_emergency_credit()
    with optical(url) as port:
        assert port.balance() == Balance("prepayment", Decimal(50), Decimal(500))


def test_event_and_security_logs_as_profile_generic(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock)
    url, _ = served(lab, meter)
    meter.power_off()
    clock.advance(seconds=10)
    meter.power_on()
    meter.tamper("meter_cover")
    with optical(url) as port:
        t0 = START
        assert port.event_log() == [
            LogRecord(t0, A.SUPPLY_INTERRUPTED),
            LogRecord(t0 + timedelta(seconds=10), A.SUPPLY_RESTORED),
        ]
        assert port.event_log(since=t0 + timedelta(seconds=5)) == [
            LogRecord(t0 + timedelta(seconds=10), A.SUPPLY_RESTORED)
        ]
        assert port.security_log() == [LogRecord(t0 + timedelta(seconds=10), A.TAMPER_METER_COVER)]
    with DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as client:
        assert client.get(7, "0.0.99.98.0.255", 7) == 2  # entries_in_use
        assert client.get(7, "0.0.99.98.0.255", 8) == 100  # profile_entries (catalogue capacity)
        assert client.get(1, "0.0.96.11.0.255", 2) == A.SUPPLY_RESTORED  # last event code
        assert client.get(1, "0.0.96.11.1.255", 2) == A.TAMPER_METER_COVER
        assert client.action(7, "0.0.99.98.0.255", 1, INTEGER_ZERO) is None  # reset = SRV 3.3
    assert meter.event_log() == []
    assert [e.code for e in meter.security_log()] == [A.TAMPER_METER_COVER, A.EVENT_LOG_CLEARED]


# -- the independent client ---------------------------------------------------------------------------


def stock_client(port: int, *, lls: bool) -> DlmsClient:
    """dlms-cosem exactly as published, on its own TCP I/O: nothing from this project."""
    transport = HdlcTransport(
        client_logical_address=1 if lls else 16,
        server_logical_address=1,
        io=BlockingTcpIO(host="127.0.0.1", port=port, timeout=5),
    )
    auth = LowLevelSecurityAuthentication(secret=PASSWORD) if lls else NoSecurityAuthentication()
    return DlmsClient(transport=transport, authentication=auth)


def attribute(class_id: int, obis: str, index: int) -> dc_cosem.CosemAttribute:
    return dc_cosem.CosemAttribute(
        interface=dc_enums.CosemInterface(class_id), instance=dc_cosem.Obis.from_string(obis), attribute=index
    )


def test_stock_dlms_cosem_client_reads_register_clock_and_disconnect_state(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock)
    url, _ = served(lab, meter)
    clock.advance(minutes=90)
    client = stock_client(port_of(url), lls=True)
    with client.session():
        energy = dc_utils.parse_as_dlms_data(client.get(attribute(3, "1.0.1.8.0.255", 2)))
        assert energy == round(meter.registers().total_kwh * 1000) == 1_901_500
        assert dc_utils.parse_as_dlms_data(client.get(attribute(3, "1.0.1.8.0.255", 3))) == [0, 30]
        raw_time = dc_utils.parse_as_dlms_data(client.get(attribute(8, "0.0.1.0.0.255", 2)))
        assert isinstance(raw_time, bytes)
        when, _status = dc_time.datetime_from_bytes(raw_time)
        assert when.replace(tzinfo=UTC) == START + timedelta(minutes=90)  # dlms-cosem drops deviation 0
        assert dc_utils.parse_as_dlms_data(client.get(attribute(70, "0.0.96.3.10.255", 2))) is True
        assert dc_utils.parse_as_dlms_data(client.get(attribute(70, "0.0.96.3.10.255", 3))) == 1
        method = dc_cosem.CosemMethod(
            dc_enums.CosemInterface(70), dc_cosem.Obis.from_string("0.0.96.3.10.255"), 1
        )
        client.action(method, INTEGER_ZERO)
        assert dc_utils.parse_as_dlms_data(client.get(attribute(70, "0.0.96.3.10.255", 2))) is False
        assert dc_utils.parse_as_dlms_data(client.get(attribute(70, "0.0.96.3.10.255", 3))) == 0
    assert meter.supply_state() == "disabled"


def test_displayed_message_through_both_clients_and_read_only(lab: DlmsServerThread) -> None:
    """0.0.96.13.0 is what SRV 3.1 put on the meter's display: empty at first, replaced by each message,
    UTF-8; the stock client reads the same octets; nobody may write it (the route drives the display)."""
    meter = esme(clock=HandClock())
    url, _ = served(lab, meter)
    with optical(url) as port:
        assert port.displayed_message() == ""
        meter.display_message("Top up soon")
        assert port.displayed_message() == "Top up soon"
        meter.display_message("Credit low ☃")
        assert port.displayed_message() == "Credit low ☃"
    client = stock_client(port_of(url), lls=False)
    with client.session():
        raw = dc_utils.parse_as_dlms_data(client.get(attribute(1, "0.0.96.13.0.255", 2)))
    assert raw == "Credit low ☃".encode()
    with (
        DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as management,
        pytest.raises(DlmsDeviceError) as err,
    ):
        management.set(1, "0.0.96.13.0.255", 2, b"\x09\x02hi")
    assert err.value.code == READ_WRITE_DENIED
    assert meter.last_message == "Credit low ☃"


def test_defect_display_message_dropped(lab: DlmsServerThread) -> None:
    shown = []
    for defects in ((), ("display_message_dropped",)):
        meter = esme(defects, clock=HandClock())
        url, _ = served(lab, meter)
        meter.display_message("Hello")
        with optical(url) as port:
            shown.append(port.displayed_message())
    assert shown == ["Hello", ""]


def test_stock_client_reads_the_event_log_by_range(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock)
    url, _ = served(lab, meter)
    for _ in range(3):
        meter.power_off()
        clock.advance(minutes=1)
        meter.power_on()
        clock.advance(minutes=1)
    window = RangeDescriptor(
        restricting_object=CaptureObject(cosem_attribute=attribute(8, "0.0.1.0.0.255", 2), data_index=0),
        from_value=START + timedelta(minutes=1),
        to_value=START + timedelta(minutes=2),
    )
    client = stock_client(port_of(url), lls=False)
    with client.session():
        rows = dc_utils.parse_as_dlms_data(client.get(attribute(7, "0.0.99.98.0.255", 2), window))
    assert [(cosem_to_datetime(at), code) for at, code in rows] == [
        (START + timedelta(minutes=1), A.SUPPLY_RESTORED),
        (START + timedelta(minutes=2), A.SUPPLY_INTERRUPTED),
    ]


# -- commands ---------------------------------------------------------------------------------------------


def test_disconnect_and_reconnect_drive_the_esme_supply(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock, load_w=2000)
    url, objects = served(lab, meter)
    assert isinstance(objects, EsmeObjects)
    with optical(url) as port:
        port.disconnect()
        assert meter.supply_state() == "disabled" and port.supply_state() == "disabled"
        assert port.active_power() == Decimal(0)
        port.reconnect()  # control_mode 4: remote_reconnect = Enable Supply (SRV 7.1)
        assert meter.supply_state() == "enabled" and port.supply_state() == "enabled"
        assert port.active_power() == Decimal(2000)
    meter.drain_alerts()
    with DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as client:
        client.set(70, "0.0.96.3.10.255", 4, b"\x16\x03")  # control_mode 3: reconnect arms (SRV 7.3)
    with optical(url) as port:
        port.disconnect()
        port.reconnect()
        assert port.supply_state() == "armed" and meter.supply_state() == "armed"
        assert [a.code for a in meter.drain_alerts()] == [A.SUPPLY_ARMED]
        assert port.event_log()[-1].code == A.SUPPLY_ARMED
        port.reconnect()  # no transition from ready_for_reconnection in mode 3: nothing changes
        assert port.supply_state() == "armed"
        meter.press_button()
        assert port.supply_state() == "enabled"


def test_gsme_reconnect_arms_the_valve(lab: DlmsServerThread) -> None:
    meter = gsme(clock=HandClock())
    url, objects = served(lab, meter)
    assert isinstance(objects, GsmeObjects)
    with optical(url) as port:
        port.disconnect()
        assert port.supply_state() == "disabled"
        port.reconnect()
        assert port.supply_state() == "armed"
        assert A.SUPPLY_ARMED in [a.code for a in meter.drain_alerts()]
    with DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as client:
        with pytest.raises(Exception) as err:
            client.set(70, "0.0.96.3.10.255", 4, b"\x16\x04")  # the valve's mode is fixed
        assert getattr(err.value, "code", None) == READ_WRITE_DENIED


def test_set_clock_moves_the_device_clock(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock)
    url, _ = served(lab, meter)
    target = datetime(2025, 3, 1, 12, 30, 15, tzinfo=UTC)
    with optical(url) as port:
        port.set_clock(target.astimezone(timezone(timedelta(hours=2))))  # any offset; sent as UTC
        assert meter.device_time() == target
        clock.advance(seconds=30)
        assert port.clock() == target + timedelta(seconds=30)
    with DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as client:
        client.action(8, "0.0.1.0.0.255", 6, b"\x10\x00\x3c")  # shift_time(+60 s)
    assert meter.device_time() == target + timedelta(seconds=90)


def test_shift_clock_moves_the_device_clock_relative_to_its_own_reading(lab: DlmsServerThread) -> None:
    clock = HandClock()
    meter = esme(clock=clock)
    url, _ = served(lab, meter)
    start = meter.device_time()
    with optical(url) as port:
        port.shift_clock(-8)
        assert meter.device_time() == start - timedelta(seconds=8)
        port.shift_clock(900)
        assert meter.device_time() == start + timedelta(seconds=892)
        for bad in (901, -901):
            with pytest.raises(ValueError, match="-900 to 900"):
                port.shift_clock(bad)
    assert meter.device_time() == start + timedelta(seconds=892)


def test_writes_without_lls_are_read_write_denied(lab: DlmsServerThread) -> None:
    meter = esme(clock=HandClock())
    url, _ = served(lab, meter)
    with optical(url, lls=False) as public:
        assert public.firmware_version() == "1.4.2"  # reads are public
        with pytest.raises(OpticalDeviceError) as err:
            public.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
        assert (err.value.code, err.value.kind) == (READ_WRITE_DENIED, "data-access-result")
        with pytest.raises(OpticalDeviceError) as err:
            public.disconnect()
        assert (err.value.code, err.value.kind) == (READ_WRITE_DENIED, "action-result")
    assert meter.device_time() == START and meter.supply_state() == "enabled"


def test_model_rejections_map_to_cosem_results(lab: DlmsServerThread) -> None:
    jammed = esme(clock=HandClock())
    url, _ = served(lab, jammed)
    jammed.jam_contactor()
    with optical(url) as port:
        with pytest.raises(OpticalDeviceError) as err:
            port.disconnect()
        assert (err.value.code, err.value.kind) == (HARDWARE_FAULT, "action-result")
        assert port.supply_state() == "enabled"
    assert [a.code for a in jammed.drain_alerts()] == [A.SUPPLY_DISCONNECT_FAILURE]

    broke = esme(clock=HandClock(), payment_mode=PaymentMode.PREPAYMENT, balance=-10)
    url, _ = served(lab, broke)
    with optical(url) as port:
        assert port.supply_state() == "disabled"  # disabled for credit at once
        with pytest.raises(OpticalDeviceError) as err:
            port.reconnect()  # Enable Supply without credit: invalid_state
        assert err.value.code == TEMPORARY_FAILURE

    dark = esme(clock=HandClock())
    url, _ = served(lab, dark)
    dark.power_off()
    with optical(url) as port, pytest.raises(OpticalDeviceError) as err:
        port.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    assert err.value.code == TEMPORARY_FAILURE


# -- seeded defects show through the optical port ----------------------------------------------------------


def test_defect_wrong_firmware_reported(lab: DlmsServerThread) -> None:
    versions = []
    for defects in ((), ("wrong_firmware_reported",)):
        url, _ = served(lab, esme(defects, clock=HandClock()))
        with optical(url) as port:
            versions.append((port.firmware_version(), port.identity().firmware_version))
    assert versions == [("1.4.2", "1.4.2"), ("1.4.2-rc", "1.4.2-rc")]


def test_defect_register_runs_backwards(lab: DlmsServerThread) -> None:
    deltas = []
    for defects in ((), ("register_runs_backwards",)):
        clock = HandClock()
        url, _ = served(lab, esme(defects, clock=clock, load_w=1000))
        with optical(url) as port:
            before = port.import_registers().total
            clock.advance(hours=1)
            deltas.append(port.import_registers().total - before)
    assert deltas == [Decimal(1), Decimal(-1)]


def test_defect_tou_rate_misapplied(lab: DlmsServerThread) -> None:
    reported = []
    for defects in ((), ("tou_rate_misapplied",)):
        url, _ = served(lab, esme(defects, clock=HandClock()))
        with optical(url) as port:
            reported.append(port.import_registers().tou)
    assert reported[0] == (Decimal(1000), Decimal(200), Decimal(300), Decimal(400))
    assert reported[1] == (Decimal(1000), Decimal(200), Decimal(400), Decimal(400))


def test_defect_supply_state_unchanged_by_disable(lab: DlmsServerThread) -> None:
    states = []
    for defects in ((), ("supply_state_unchanged_by_disable",)):
        url, _ = served(lab, esme(defects, clock=HandClock()))
        with optical(url) as port:
            port.disconnect()  # the defective meter answers success ...
            states.append(port.supply_state())  # ... and stays enabled
    assert states == ["disabled", "enabled"]


def test_defect_arm_enables_immediately(lab: DlmsServerThread) -> None:
    states = []
    for defects in ((), ("arm_enables_immediately",)):
        url, _ = served(lab, gsme(defects, clock=HandClock()))
        with optical(url) as port:
            port.disconnect()
            port.reconnect()
            states.append(port.supply_state())
    assert states == ["armed", "enabled"]


def test_catalogue_firmware_defect_clock_drifts(lab: DlmsServerThread) -> None:
    """VESME-3P 2.0.1-buggy carries clock_drifts in the catalogue; 2.0.0 does not."""
    errors = []
    target = datetime(2025, 2, 1, tzinfo=UTC)
    for firmware in ("2.0.0", "2.0.1-buggy"):
        clock = HandClock()
        url, _ = served(lab, esme(clock=clock, model="VESME-3P", fw=firmware))
        with optical(url) as port:
            port.set_clock(target)
            clock.advance(hours=1)
            errors.append(port.clock() - (target + timedelta(hours=1)))
    assert errors == [timedelta(0), timedelta(seconds=18)]


# -- the driver's link handling -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_closed_port_is_link_down_after_retries() -> None:
    transcript = Transcript()
    port = MeterOptical(
        f"socket://127.0.0.1:{free_port()}",
        device="rig-1/esme",
        attempts=3,
        backoff_s=0,
        transcript=transcript,
    )
    with pytest.raises(LinkDown):
        port.firmware_version()
    notes = [e.note for e in transcript.entries if e.direction == "note"]
    assert sum(n.startswith("retry ") for n in notes) == 2
    assert "LinkDown" in notes[-1]


def test_silent_meter_is_link_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)  # connections complete in the backlog; nobody ever answers
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        transcript = Transcript()
        port = MeterOptical(
            url, device="rig-1/esme", timeout=0.3, attempts=2, backoff_s=0, transcript=transcript
        )
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            port.clock()
        assert time.monotonic() - started < 3
    sent = [e.data for e in transcript.entries if e.direction == "tx"]
    assert len(sent) == 2 and all(frame.startswith(b"\x7e\xa0") for frame in sent)  # one SNRM per attempt


def test_lost_association_is_retried_on_a_new_connection(lab: DlmsServerThread) -> None:
    meter = esme(clock=HandClock())
    url = serve(lab, meter_objects(meter), inactivity_timeout=0.2)
    transcript = Transcript()
    with optical(url, transcript=transcript) as port:
        assert port.firmware_version() == "1.4.2"
        time.sleep(0.5)  # the meter drops the idle connection
        assert port.firmware_version() == "1.4.2"
    notes = [e.note for e in transcript.entries if e.direction == "note"]
    retries = [n for n in notes if n.startswith("retry ")]
    assert retries and all(" of firmware version: " in n for n in retries)  # > 1 only on a stalled machine
    assert sum(n.startswith("DLMS association to") for n in notes) == len(retries) + 1
    assert {e.device for e in transcript.entries} == {"rig-1/meter"}
    assert any(e.direction == "rx" for e in transcript.entries)


def test_wrong_password_is_a_device_error(lab: DlmsServerThread) -> None:
    url, _ = served(lab, esme(clock=HandClock()))
    port = MeterOptical(url, device="rig-1/esme", password=b"wrong", timeout=3, backoff_s=0)
    with pytest.raises(OpticalDeviceError) as err:
        port.clock()
    assert (err.value.kind, err.value.code) == ("association", 13)  # authentication-failure


# -- the two codecs and the documentation agree ---------------------------------------------------------

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))])


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=ZONES).map(
        lambda d: d.replace(microsecond=d.microsecond // 10_000 * 10_000)
    )
)
def test_driver_and_simulator_date_time_codecs_agree(when: datetime) -> None:
    assert cosem_to_datetime(encode_cosem_datetime(when)) == when
    assert decode_cosem_datetime(datetime_to_cosem(when)) == when


def test_object_list_is_documented_and_the_driver_uses_only_served_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    esme_objects = EsmeObjects(esme(clock=HandClock()))
    gsme_objects = GsmeObjects(gsme(clock=HandClock()))
    served_codes = {o.obis for o in esme_objects} | {o.obis for o in gsme_objects}
    tou = re.compile(r"^1\.0\.1\.8\.([1-9]|[1-4][0-9])\.255$")
    for obis in served_codes:
        assert tou.match(obis) or f"`{obis}`" in text, f"{obis} is served but not in docs/virtual-lab.md"
    by_role = {"esme": esme_objects, "gsme": gsme_objects}
    for info in OBJECT_LIST:  # the table as data matches what each role serves, class included
        if info.obis.endswith(".e.255"):
            continue
        for role, objects in by_role.items():
            assert (info.obis in objects) == (role in info.roles), (info.obis, role)
            if role in info.roles:
                assert objects.object(info.obis).class_id == info.class_id
    assert len(served_codes) == len(OBJECT_LIST) - 1 + 48  # every served object is in the table
    driver_codes = {
        v
        for k, v in vars(meter_optical).items()
        if k.startswith("OBIS_") and isinstance(v, str) and "{" not in v
    }
    assert driver_codes and driver_codes <= served_codes
