"""Lab inventory: which rigs a lab has, the devices on each, how they are reached, what they serve.

A lab engineer describes a lab once in ``labs/<lab>.yaml``; everything downstream (drivers, rig
selection, reports' 20.34 (a) environment item) reads this validated model. Validation is strict
(unknown fields are errors) because a typo in a lab file otherwise shows up hours later as a mysterious
device failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.errors import DmctInputError
from harness.yamlio import fail_at, load_model
from specifications.instrument_map import InstrumentsConfig

Role = Literal["ch", "esme", "gsme", "ppmid", "ihd"]
#: Roles every DMC has; PPMID and IHD are optional extras of a rig (SMETS1-notes: DMC = CH+ESME+GSME).
DMC_ROLES: tuple[Role, ...] = ("ch", "esme", "gsme")

_URL = re.compile(
    r"""^(?:
        /dev/\S+                                   # a local serial port
      | COM\d+                                     # a Windows serial port
      | socket://[^\s:/]+:\d{1,5}(?:/?\?\S*)?      # raw TCP
      | rfc2217://[^\s:/]+:\d{1,5}(?:/?\?\S*)?     # RFC 2217 (ser2net)
      | loop://\S*                                 # pyserial loopback, for tests
      | virtual://[\w.-]+/[\w.-]+/[\w.-]+          # served by `dmct lab up`, resolved at run time
    )$""",
    re.VERBOSE,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Line speeds a serial server can be told to start a port at (termios standard rates).
BAUD_RATES = (110, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


class SerialExport(_Strict):
    """The serial device on a lab PC that a network link (``rfc2217://``, ``socket://``) reaches.

    The harness never reads this: it opens the URL. It is there so that the lab file, the one
    description of the lab, can also generate each lab PC's ser2net configuration
    (``dmct lab export``), and so that two links can never be given one port or one device.
    ``baud`` and ``frame`` are the port's settings before any client changes them: an RFC 2217 client
    sets its own on open, a raw ``socket://`` client cannot, so for it they are the settings.
    """

    #: The lab PC's name, as ``dmct lab export --host`` is given it (its address may differ).
    host: str = Field(pattern=r"^[A-Za-z0-9][\w.-]*$", max_length=253)
    #: The local serial device; a stable ``/dev/serial/by-id/...`` name survives re-plugging.
    device: str = Field(pattern=r"^/dev/[^\s,;]+$")
    baud: int = 9600
    #: Data bits, parity (N, E, O) and stop bits, e.g. ``8N1``; IEC 62056-21 heads start at ``7E1``.
    frame: str = Field(default="8N1", pattern=r"^[5-8][NEO][12]$")

    @field_validator("baud")
    @classmethod
    def _baud(cls, baud: int) -> int:
        if baud not in BAUD_RATES:
            raise ValueError(f"{baud} is not a standard line speed ({', '.join(map(str, BAUD_RATES))})")
        return baud


Mechanism = Literal["none", "lls", "hls-gmac"]


class HlsKeys(_Strict):
    """A DLMS optical port's HLS-GMAC keys (Green Book security suite 0): lab secrets, like ``password``
    (keep real ones out of git). Hex, 16 octets each; ``system_title`` is the meter's own 8 octets
    (unset: the virtual lab derives one from the FLAG id and the device's name)."""

    authentication_key: str = Field(pattern=r"^[0-9A-Fa-f]{32}$")
    encryption_key: str = Field(pattern=r"^[0-9A-Fa-f]{32}$")
    system_title: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{16}$")


class LinkSpec(_Strict):
    """One byte stream to a device interface, as a pyserial URL (or ``virtual://rig/device/iface``).

    ``attempts`` and ``backoff_s`` are the retry policy for damaged or missing answers on this link;
    every retry is noted in the test's transcript.
    """

    url: str
    timeout: float = Field(default=2.0, gt=0, le=600)
    attempts: int = Field(default=3, ge=1, le=20)
    backoff_s: float = Field(default=0.05, ge=0, le=60)
    #: DLMS low-level-security secret of an optical port (a lab secret: keep real ones out of git).
    password: str | None = None
    #: DLMS: client SAP -> the mechanism of its association (``none`` | ``lls`` | ``hls-gmac``); unset =
    #: what the device model's catalogue entry declares, else the public client 16 without security
    #: and, with a ``password``, the management client 1 with LLS.
    associations: dict[int, Mechanism] | None = None
    #: DLMS: the keys of an ``hls-gmac`` association (required where the link or the model has one).
    hls: HlsKeys | None = None
    #: For a link to another host's serial port: which device on which lab PC serves it (ser2net).
    exported_from: SerialExport | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return check_url(url)


def url_host_port(url: str) -> tuple[str, int] | None:
    """Host and TCP port of a ``socket://`` or ``rfc2217://`` URL (query ignored); else ``None``."""
    match = re.match(r"^(?:socket|rfc2217)://([^\s:/?]+):(\d{1,5})", url)
    return (match.group(1), int(match.group(2))) if match else None


def check_url(url: str) -> str:
    """A byte-stream URL the link layer can open (pyserial URL or ``virtual://``), else ValueError."""
    if not _URL.match(url):
        raise ValueError(
            f"not a usable link URL: {url!r} (expected /dev/..., socket://host:port, "
            "rfc2217://host:port or virtual://rig/device/interface)"
        )
    return url


class DeviceModel(_Strict):
    """A device model at one firmware version: what the EPCL lists for each device of a DMC."""

    manufacturer: str = Field(min_length=1, max_length=30)
    model: str = Field(min_length=1, max_length=30)
    hardware_version: str = Field(min_length=1)
    firmware_version: str = Field(min_length=1)


class VirtualDeviceConfig(_Strict):
    """How the virtual lab simulates a device (ignored for real hardware)."""

    defects: list[str] = Field(default_factory=list)
    load_w: float = Field(default=1000.0, ge=0)
    clock_rate: float = Field(default=1.0, gt=0)
    initial_kwh: list[float] = Field(default_factory=lambda: [1000.0, 200.0, 300.0, 400.0])
    #: GSME: the volume register (m³) when the lab starts; its energy registers start at its conversion.
    initial_m3: float = Field(default=0.0, ge=0)
    manufacturer_flag: str = Field(default="DMC", pattern=r"^[A-Za-z]{3}$")
    serial: str = "00000000"
    #: Meters: days of daily reads already in the log when the lab starts, as a meter in service has
    #: (so a daily read log is never empty just because the lab started in the small hours).
    history_days: int = Field(default=7, ge=0, le=731)
    #: Faults injected from the start (see labs/virtual/faults.py): latency_ms, jitter_ms, drop, ...
    faults: dict[str, float | bool] = Field(default_factory=dict)
    #: Seconds without traffic after which a DLMS session (IEC 62056-46 inactivity time-out) or an
    #: IEC 62056-21 exchange ends; the port itself stays served. Unset: 120 s (DLMS), 300 s (readout).
    idle_timeout_s: float | None = Field(default=None, gt=0)
    #: Meters: IEC 62056-21 reaction time tr before the identification and the data message, ms
    #: (the standard's 200..1500; less models a meter that answers too soon). Unset: the device
    #: model's (catalogue ``behaviour.readout_identification_ms`` / ``readout_data_ms``).
    readout_reaction_ms: float | None = Field(default=None, ge=0, le=1500)

    @field_validator("faults")
    @classmethod
    def _faults(cls, faults: dict[str, float | bool]) -> dict[str, float | bool]:
        known = {"latency_ms", "jitter_ms", "drop", "corrupt", "disconnect"}
        unknown = sorted(set(faults) - known)
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r} (known: {', '.join(sorted(known))})")
        for name in ("drop", "corrupt"):
            if name in faults and not 0 <= float(faults[name]) <= 1:
                raise ValueError(f"{name} must be a probability between 0 and 1")
        return faults


class DeviceSpec(DeviceModel):
    """One physical (or simulated) device on a rig; ``eui64`` is its Device ID in the inventory."""

    role: Role
    #: Role driver by name from the ``dmct.devices`` entry points (default: the role's own driver).
    driver: str | None = None
    serial: str | None = None
    eui64: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$")
    links: dict[str, LinkSpec] = Field(default_factory=dict)
    virtual: VirtualDeviceConfig | None = None


class DmcSpec(_Strict):
    """A Device Model Combination: CH + ESME + GSME (+ optional PPMID/IHD), each a model at a version."""

    id: str = Field(min_length=1)
    ch: DeviceModel
    esme: DeviceModel
    gsme: DeviceModel | None = None
    ppmid: DeviceModel | None = None
    ihd: DeviceModel | None = None

    def model_for(self, role: Role) -> DeviceModel | None:
        value: DeviceModel | None = getattr(self, role)
        return value

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(r for r in ("ch", "esme", "gsme", "ppmid", "ihd") if getattr(self, r) is not None)


class EntrySpec(_Strict):
    """A planned EPCL entry this lab can test: a DMC for one installation type (20.28 (a))."""

    id: str = Field(min_length=1)
    dmc: str
    installation: Literal["dormant", "active", "mixed"] = "dormant"
    mt_under_mtad: bool = False
    #: The Capability Release of the entry's SMSO cohort (IOC, MOC, FOC): which manifest of each pack
    #: sets out its tests (20.15, 20.16: a pack's tests are "for the relevant Capability Release").
    capability_release: Literal["IOC", "MOC", "FOC"] = "IOC"


class MigrationFaultSpec(_Strict):
    """Virtual labs: make one phase of this rig's migration fail (the route's fault injection)."""

    phase: Literal["firmware_upgrade", "device_testing", "commissioning"]
    kind: Literal["wan_loss", "device_error"]
    times: int = Field(default=1, ge=1)


class RigVirtualConfig(_Strict):
    """Virtual labs: the state the rig's installation starts in (what a negative path needs)."""

    master_keys: bool = True  # False: the SMSO never handed over the installation's master keys
    wan_connected: bool = True  # False: the CH has no WAN connection
    migration_faults: list[MigrationFaultSpec] = Field(default_factory=list)


class RigSpec(_Strict):
    """A rig: one set of devices realising one DMC, leased as a unit, with its lab instruments.

    ``prepared_for`` names the negative path a rig is prepared for (``gt01``, ``no-wan-before``, ...):
    such a rig only runs the tests marked ``prepared_for`` that name, never the standard ones.
    """

    id: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    dmc: str
    devices: list[DeviceSpec]
    prepared_for: str | None = Field(default=None, pattern=r"^[\w.-]+$")
    #: The planned EPCL entries this rig can serve (default: every entry of its DMC), e.g. a rig holding
    #: a dormant installation serves the dormant entry, not the active one.
    entries: list[str] | None = None
    virtual: RigVirtualConfig | None = None

    def serves(self, entry: EntrySpec) -> bool:
        return entry.dmc == self.dmc and (self.entries is None or entry.id in self.entries)

    #: Power relays, load source, gas flow: a Modbus bank described by its register map (no code).
    instruments: InstrumentsConfig | None = None

    def device(self, role: Role) -> DeviceSpec | None:
        return next((d for d in self.devices if d.role == role), None)


class DuisUserSpec(_Strict):
    """A DCC User the duis route signs as: its name and User Role in the packs, its User ID (EUI-64),
    and its DUIS XML signing key and certificate (paths, relative to the lab file)."""

    name: str = Field(min_length=1)
    role: str = ""
    eui: str = Field(pattern=r"^[0-9A-Fa-f]{2}(-?[0-9A-Fa-f]{2}){7}$")
    key: str = Field(min_length=1)
    cert: str = Field(min_length=1)


class DuisRouteSpec(_Strict):
    """Settings of the ``duis`` route (docs/protocols/duis.md): the DUIS XSD the lab has from the DCC,
    the receive endpoint's bind address, the Users, the DSP's and S1SP's signing certificates, the
    client certificate for HTTPS, and the route that performs migrations (not a DUIS service)."""

    xsd: str | None = None
    receive: str = Field(default="127.0.0.1:8080/duis", pattern=r"^[^:/\s]+:\d{1,5}(/\S*)?$")
    users: list[DuisUserSpec] = Field(min_length=1)
    dsp_certs: list[str] = Field(min_length=1)
    s1sp_certs: list[str] = Field(default_factory=list)
    tls: dict[Literal["client_cert", "client_key", "ca"], str] = Field(default_factory=dict)
    migration: dict[str, str | int | float | bool] | None = None
    counter_dir: str | None = None
    spool_dir: str | None = None
    max_body: int = Field(default=1 << 20, ge=1024)
    read_timeout_s: float = Field(default=5.0, gt=0, le=120)


class VirtualDspSpec(_Strict):
    """Virtual labs, route ``kind: duis``: the virtual DSP that ``dmct lab up`` serves in front of the
    virtual S1SP (labs/virtual/dsp; docs/virtual-lab.md, "Virtual DSP"). Paths may use ``~`` and
    ``${VAR}``; relative paths are relative to the working directory."""

    #: The DUIS XSD (``DUIS Schema V5.1.xsd`` with the MMC and XML Signature schemas beside it).
    xsd: str = Field(min_length=1)
    #: Certificates (files or directories) of the Users whose signatures the DSP accepts; the virtual
    #: lab's own Users are always trusted.
    trust: list[str] = Field(default_factory=list)
    #: User ID (EUI-64) -> the DUIS roles it holds (SMKI certificates do not carry them).
    users: dict[str, list[Literal["IS", "GS", "ED", "GT", "ES", "RSA", "OU"]]] = Field(default_factory=dict)
    #: The User's receive endpoint the DSP posts responses and alerts to (e.g. the duis route's bind).
    receive_url: str | None = None
    #: The DSP's XML signing key and certificate (PEM or DER); default: one the lab creates.
    sign_key: str | None = None
    sign_cert: str | None = None
    #: Where the framed S1SP route is still served (migration is not a DUIS service).
    s1sp_url: str = "virtual://lab/route/s1sp"


class RouteSpec(_Strict):
    """How the lab reaches the SMETS1 service route (S1SP/DCO): a route ``kind`` (``virtual``, or a
    lab's own bridge registered under the ``dmct.routes`` entry-point group) and its settings."""

    kind: str = Field(default="virtual", min_length=1)
    url: str
    timeout: float = Field(default=10.0, gt=0, le=600)
    #: Where the Users' signing keys are; a virtual lab publishes its own in the endpoints file.
    keys_dir: str | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)
    #: Virtual labs: seeded defects of the simulated S1SP/DCO itself (docs/virtual-lab.md), so the
    #: packs' negative and misuse tests can be shown able to fail.
    defects: list[str] = Field(default_factory=list)
    #: ``kind: duis``: its settings; ``url`` is then the DSP's base URL (http:// or https://).
    duis: DuisRouteSpec | None = None
    #: Virtual labs, ``kind: duis``: the virtual DSP served in front of the S1SP.
    dsp: VirtualDspSpec | None = None

    @model_validator(mode="after")
    def _url(self) -> RouteSpec:
        if self.kind != "duis":
            check_url(self.url)
        elif not re.match(r"^(https?://[^\s/]+(/\S*)?|virtual://\S+)$", self.url):
            raise ValueError(f"route.url: a duis route's DSP is http(s):// or virtual://, not {self.url!r}")
        if self.kind == "duis" and self.duis is None and self.dsp is None:
            raise ValueError("route.duis: a duis route needs its settings (users, dsp_certs, ...)")
        return self


class UtrnSpec(_Strict):
    """Where top-up tests (SRV 2.2) get their UTRNs (:mod:`device_drivers.utrn`): the project's scheme
    keyed by a secret held in an environment variable, or a lab program that asks the test prepayment
    system for one (``{device}``, ``{amount_pence}``, ``{sequence}`` substituted into ``argv``)."""

    kind: Literal["scheme", "command"]
    #: ``scheme``: the environment variable holding the secret (unset: the virtual lab's secret).
    secret_env: str = Field(default="DMCT_UTRN_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    #: ``command``: the program and its arguments.
    argv: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("argv")
    @classmethod
    def _placeholders(cls, argv: list[str]) -> list[str]:
        for arg in argv:
            try:
                arg.format(device="", amount_pence=0, sequence=0)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"{arg!r}: only {{device}}, {{amount_pence}} and {{sequence}} may be substituted ({exc})"
                ) from None
        return argv

    @model_validator(mode="after")
    def _command_has_argv(self) -> UtrnSpec:
        if self.kind == "command" and not self.argv:
            raise ValueError("a command UTRN source needs argv: the program and its arguments")
        return self


class PrepaymentSpec(_Strict):
    """The lab's test prepayment system, as far as the packs need it."""

    utrn: UtrnSpec


class DccSystem(_Strict):
    name: str
    version: str


class Environment(_Strict):
    """The DCC systems and environments tested against: 20.34 (a) of the DMCT Testing Report."""

    name: str = "unspecified"
    dcc_systems: list[DccSystem] = Field(default_factory=list)
    #: Why these systems and environments were tested against (20.18), for report item 20.34 (a).
    rationale: str | None = None


class Lab(_Strict):
    """A validated lab inventory."""

    lab: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    description: str = ""
    virtual: bool = False
    environment: Environment = Environment()
    #: Where top-up UTRNs come from; a virtual lab without it uses the virtual meters' own scheme.
    prepayment: PrepaymentSpec | None = None
    default_entry: str | None = None
    route: RouteSpec | None = None
    dmcs: list[DmcSpec]
    entries: list[EntrySpec]
    rigs: list[RigSpec]

    def problems(self) -> list[tuple[list[int | str], str]]:
        """Cross-reference problems the schema cannot see, each with the field path it is about."""
        out: list[tuple[list[int | str], str]] = []
        for what, ids in (
            ("dmcs", [d.id for d in self.dmcs]),
            ("entries", [e.id for e in self.entries]),
            ("rigs", [r.id for r in self.rigs]),
        ):
            for index, i in enumerate(ids):
                if i in ids[:index]:
                    out.append(([what, index, "id"], f"duplicate id {i!r}"))
        entries = {e.id: e for e in self.entries}
        for index, rig in enumerate(self.rigs):
            for position, entry_id in enumerate(rig.entries or []):
                known = entries.get(entry_id)
                if known is None:
                    out.append((["rigs", index, "entries", position], f"unknown entry {entry_id!r}"))
                elif known.dmc != rig.dmc:
                    out.append(
                        (
                            ["rigs", index, "entries", position],
                            f"entry {entry_id!r} is for DMC {known.dmc!r}, not {rig.dmc!r} of rig {rig.id!r}",
                        )
                    )
        dmcs = {d.id: d for d in self.dmcs}
        for index, entry in enumerate(self.entries):
            if entry.dmc not in dmcs:
                out.append((["entries", index, "dmc"], f"unknown DMC {entry.dmc!r}"))
            elif not self.rigs_for(entry.dmc):
                out.append((["entries", index, "dmc"], f"no rig hosts DMC {entry.dmc!r}"))
            elif not self.rigs_for_entry(entry):
                out.append(
                    (["entries", index, "id"], f"no rig serves entry {entry.id!r} (rigs' entries lists)")
                )
        for index, rig in enumerate(self.rigs):
            out.extend((["rigs", index, *loc], msg) for loc, msg in _rig_problems(rig, dmcs, self.virtual))
        used: dict[str, str] = {}
        device_ids: dict[str, str] = {}
        for r_index, rig in enumerate(self.rigs):
            for d_index, device in enumerate(rig.devices):
                if device.eui64:
                    eui = device.eui64.upper()
                    if eui in device_ids:
                        out.append(
                            (
                                ["rigs", r_index, "devices", d_index, "eui64"],
                                f"{device.eui64} is also the Device ID of {device_ids[eui]}",
                            )
                        )
                    device_ids.setdefault(eui, f"{rig.id}/{device.role}")
                for iface, link in device.links.items():
                    where = f"{rig.id}/{device.role}/{iface}"
                    if link.url in used:
                        out.append(
                            (
                                ["rigs", r_index, "devices", d_index, "links", iface, "url"],
                                f"{link.url} is also the link of {used[link.url]}",
                            )
                        )
                    used.setdefault(link.url, where)
        out.extend(self._export_problems())
        hosted = {r.dmc for r in self.rigs}
        for index, dmc in enumerate(self.dmcs):
            if dmc.id not in hosted:
                out.append((["dmcs", index, "id"], f"DMC {dmc.id!r} is not hosted by any rig"))
        if self.default_entry is not None and self.default_entry not in {e.id for e in self.entries}:
            out.append((["default_entry"], f"{self.default_entry!r} is not one of the lab's entries"))
        return out

    def _export_problems(self) -> list[tuple[list[int | str], str]]:
        """Links exported from lab PCs: each has a TCP URL, and no two share a port or a device on one
        lab PC (ser2net would serve only the first; the second link would reach the wrong meter)."""
        out: list[tuple[list[int | str], str]] = []
        ports: dict[tuple[str, int], str] = {}
        devices: dict[tuple[str, str], str] = {}
        for r_index, rig in enumerate(self.rigs):
            for d_index, device in enumerate(rig.devices):
                for iface, link in device.links.items():
                    export = link.exported_from
                    if export is None:
                        continue
                    here: list[int | str] = ["rigs", r_index, "devices", d_index, "links", iface]
                    where = f"{rig.id}/{device.role}/{iface}"
                    target = url_host_port(link.url)
                    if target is None:
                        out.append(
                            (
                                [*here, "exported_from"],
                                f"a serial server serves TCP: the url must be rfc2217://host:port or "
                                f"socket://host:port, not {link.url!r}",
                            )
                        )
                        continue
                    port = target[1]
                    host = export.host.lower()
                    if not 0 < port < 65536:
                        out.append(([*here, "url"], f"port {port} is not a TCP port (1-65535)"))
                    if (host, port) in ports:
                        out.append(
                            (
                                [*here, "url"],
                                f"port {port} on {export.host} is also exported for {ports[host, port]}",
                            )
                        )
                    if (host, export.device) in devices:
                        out.append(
                            (
                                [*here, "exported_from", "device"],
                                f"{export.device} on {export.host} is also exported for "
                                f"{devices[host, export.device]}",
                            )
                        )
                    ports.setdefault((host, port), where)
                    devices.setdefault((host, export.device), where)
        return out

    # -- queries ---------------------------------------------------------------------------------
    def dmc(self, dmc_id: str) -> DmcSpec:
        return next(d for d in self.dmcs if d.id == dmc_id)

    def entry(self, entry_id: str, source: str = "--entry") -> EntrySpec:
        for e in self.entries:
            if e.id == entry_id:
                return e
        known = ", ".join(e.id for e in self.entries)
        raise DmctInputError(source, f"unknown entry {entry_id!r} (this lab serves: {known})")

    def rigs_for(self, dmc_id: str) -> list[RigSpec]:
        return [r for r in self.rigs if r.dmc == dmc_id]

    def rigs_for_entry(self, entry: EntrySpec) -> list[RigSpec]:
        """The rigs that can serve ``entry`` (they realise its DMC and list it, or list no entries)."""
        return [r for r in self.rigs if r.serves(entry)]

    def select_entries(self, wanted: list[str] | None) -> list[EntrySpec]:
        """The entries a run covers: those asked for, else the default, else the first."""
        if wanted:
            return [self.entry(e) for e in wanted]
        return [self.entry(self.default_entry) if self.default_entry else self.entries[0]]


def _rig_problems(rig: RigSpec, dmcs: dict[str, DmcSpec], virtual: bool) -> list[tuple[list[int | str], str]]:
    dmc = dmcs.get(rig.dmc)
    if dmc is None:
        return [(["dmc"], f"unknown DMC {rig.dmc!r}")]
    out: list[tuple[list[int | str], str]] = []
    roles = [d.role for d in rig.devices]
    for index, device in enumerate(rig.devices):
        here: list[int | str] = ["devices", index]
        if device.role in roles[:index]:
            out.append(([*here, "role"], f"second {device.role} device on rig {rig.id!r}"))
        expected = dmc.model_for(device.role)
        for name in DeviceModel.model_fields:
            if expected is not None and getattr(device, name) != getattr(expected, name):
                out.append(
                    (
                        [*here, name],
                        f"{getattr(device, name)!r} does not match DMC {dmc.id!r} "
                        f"({device.role} {name} {getattr(expected, name)!r})",
                    )
                )
        for iface, link in device.links.items():
            if link.url.startswith("virtual://") and not virtual:
                out.append(([*here, "links", iface, "url"], "virtual:// URL in a lab not marked virtual"))
    if rig.instruments is not None and rig.instruments.url.startswith("virtual://") and not virtual:
        out.append((["instruments", "url"], "virtual:// URL in a lab not marked virtual"))
    for role in dmc.roles:
        if role not in roles:
            out.append((["devices"], f"rig {rig.id!r} lacks the {role} its DMC {dmc.id!r} needs"))
    return out


def load_lab(path: Path) -> Lab:
    """Load and validate a lab inventory; any problem is one :class:`DmctInputError` line."""
    lab = load_model(Lab, path)
    problems = lab.problems()
    if problems:
        loc, message = problems[0]
        raise fail_at(path, loc, message)
    return lab


def lab_to_workers(lab: Lab) -> str:
    """The validated lab as JSON for pytest-xdist workers (``workerinput``): the controller parses the
    lab file once and each worker rebuilds it from this in a fraction of the YAML's cost (issue 21).
    Only the fields the file set are written, so the rebuilt lab equals this one, ``model_fields_set``
    included."""
    return lab.model_dump_json(exclude_unset=True)


def lab_from_controller(text: str) -> Lab:
    """The lab :func:`lab_to_workers` wrote (already checked by the controller's :func:`load_lab`)."""
    return Lab.model_validate_json(text)


def utrn_source_problems(
    lab: Lab, environ: Mapping[str, str], which: Callable[[str], str | None]
) -> list[str]:
    """Why top-up tests (SRV 2.2) would be blocked on ``lab``: no UTRN source, a program that is not
    there, a scheme secret not in the environment (pure: the environment and PATH lookup are given).
    The program is not run: it would mint a real UTRN."""
    spec = lab.prepayment.utrn if lab.prepayment is not None else None
    if spec is None:
        return [] if lab.virtual else ["prepayment.utrn: none given, so top-up tests (SRV 2.2) are blocked"]
    if spec.kind == "command":
        program = spec.argv[0]
        found = which(program) if "/" not in program else (program if Path(program).is_file() else None)
        return [] if found else [f"prepayment.utrn.argv[0]: UTRN program {program!r} not found"]
    if spec.secret_env not in environ and not lab.virtual:
        return [f"prepayment.utrn.secret_env: ${spec.secret_env} is not set"]
    return []
