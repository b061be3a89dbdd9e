"""The PPMID's and IHD's ``display`` interface, end to end over DLMS/HDLC on 127.0.0.1, and the route's
``tamper`` fault through a running lab's control API.

Server side: :mod:`labs.virtual.display_objects` over catalogue-built displays joined to a CH with an ESME
and a GSME (what the CH forwards is what the screen shows). Client side: the project's
:class:`DisplayPort` (written without the simulator's tables) and the stock dlms-cosem client. Then a
real ``dmct lab up`` process: displays served on their ``display`` links, and the control API's
``tamper`` op — logged, refused with a clear error for bad input, the lab serving on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from device_drivers.errors import LinkDown
from device_drivers.lab_control import CONTROL_ENDPOINT, LabControlClient, LabControlError, control_address
from device_drivers.protocols import display as display_driver
from device_drivers.protocols.display import DisplayedMeter, DisplayIdentity, DisplayPort
from device_drivers.protocols.dlms import DlmsDeviceError, DlmsOpticalClient, quiet_dlms_cosem_logging
from device_drivers.roles import IhdDriver, PpmidDriver
from device_drivers.route import (
    DCC_INVENTORY,
    TAMPER,
    RouteError,
    RouteFacilityUnsupported,
    VirtualServiceRoute,
    load_route,
)
from labs.virtual.control import LabControl
from labs.virtual.devices import PaymentMode, make_utrn
from labs.virtual.devices.han import HanDisplay
from labs.virtual.display_objects import DISPLAY_OBJECT_LIST, DisplayObjects
from labs.virtual.dlms_server import DlmsEndpoint, DlmsServerThread
from tests.conftest import REPO, RunningLab, virtual_lab_data
from tests.virtual.test_devices_support import START, HandClock, ch, esme, gsme, ihd, ppmid
from tests.virtual.test_meter_objects import PASSWORD, attribute, port_of, stock_client

READ_WRITE_DENIED, OBJECT_UNDEFINED = 3, 4
DOC = Path(__file__).resolve().parents[2] / "docs" / "virtual-lab.md"
PPMID_EUI, IHD_EUI, ESME_EUI = "00-1A-2B-FF-FE-00-00-04", "00-1A-2B-FF-FE-00-00-05", "00-1A-2B-FF-FE-00-00-02"

quiet_dlms_cosem_logging()


@pytest.fixture(scope="module")
def server() -> Iterator[DlmsServerThread]:
    with DlmsServerThread() as running:
        yield running


class Home:
    """A CH with an ESME (prepayment, 1000 p), a GSME (1 m³/h) and both displays joined."""

    def __init__(self, *, defects: tuple[str, ...] = ()) -> None:
        self.clock = HandClock()
        self.ch = ch(clock=self.clock)
        self.esme = esme(clock=self.clock, payment_mode=PaymentMode.PREPAYMENT, balance=1000, load_w=0)
        self.gsme = gsme(clock=self.clock, flow_m3h=1.0)
        self.ppmid = ppmid(defects, clock=self.clock)
        self.ihd = ihd(defects, clock=self.clock)
        devices = (self.esme, self.gsme, self.ppmid, self.ihd)
        for device in devices:
            self.ch.attach(device)
        self.ch.update_device_log({d.device_id: d.role for d in devices})  # type: ignore[misc]
        for device in devices:
            self.ch.join(device.device_id)

    def gsme_wake(self) -> None:
        """Half an hour later: the GSME has woken and the CH forwarded its reading."""
        self.clock.advance(minutes=31)
        self.gsme.advance()


def serve(server: DlmsServerThread, display: HanDisplay, *, password: bytes | None = None) -> str:
    objects = DisplayObjects(display, manufacturer_flag="VDL")
    return f"socket://127.0.0.1:{server.add_endpoint(DlmsEndpoint(model=objects, password=password))}"


def screen(url: str, *, lls: bool = False) -> DisplayPort:
    return DisplayPort(url, device="rig-1/ppmid", password=PASSWORD if lls else None, timeout=3)


# -- the object list through DisplayPort and the stock client ---------------------------------------------


def test_ppmid_screen_through_display_port(server: DlmsServerThread) -> None:
    home = Home()
    url = serve(server, home.ppmid)
    with screen(url) as port:
        assert port.identity() == DisplayIdentity("VDL", "VPPMID-1", home.ppmid.device_id, "1.0.0")
        assert port.clock() == START and port.firmware_version() == "1.0.0"
        assert port.displayed_message() == "" and port.displayed_meters() == {}
        home.esme.display_message("Top up soon")
        assert port.displayed_message() == "Top up soon"
        home.gsme_wake()
        home.esme.top_up(make_utrn(home.esme.device_id, 500, 1))
        shown = port.displayed_meters()
        forwarded = home.ppmid.readings[home.gsme.device_id]["volume_m3"]  # the reading at the wake
        assert isinstance(forwarded, float)
        volume = Decimal(round(forwarded * 1000)).scaleb(-3)
        assert shown == {
            home.esme.device_id: DisplayedMeter(home.esme.device_id, Decimal(1500), None),
            home.gsme.device_id: DisplayedMeter(home.gsme.device_id, None, volume),
        }
        assert volume > 0
        assert port.shown_balance(home.esme.device_id.lower()) == Decimal(1500)
        assert port.clock() == START + timedelta(minutes=31)


def test_role_drivers_read_the_screen(server: DlmsServerThread) -> None:
    home = Home()
    home.esme.display_message("Hello")
    for driver in (
        PpmidDriver("rig-1/ppmid", screen(serve(server, home.ppmid))),
        IhdDriver("rig-1/ihd", screen(serve(server, home.ihd))),
    ):
        with driver.display:
            assert driver.displayed_message() == "Hello"
            assert driver.identity().model == ("VPPMID-1" if driver.role == "ppmid" else "VIHD-1")
            assert driver.firmware_version() in ("1.0.0", "1.1.0") and driver.displayed_meters() == {}


def test_stock_dlms_cosem_client_reads_the_screen(server: DlmsServerThread) -> None:
    home = Home()
    url = serve(server, home.ihd)
    home.esme.display_message("Crédit bas")
    home.gsme_wake()
    client = stock_client(port_of(url), lls=False)
    with client.session():
        from dlms_cosem import utils as dc_utils

        message = dc_utils.parse_as_dlms_data(client.get(attribute(1, "0.0.96.13.0.255", 2)))
        meters = dc_utils.parse_as_dlms_data(client.get(attribute(1, "0.0.96.13.128.255", 2)))
        name = dc_utils.parse_as_dlms_data(client.get(attribute(1, "0.0.42.0.0.255", 2)))
    assert message == "Crédit bas".encode()
    assert name == b"VDLVIHD-1"
    forwarded = home.ihd.readings[home.gsme.device_id]["volume_m3"]
    assert isinstance(forwarded, float) and forwarded > 0
    assert [list(row) for row in meters] == [[home.gsme.device_id.encode(), None, round(forwarded * 1000)]]


def test_every_display_object_is_read_only(server: DlmsServerThread) -> None:
    home = Home()
    url = serve(server, home.ppmid, password=PASSWORD)
    with DlmsOpticalClient(url, client_address=1, password=PASSWORD, timeout=3) as management:
        for obis, class_id in (("0.0.96.13.0.255", 1), ("0.0.1.0.0.255", 8), ("0.0.96.13.128.255", 1)):
            with pytest.raises(DlmsDeviceError) as err:
                management.set(class_id, obis, 2, b"\x09\x02hi")
            assert err.value.code == READ_WRITE_DENIED, obis
        with pytest.raises(DlmsDeviceError) as err:
            management.action(8, "0.0.1.0.0.255", 6, b"\x10\x00\x3c")  # no shift_time on a display
        assert err.value.code == OBJECT_UNDEFINED
    assert home.ppmid.last_message() is None and home.ppmid.device_time() == START


@pytest.mark.parametrize("role", ["ppmid", "ihd"])
def test_defect_display_frozen_two_updates_two_readbacks(server: DlmsServerThread, role: str) -> None:
    """A frozen display keeps its first update: the second message never replaces the first."""
    seen = []
    for defects in ((), ("display_frozen",)):
        home = Home(defects=defects)
        url = serve(server, getattr(home, role))
        with screen(url) as port:
            readbacks = []
            for text in ("First", "Second"):
                home.esme.display_message(text)
                readbacks.append(port.displayed_message())
            seen.append(readbacks)
    assert seen == [["First", "Second"], ["First", "First"]]


def test_display_object_list_is_documented_and_the_driver_uses_only_served_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    served = {o.obis for o in DisplayObjects(ppmid(clock=HandClock()))}
    assert served == {info.obis for info in DISPLAY_OBJECT_LIST}
    section = text[text.index("## 2b.") : text.index("## 3.")]
    for info in DISPLAY_OBJECT_LIST:
        assert f"| `{info.obis}` | {info.class_id} " in section, f"{info.obis} is not in section 2b"
    driver_codes = {
        v for k, v in vars(display_driver).items() if k.startswith("OBIS_") and isinstance(v, str)
    }
    from device_drivers.protocols import meter_optical

    used = driver_codes | {meter_optical.OBIS_CLOCK, meter_optical.OBIS_LOGICAL_DEVICE_NAME}
    used |= {meter_optical.OBIS_DEVICE_ID, meter_optical.OBIS_FIRMWARE, meter_optical.OBIS_DISPLAYED_MESSAGE}
    assert used == served


# -- a running lab: display links, and the route's tamper fault through the control API ------------------


def test_default_lab_has_a_ppmid_and_an_ihd_with_display_links() -> None:
    """labs/virtual.yaml's standard rig carries a PPMID and an IHD, each with its ``display`` link (issue 14:
    display forwarding is tested on the default lab)."""
    rig = virtual_lab_data()["rigs"][0]
    shown = {
        d["role"]: (d["eui64"], d["links"]["display"]["url"])
        for d in rig["devices"]
        if "display" in d.get("links", {})
    }
    assert shown == {
        "ppmid": (PPMID_EUI, "virtual://rig-1/ppmid/display"),
        "ihd": (IHD_EUI, "virtual://rig-1/ihd/display"),
    }


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningLab, dict[str, Any]]]:
    from tests.conftest import start_lab, stop_lab

    tmp = tmp_path_factory.mktemp("display-lab")
    data = virtual_lab_data()
    path = tmp / "lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    lab = start_lab(path, tmp / "endpoints.json")
    try:
        yield lab, json.loads(lab.endpoints.read_text())
    finally:
        stop_lab(lab)


def test_lab_serves_the_displays_and_publishes_the_control_api(running: tuple[RunningLab, Any]) -> None:
    _lab, published = running
    endpoints = published["endpoints"]
    assert endpoints[CONTROL_ENDPOINT] == f"tcp://{published['control']}"
    assert control_address(endpoints) == published["control"]
    for role, eui, model in (("ppmid", PPMID_EUI, "VPPMID-1"), ("ihd", IHD_EUI, "VIHD-1")):
        url = f"virtual://rig-1/{role}/display"
        assert endpoints[url].startswith("socket://127.0.0.1:")
        with DisplayPort(url, device=f"rig-1/{role}", endpoints=endpoints, timeout=3) as port:
            assert port.identity() == DisplayIdentity(
                "VDL", model, eui, "1.0.0" if role == "ppmid" else "1.1.0"
            )
            assert port.displayed_message() == ""


def test_a_display_link_on_a_meter_is_refused(lab_file: Callable[..., Path], tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        esme_links = next(d for d in data["rigs"][0]["devices"] if d["role"] == "esme")["links"]
        esme_links["display"] = {"url": "virtual://rig-1/esme/display"}

    command = ["lab", "up", str(lab_file(edit)), "--endpoints", str(tmp_path / "e.json")]
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", *command], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert "rig-1/esme: only a PPMID or IHD has a 'display' interface" in out.stderr, out.stderr


def route_of(published: dict[str, Any], **kw: Any) -> VirtualServiceRoute:
    route = load_route(
        "virtual", url="virtual://lab/route/s1sp", keys_dir=published["route_keys"],
        endpoints=published["endpoints"], timeout=30.0, **kw,
    )  # fmt: skip
    assert isinstance(route, VirtualServiceRoute)
    return route


def test_tamper_fault_is_set_logged_and_applied(running: tuple[RunningLab, Any]) -> None:
    """The route driver sets the fault through the control API; the fault log shows it set and, when the
    next critical Instruction to the CH consumed it, applied (the CH then refuses: 0x8F3D, E11)."""
    lab, published = running
    route = route_of(published)
    try:
        assert route.supports(TAMPER)
        ch_eui = "00-1A-2B-FF-FE-00-00-01"
        route.tamper_next_instruction(ch_eui.lower(), kind="signature")
        with LabControl(lab.endpoints) as control:
            assert control.call({"op": "status"})["route"]["tamper"] == {"rig-1/ch": ["signature"]}
        result = route.submit("1.5", ESME_EUI, {"delta": 1.0}, user="supplier", check=False)
        assert result.code == "E14"  # not migrated: refused before any Instruction, fault still pending
        # the first Instruction migration sends the CH (device testing) consumes it: that attempt fails
        migrated = route.migrate("rig-1", user="supplier", timeout=60)
        assert migrated.migrated and migrated.attempts == 2, migrated.raw
        assert "bad_signature" in migrated.raw["result"]["failures"][0]
        with LabControl(lab.endpoints) as control:
            route_faults = [
                e
                for e in control.log()
                if e["device"] == "route" and json.loads(e["detail"]).get("target") == "rig-1/ch"
            ]
        kinds = [e["kind"] for e in route_faults]
        assert kinds[0] == "tamper"
        set_detail = json.loads(route_faults[0]["detail"])
        assert set_detail == {"count": 1, "eui64": ch_eui, "kind": "signature", "target": "rig-1/ch"}
        assert kinds[1:] == ["tamper_applied"], kinds
        applied = json.loads(route_faults[1]["detail"])
        assert applied["target"] == "rig-1/ch" and applied["kind"] == "signature" and applied["command"]
    finally:
        route.close()


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"op": "tamper", "device": "rig-9/esme"}, "unknown device 'rig-9/esme' for the route"),
        ({"op": "tamper", "device": "00-00-00-00-00-00-00-00"}, "unknown device"),
        ({"op": "tamper", "device": "rig-1/esme", "kind": "smoke"}, "unknown tamper kind 'smoke'"),
        ({"op": "tamper", "device": "rig-1/esme", "count": 0}, "count must be an integer from 1 to 100"),
        ({"op": "tamper", "device": "rig-1/esme", "count": "2"}, "count must be an integer"),
        ({"op": "tamper"}, "unknown device None"),
    ],
)
def test_bad_tamper_requests_get_an_error_and_the_lab_serves_on(
    running: tuple[RunningLab, Any], request_: dict[str, Any], error: str
) -> None:
    lab, published = running
    client = LabControlClient(published["control"], timeout=5)
    with pytest.raises(LabControlError, match=re.escape(error)):
        client.call(request_)
    assert lab.proc.poll() is None
    assert client.call({"op": "status"})["ok"] is True
    assert client.call({"op": "tamper", "device": "rig-1/ppmid", "clear": True})["dropped"] == 0


def test_route_driver_errors_for_tamper(running: tuple[RunningLab, Any], tmp_path: Path) -> None:
    _lab, published = running
    route = route_of(published)
    with pytest.raises(LabControlError, match="unknown device"):
        route.tamper_next_instruction("rig-9/esme")
    with pytest.raises(ValueError, match="unknown tamper kind"):
        route.tamper_next_instruction(ESME_EUI, kind="smoke")
    assert route.clear_tamper(ESME_EUI) == 0
    blind = route_of(
        published | {"endpoints": {k: v for k, v in published["endpoints"].items() if k != CONTROL_ENDPOINT}}
    )
    assert not blind.supports(TAMPER)
    with pytest.raises(RouteFacilityUnsupported):
        blind.tamper_next_instruction(ESME_EUI)
    gone = route_of(published, control="127.0.0.1:1")
    with pytest.raises(LinkDown, match="cannot reach the lab control API"):
        gone.tamper_next_instruction(ESME_EUI)


def test_dcc_inventory_status_through_the_control_api(running: tuple[RunningLab, Any]) -> None:
    """The DCC's own status change (``inventory_status``), as the packs' status sweeps use it where the
    route's SRV 8.4 cannot suspend: the migrated ESME Suspended takes no SRVs (E14), Commissioned again
    takes them; each change is in the lab's fault log; a status the DCC does not set and an unknown
    device get one error line and the lab serves on."""
    lab, published = running
    route = route_of(published)
    try:
        assert route.supports(DCC_INVENTORY)
        try:
            status = route.inventory(ESME_EUI, user="supplier")["status"]
        except RouteError:  # the dormant rig is not in the inventory until migrated
            status = None
        if status != "Commissioned":  # another test of this lab may have migrated it
            assert route.migrate("rig-1", user="supplier", timeout=60).migrated
        assert route.set_dcc_status(ESME_EUI, "Suspended") == "Suspended"
        assert route.inventory(ESME_EUI, user="supplier")["status"] == "Suspended"
        assert route.submit("7.4", ESME_EUI, {}, user="supplier", check=False).code == "E14"
        client = LabControlClient(published["control"], timeout=5)
        with pytest.raises(LabControlError, match="the DCC sets no status 'Pending'"):
            client.call({"op": "inventory_status", "device": "rig-1/esme", "status": "Pending"})
        with pytest.raises(LabControlError, match="unknown device 'rig-9/esme'"):
            client.call({"op": "inventory_status", "device": "rig-9/esme", "status": "Commissioned"})
        with pytest.raises(ValueError, match="the DCC sets no status 'Withdrawn'"):
            route.set_dcc_status(ESME_EUI, "Withdrawn")
        answer = client.call({"op": "inventory_status", "device": "rig-1/esme", "status": "Commissioned"})
        assert (answer["was"], answer["status"], answer["eui64"]) == ("Suspended", "Commissioned", ESME_EUI)
        assert route.submit("7.4", ESME_EUI, {}, user="supplier").code == "I0"
        with LabControl(lab.endpoints) as control:
            changes = [json.loads(e["detail"]) for e in control.log() if e["kind"] == "dcc_status"]
        assert changes[-2:] == [
            {"status": "Suspended", "target": "rig-1/esme", "was": "Commissioned"},
            {"status": "Commissioned", "target": "rig-1/esme", "was": "Suspended"},
        ]
        assert lab.proc.poll() is None
        blind = route_of(
            published
            | {"endpoints": {k: v for k, v in published["endpoints"].items() if k != CONTROL_ENDPOINT}}
        )
        assert not blind.supports(DCC_INVENTORY)
        with pytest.raises(RouteFacilityUnsupported):
            blind.set_dcc_status(ESME_EUI, "Suspended")
    finally:
        route.close()
