"""Run every simulated device of a lab in one asyncio process (``dmct lab up``).

Each ``virtual://rig/device/interface`` link of the lab file gets a TCP listener on 127.0.0.1 with an
OS-chosen port; the mapping is written (atomically) to an endpoints file that the harness reads, with
the address of the control API (:mod:`labs.virtual.control`), and a readiness line is printed. The
process stops cleanly on SIGTERM/SIGINT and, when started with ``watch_stdin``, as soon as its parent
closes our stdin — so a killed parent never leaves a lab behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import gc
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from harness.lab.inventory import DeviceSpec, Lab, LinkSpec, RigSpec, VirtualDeviceConfig
from labs.virtual.clock import SimClock
from labs.virtual.cosem import AuthLevel
from labs.virtual.cosem.security import SecurityKeys
from labs.virtual.devices.base import Device
from labs.virtual.devices.behaviour import Behaviour
from labs.virtual.devices.catalogue import CatalogueError, load_catalogue
from labs.virtual.devices.esme import Esme
from labs.virtual.devices.factory import DeviceSettings, build_device
from labs.virtual.devices.gsme import Gsme
from labs.virtual.devices.meter import Meter
from labs.virtual.faults import FaultConfig, FaultInjector, FaultLog
from labs.virtual.iec62056_21 import IDLE_TIMEOUT_S, ReadoutTiming, serve_readout, serve_readout_on_fd
from labs.virtual.lab_state import VirtualDevice, VirtualLab
from labs.virtual.scheduler import EventScheduler

if TYPE_CHECKING:
    from labs.virtual.cosem import CosemModel

#: How often the polling clock (``clock="poll"``) lets every model catch up with its clock.
TICK_S = 1.0

HOST = "127.0.0.1"
#: The control API's entry in the endpoints map, so a client handed only that map (the harness's route
#: driver, for the route's ``tamper`` fault) can reach it. ``tcp://``: a line protocol, not a byte stream.
CONTROL_ENDPOINT = "virtual://lab/control/jsonl"


class VirtualRigPlant:
    """Couples a rig's instrument bank to its simulated devices (the :class:`RigPlant` protocol).

    A relay switched off takes the device off the air (connections cut and refused); switched on it
    reboots. The load source drives the ESME's consumption; measured power is that load only while
    the ESME is powered.
    """

    def __init__(self, rig: str, devices: dict[str, VirtualDevice]) -> None:
        self.rig = rig
        self.devices = devices
        self.flow_lph = 0.0

    def _device(self, role: str) -> VirtualDevice | None:
        return self.devices.get(f"{self.rig}/{role}")

    def set_power(self, role: str, on: bool) -> None:
        device = self._device(role)
        if device is None:
            return
        if not on:
            device.powered = False
            device.cut()
            device.model.power_off()
            device.faults.log.add(device.name, "power", "off")
        elif not device.powered:
            device.powered = True
            device.model.power_on()
            device.faults.log.add(device.name, "power", "on (reboot)")

    def apply_load(self, watts: float) -> None:
        esme = self._device("esme")
        if esme is not None and isinstance(esme.model, Esme):
            esme.model.apply_load(watts)

    def measured_power(self) -> float:
        esme = self._device("esme")
        return esme.model.measured_power() if esme is not None and isinstance(esme.model, Esme) else 0.0

    def set_gas_flow(self, lph: float) -> None:
        gsme = self._device("gsme")
        if gsme is not None and isinstance(gsme.model, Gsme):
            gsme.model.apply_flow(lph / 1000.0)  # the instrument speaks l/h, the meter m³/h

    def load_setpoint(self) -> float:
        esme = self._device("esme")
        return float(esme.model.load_w) if esme is not None and isinstance(esme.model, Esme) else 0.0

    def gas_flow_setpoint(self) -> float:
        gsme = self._device("gsme")
        if gsme is None or not isinstance(gsme.model, Gsme):
            return 0.0
        return float(gsme.model.flow_m3h) * 1000.0

    def measured_gas_flow(self) -> float:
        gsme = self._device("gsme")
        if gsme is None or not isinstance(gsme.model, Gsme):
            return 0.0
        return gsme.model.measured_flow() * 1000.0

    def set_cover(self, role: str, open: bool) -> None:
        device = self._device(role)
        if device is None or not isinstance(device.model, Meter):
            return
        device.faults.log.add(device.name, "terminal_cover", "off" if open else "on")
        if open:  # lifting the cover is the tamper; putting it back is not another one
            device.model.tamper("terminal_cover")

    def set_battery(self, pct: float) -> None:
        gsme = self._device("gsme")
        if gsme is not None and isinstance(gsme.model, Gsme):
            gsme.faults.log.add(gsme.name, "battery", f"{pct:g} %")
            gsme.model.battery_supply(pct)
            if gsme.powered and not gsme.model.powered:  # a flat battery charged again, relay on
                gsme.model.power_on()

    def battery_level(self) -> float:
        gsme = self._device("gsme")
        if gsme is None or not isinstance(gsme.model, Gsme):
            return 0.0
        gsme.model.advance()  # its idle wakes (each drains a little) are caught up when looked at
        return float(gsme.model.battery_pct)


def build_model(spec: DeviceSpec, clock: SimClock) -> Device:
    """The behaviour model of a simulated device, from the virtual device catalogue."""
    config = spec.virtual or VirtualDeviceConfig()
    catalogue = load_catalogue()
    entry = catalogue.find(spec.manufacturer, spec.model, spec.hardware_version)
    defects = catalogue.resolve_defects(entry, spec.firmware_version, config.defects)
    settings = DeviceSettings.pick(config.model_dump())
    if spec.serial:
        settings["serial"] = spec.serial
    if spec.eui64:
        settings["device_id"] = spec.eui64.upper()
    return build_device(entry, spec.firmware_version, defects, clock, catalogue=catalogue, **settings)


def expand_rigs(lab: Lab, copies: int) -> Lab:
    """The lab with each rig repeated ``copies`` times (``rig-1`` → ``rig-1``, ``rig-1.2`` ...).

    Every copy is a distinct rig: its virtual links, instruments, serials and EUI-64s are renamed.
    """
    if copies <= 1:
        return lab
    data: dict[str, Any] = lab.model_dump(mode="json")
    rigs = []
    for rig in data["rigs"]:
        for n in range(1, copies + 1):
            clone = copy.deepcopy(rig)
            if n > 1:
                clone["id"] = f"{rig['id']}.{n}"
                old, new = f"virtual://{rig['id']}/", f"virtual://{clone['id']}/"
                for device in clone["devices"]:
                    for link in device.get("links", {}).values():
                        link["url"] = link["url"].replace(old, new)
                    if device.get("eui64"):
                        # The copy number in octet 6, its high bits added to octet 7: up to 65,535
                        # copies stay distinct and well-formed (one octet alone stops at 255).
                        groups = device["eui64"].split("-")
                        groups[5] = f"{n & 0xFF:02X}"
                        groups[6] = f"{(int(groups[6], 16) + (n >> 8)) & 0xFF:02X}"
                        device["eui64"] = "-".join(groups)
                    if device.get("serial"):
                        device["serial"] = f"{device['serial']}.{n}"
                if clone.get("instruments"):
                    clone["instruments"]["url"] = clone["instruments"]["url"].replace(old, new)
            rigs.append(clone)
    data["rigs"] = rigs
    return Lab.model_validate(data)


def build_lab(lab: Lab, log: FaultLog) -> VirtualLab:
    """Every device of a virtual lab, simulated: models from the catalogue, on one reference clock.

    A device the catalogue does not know is a lab-file error naming the rig and device.
    """
    devices: dict[str, VirtualDevice] = {}
    # One reference clock for the whole lab (its rate: the first ``clock_rate`` in the file), so the
    # route's HAN latencies and every rig's devices share one notion of time; devices drift on top.
    rate = next((d.virtual.clock_rate for r in lab.rigs for d in r.devices if d.virtual is not None), 1.0)
    clock = SimClock(rate=rate)
    for index, rig in enumerate(lab.rigs):
        for number, spec in enumerate(rig.devices):
            name = f"{rig.id}/{spec.role}"
            try:
                model = build_model(spec, clock)
            except (CatalogueError, ValueError) as exc:
                raise LabBuildError(f"rigs[{index}].devices[{number}] ({name}): {exc}") from None
            config = spec.virtual or VirtualDeviceConfig()
            faults = FaultInjector(name, log, FaultConfig.from_dict(config.faults), seed=index)
            devices[name] = VirtualDevice(name, spec, model, faults)
    return VirtualLab(lab, devices, log, clock)


class LabBuildError(ValueError):
    """The lab file asks for a device the virtual lab cannot simulate."""


async def _serve_device(lab: VirtualLab, rig: RigSpec, device: VirtualDevice) -> None:
    for iface, link in device.spec.links.items():
        if not link.url.startswith("virtual://"):
            continue
        model = device.model
        if iface == "dlms":
            await _serve_dlms(lab, device, link)
            continue
        if iface == "display":
            await _serve_display(lab, device, link)
            continue
        if iface != "optical" or not isinstance(model, Esme):
            raise LabBuildError(
                f"{device.name}: the virtual lab serves no {iface!r} interface for this device"
            )
        config = device.spec.virtual or VirtualDeviceConfig()
        handler = functools.partial(
            serve_readout,
            manufacturer_flag=model.manufacturer_flag,
            identification=lambda m=model: m.model,  # type: ignore[misc]
            datasets=model.readout,
            faults=device.faults,
            idle_timeout=config.idle_timeout_s or IDLE_TIMEOUT_S,
            device_address=model.serial,
            serial=model.serial,
            timing=readout_timing(model.behaviour, config),
        )

        async def accept(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
            d: VirtualDevice = device,
            h: Any = handler,
        ) -> None:
            if not d.admit(writer):
                writer.close()
                return
            try:
                await h(reader, writer)
            finally:
                d.connections.discard(writer)

        server = await asyncio.start_server(accept, HOST, 0)
        lab.servers.append(server)
        lab.endpoints[link.url] = f"socket://{HOST}:{server.sockets[0].getsockname()[1]}"
        if lab.pty:  # the readout on a pseudo-terminal too, like the DLMS ports (faults still apply)
            master, slave = os.openpty()
            stop = await serve_readout_on_fd(master, **handler.keywords)
            lab.ptys[link.url] = os.ttyname(slave)
            lab.closers.append(stop)
            lab.closers.append(functools.partial(_close_fds, master, slave))


def readout_timing(behaviour: Behaviour, config: VirtualDeviceConfig) -> ReadoutTiming:
    """The IEC 62056-21 reaction times: the device model's (catalogue behaviour), unless the lab file
    overrides them for this device (``virtual.readout_reaction_ms``, both answers)."""
    if config.readout_reaction_ms is not None:
        return ReadoutTiming(config.readout_reaction_ms / 1000, config.readout_reaction_ms / 1000)
    return ReadoutTiming(behaviour.readout_identification_ms / 1000, behaviour.readout_data_ms / 1000)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


async def _serve_dlms(lab: VirtualLab, device: VirtualDevice, link: LinkSpec) -> None:
    """The meter's DLMS/COSEM object list over HDLC (docs/virtual-lab.md), faults and power applied."""
    from labs.virtual.meter_objects import meter_objects

    model = device.model
    if not isinstance(model, Esme | Gsme):
        raise LabBuildError(f"{device.name}: only meters have a DLMS optical port")
    config = device.spec.virtual or VirtualDeviceConfig()
    await _serve_cosem(lab, device, link, meter_objects(model, manufacturer_flag=config.manufacturer_flag))


async def _serve_display(lab: VirtualLab, device: VirtualDevice, link: LinkSpec) -> None:
    """A PPMID's or IHD's screen as a read-only DLMS/COSEM object list (docs/virtual-lab.md): the lab's
    stand-in for a technician reading the display, on the same transport as the meters' ports."""
    from labs.virtual.devices.han import HanDisplay
    from labs.virtual.display_objects import DisplayObjects

    model = device.model
    if not isinstance(model, HanDisplay):
        raise LabBuildError(f"{device.name}: only a PPMID or IHD has a 'display' interface")
    config = device.spec.virtual or VirtualDeviceConfig()
    await _serve_cosem(lab, device, link, DisplayObjects(model, manufacturer_flag=config.manufacturer_flag))


async def _serve_cosem(lab: VirtualLab, device: VirtualDevice, link: LinkSpec, objects: CosemModel) -> None:
    """Serve ``objects`` over HDLC + DLMS on a loopback port (and a pty with ``--pty``), with the device's
    faults and power applied."""
    from labs.virtual.dlms_server import DlmsEndpoint, serve_dlms_on_fd, serve_endpoint

    associations, security = dlms_security(device, link)
    endpoint = DlmsEndpoint(
        objects,
        password=link.password.encode() if link.password else None,
        associations=associations,
        security=security,
        name=device.name,
        inactivity_timeout=(device.spec.virtual or VirtualDeviceConfig()).idle_timeout_s or 120.0,
        on_connection=device.on_dlms_connection,
        send=device.faults.send,
    )
    server = await serve_endpoint(endpoint, HOST, 0)
    lab.servers.append(server)
    lab.endpoints[link.url] = f"socket://{HOST}:{server.sockets[0].getsockname()[1]}"
    if lab.pty:
        # The same port on a pseudo-terminal too, for serial-only tools (no connection hook: a pty
        # has no connections to refuse; faults still apply).
        master, slave = os.openpty()
        stop = await serve_dlms_on_fd(dataclasses.replace(endpoint, on_connection=None), master)
        lab.ptys[link.url] = os.ttyname(slave)
        lab.closers.append(stop)
        lab.closers.append(functools.partial(_close_fds, master, slave))


def dlms_security(
    device: VirtualDevice, link: LinkSpec
) -> tuple[dict[int, AuthLevel] | None, SecurityKeys | None]:
    """Client SAP -> mechanism of a DLMS port (the lab file's link, else the device model's catalogue
    entry, else the server's default) and, where one is HLS-GMAC, its keys from the link's ``hls``."""
    mechanisms = {"none": AuthLevel.NONE, "lls": AuthLevel.LLS, "hls-gmac": AuthLevel.HLS}
    declared = link.associations
    if declared is None:
        declared = device.model.behaviour.dlms_associations
    if declared is None:
        return None, None
    associations = {sap: mechanisms[name] for sap, name in declared.items()}
    if AuthLevel.HLS not in associations.values():
        return associations, None
    flag = (device.spec.virtual or VirtualDeviceConfig()).manufacturer_flag.upper().encode()
    hls = link.hls
    title = (
        bytes.fromhex(hls.system_title)
        if hls is not None and hls.system_title
        else flag + hashlib.sha256(device.name.encode()).digest()[:5]
    )
    if hls is None:
        # The meter has its keys whether or not the lab file holds them: one nobody knows, so every
        # AARQ on that SAP is refused (deciphering-error), as a real meter's would be.
        return associations, SecurityKeys(os.urandom(16), os.urandom(16), title)
    keys = SecurityKeys(bytes.fromhex(hls.authentication_key), bytes.fromhex(hls.encryption_key), title)
    return associations, keys


async def _serve_route(lab: VirtualLab, keys_dir: Path) -> None:
    """The virtual S1SP/DCO over every rig's installation, with its test keys written to ``keys_dir``."""
    spec = lab.lab.route
    if spec is None or not spec.url.startswith("virtual://"):
        return
    from labs.virtual.devices.ch import CommsHub
    from labs.virtual.devices.han import Ihd, Ppmid
    from labs.virtual.s1sp import RouteInstallation, ServiceConfig, build_service, serve_route

    installations = []
    for rig in lab.lab.rigs:
        models = {d.spec.role: d.model for d in lab.devices.values() if d.name.startswith(f"{rig.id}/")}
        ch, esme, gsme = models.get("ch"), models.get("esme"), models.get("gsme")
        ppmid, ihd = models.get("ppmid"), models.get("ihd")
        if not isinstance(ch, CommsHub) or not isinstance(esme, Esme):
            raise LabBuildError(f"rig {rig.id}: the virtual route needs a simulated CH and ESME")
        entry = next((e for e in lab.lab.entries if rig.serves(e)), None)  # its installation type
        installations.append(
            RouteInstallation(
                rig.id,
                ch=ch,
                esme=esme,
                gsme=gsme if isinstance(gsme, Gsme) else None,
                ppmid=ppmid if isinstance(ppmid, Ppmid) else None,
                ihd=ihd if isinstance(ihd, Ihd) else None,
                installation=entry.installation if entry else "dormant",
                master_keys_available=rig.virtual.master_keys if rig.virtual else True,
            )
        )
    config = ServiceConfig(clock=lab.clock_mode)
    service = build_service(installations, clock=lab.clock, keys_dir=keys_dir, config=config)
    service.scheduler = lab.scheduler  # one timer heap for the whole lab (None when polling)
    from labs.virtual.s1sp.route_defects import ROUTE_DEFECTS

    unknown = sorted(set(spec.defects) - set(ROUTE_DEFECTS))
    if unknown:
        raise LabBuildError(
            f"route: unknown seeded defect {unknown[0]!r} (known: {', '.join(sorted(ROUTE_DEFECTS))})"
        )
    service.defects = frozenset(spec.defects)
    from labs.virtual.s1sp import MigrationFault

    for rig in lab.lab.rigs:  # the state negative paths need (lab file `virtual:` on the rig)
        if rig.virtual is None:
            continue
        ch = lab.devices[f"{rig.id}/ch"].model
        if not rig.virtual.wan_connected and isinstance(ch, CommsHub):
            ch.set_wan(False)
        if rig.virtual.migration_faults:
            service.migration_faults[rig.id] = [
                MigrationFault(f.phase, f.kind, f.times) for f in rig.virtual.migration_faults
            ]
    service.fault_log = lab.log  # route faults (tampered Instructions) are logged like every fault
    server = await serve_route(service, HOST, 0, faults=FaultInjector("route", lab.log))
    lab.servers.append(server)
    lab.route = service
    lab.route_keys = keys_dir
    framed_url = spec.url
    if spec.kind == "duis" and spec.dsp is not None:  # DUIS in front; the framed route for migration
        from labs.virtual.dsp.setup import DspSetupError, serve_for_lab

        try:
            dsp_server, lab.endpoints[spec.url] = await serve_for_lab(service, spec.dsp, keys_dir, HOST)
        except DspSetupError as exc:
            raise LabBuildError(str(exc)) from None
        lab.servers.append(dsp_server)
        framed_url = spec.dsp.s1sp_url
    lab.endpoints[framed_url] = f"socket://{HOST}:{server.sockets[0].getsockname()[1]}"


async def start(lab: VirtualLab, keys_dir: Path) -> None:
    for rig in lab.lab.rigs:
        for spec in rig.devices:
            device = lab.devices.get(f"{rig.id}/{spec.role}")
            if device is not None:
                await _serve_device(lab, rig, device)
    await _serve_instruments(lab)
    await _serve_route(lab, keys_dir)
    from labs.virtual.control import serve_control

    server = await serve_control(lab, HOST)
    lab.servers.append(server)
    lab.control = f"{HOST}:{server.sockets[0].getsockname()[1]}"
    lab.endpoints[CONTROL_ENDPOINT] = f"tcp://{lab.control}"


async def _serve_instruments(lab: VirtualLab) -> None:
    from labs.virtual.instruments import InstrumentBank

    for rig in lab.lab.rigs:
        config = rig.instruments
        if config is None or not config.url.startswith("virtual://"):
            continue
        plant = VirtualRigPlant(rig.id, lab.devices)
        # The lab file's map as plain data: the bank reads it with the simulator's own code.
        points = config.map.model_dump(mode="json")
        bank = InstrumentBank(plant, points, device_id=config.device_id, name=f"{rig.id}/instruments")
        await bank.start(HOST)
        lab.banks.append(bank)
        lab.endpoints[config.url] = bank.endpoint


def write_endpoints(path: Path, lab: VirtualLab, lab_file: Path | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    data: dict[str, Any] = {
        "lab": lab.lab.lab,
        "instance": lab.instance,
        "pid": os.getpid(),
        "control": lab.control,
        "endpoints": lab.endpoints,
    }
    if lab.route_keys is not None:
        data["route_keys"] = str(lab.route_keys.resolve())
    if lab.ptys:
        data["ptys"] = lab.ptys
    if lab_file is not None:
        data["lab_file"] = str(lab_file)
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


async def serve_lab(
    lab: Lab,
    endpoints_file: Path,
    *,
    watch_stdin: bool = False,
    rigs: int = 1,
    pty: bool = False,
    out: TextIO = sys.stdout,
    clock: Literal["events", "poll"] = "events",
) -> None:
    """Serve until a signal (or stdin EOF with ``watch_stdin``); always removes the endpoints file.

    ``clock`` — how the devices follow time (:attr:`VirtualLab.clock_mode`): event-driven, or the
    former polling clock (for benchmarks to compare with)."""
    expanded_file: Path | None = None
    if rigs > 1:
        lab = expand_rigs(lab, rigs)
        expanded_file = endpoints_file.with_suffix(".lab.yaml")
        expanded_file.parent.mkdir(parents=True, exist_ok=True)
        # Written as JSON, which is YAML too (any YAML reader takes it): PyYAML's emitter took most of a
        # large lab's start-up (25 s of 75 at 400 rigs), json a fraction of a second.
        expanded_file.write_text(json.dumps(lab.model_dump(mode="json", exclude_none=True), indent=1))
    virtual = build_lab(lab, FaultLog(endpoints_file.with_suffix(".faults.jsonl")))
    virtual.pty = pty
    virtual.clock_mode = clock
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        # A daemon thread, not the loop's executor: a blocked read must never delay shutdown.
        threading.Thread(target=_wait_stdin_eof, args=(loop, stop), daemon=True).start()
    ticker: asyncio.Task[None] | None = None
    try:
        if clock == "events":
            virtual.scheduler = EventScheduler(virtual.clock)
        await start(virtual, endpoints_file.with_suffix(".route-keys"))
        if virtual.scheduler is not None:  # every server (and the route's listener) in place: go
            virtual.scheduler.watch(device.model for device in virtual.devices.values())
        else:
            ticker = asyncio.create_task(_tick(virtual))
        # What start-up built lives as long as the lab: move it out of the collector's way, so a full
        # collection scans only what requests allocate (not millions of COSEM objects: a pause of
        # hundreds of milliseconds at a thousand rigs).
        gc.collect()
        gc.freeze()
        write_endpoints(endpoints_file, virtual, expanded_file)
        extra = f" lab_file={expanded_file}" if expanded_file else ""
        served = len(virtual.endpoints) - (CONTROL_ENDPOINT in virtual.endpoints)
        print(
            f"dmct lab: ready lab={lab.lab} endpoints={endpoints_file} "
            f"({served} served, control {virtual.control}){extra}",
            file=out,
            flush=True,
        )
        await stop.wait()
    finally:
        if ticker is not None:
            ticker.cancel()
        if virtual.scheduler is not None:
            virtual.scheduler.close()
        for server in virtual.servers:
            server.close()
        for bank in virtual.banks:
            await bank.stop()
        for close in virtual.closers:
            with contextlib.suppress(OSError):
                close()
        for device in virtual.devices.values():
            device.cut()
        # Run-scoped files go with the lab (issue 18): endpoints, the expanded lab file, the fault log
        # (`dmct run` keeps a copy in the run directory) and the folder of test private keys.
        for leftover in (endpoints_file, expanded_file, endpoints_file.with_suffix(".faults.jsonl")):
            if leftover is not None:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        shutil.rmtree(endpoints_file.with_suffix(".route-keys"), ignore_errors=True)
        print(f"dmct lab: stopped lab={lab.lab}", file=out, flush=True)


async def _tick(lab: VirtualLab) -> None:
    """The polling clock: let every model catch up with its clock every second (TOU switches, daily
    logs, alerts). The event-driven clock (labs.virtual.scheduler) replaces it by default."""
    while True:
        await asyncio.sleep(TICK_S)
        for device in lab.devices.values():
            device.model.advance()


def _wait_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # os.read, not sys.stdin.buffer: a daemon thread blocked inside the buffered reader holds its lock,
    # and the interpreter's shutdown then aborts with "Fatal Python error: could not acquire lock".
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        while os.read(sys.stdin.fileno(), 4096):
            pass
        loop.call_soon_threadsafe(stop.set)
