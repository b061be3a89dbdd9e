"""ser2net configuration for a lab PC, generated from the lab file (``dmct lab export``).

A lab whose meters hang off several hosts still has one description: the lab file. A link to a meter
on another host is an ``rfc2217://labpc-2:7001`` (or raw ``socket://``) URL with
``exported_from: {host, device, baud, frame}``; this module turns the links one lab PC exports into
that PC's ser2net 4 YAML, so the port in the harness's URL and the port ser2net listens on come from
the same line and cannot drift apart.

Pure: no files, no name lookups, no clock. The command (``harness/cli/lab.py``) decides which names
mean "this lab PC", reads the lab file and writes the output; tests compare :func:`render` with golden
text and start a real ser2net on it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from harness.lab.inventory import Lab, url_host_port

#: Every connection gets these options. One client at a time, and a second one is refused rather
#: than allowed to kick the first off: two harness sessions on one meter would corrupt each other's
#: evidence, and a refused connection is a visible infrastructure fault (the test is blocked).
#: No ``banner``: ser2net would send it down the link, and the harness would read it as meter bytes.
OPTIONS: tuple[tuple[str, str], ...] = (("kickolduser", "false"), ("max-connections", "1"))


class ExportError(Exception):
    """The lab file cannot give this lab PC a ser2net configuration; ``option`` is the command-line
    option the problem is about (``--rig``, ``--host``), so the command can name it."""

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.message = message
        self.option = option


@dataclass(frozen=True, slots=True)
class Connection:
    """One ser2net ``connection``: a TCP port on the lab PC in front of one local serial device."""

    name: str  # the YAML alias ser2net names the connection by (admin interface, logs)
    link: str  # rig/role/interface in the lab file
    url: str  # the URL the harness opens
    accepter: str
    connector: str


@dataclass(frozen=True, slots=True)
class Export:
    """What one lab PC exports, and the links that point at it without saying what serves them."""

    lab: str
    host: str  # the lab PC's name as the lab file's ``exported_from`` says it
    connections: list[Connection]
    #: ``rig/role/iface url`` of rfc2217 links at this PC without ``exported_from`` (warned about, not
    #: an error: something other than ser2net may serve them).
    unexported: list[str] = field(default_factory=list)


def _bind_address(url_host: str, bind: str | None) -> str | None:
    """Where ser2net listens: ``bind`` if given, the URL's address if it is one, else every address.

    A host name is not passed to ser2net: on Debian the machine's own name resolves to 127.0.1.1
    (``/etc/hosts``), so ser2net would listen where no other host can reach it.
    """
    if bind:
        return bind
    if url_host.lower() == "localhost":
        return "127.0.0.1"
    try:
        ipaddress.ip_address(url_host)
    except ValueError:
        return None
    return url_host


def _alias(text: str, taken: set[str]) -> str:
    """A YAML alias (libyaml allows letters, digits, ``-`` and ``_``), unique in the file."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", text)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def build_export(
    lab: Lab, hosts: Collection[str], *, rigs: Sequence[str] | None = None, bind: str | None = None
) -> Export:
    """The connections the lab PC known by any of ``hosts`` (its name, or the address in its URLs) serves.

    ``rigs`` limits the export to those rigs (a lab PC may host some rigs of a lab and not others);
    ``bind`` makes every accepter listen on that address.
    """
    known = [r.id for r in lab.rigs]
    for rig_id in rigs or ():
        if rig_id not in known:
            raise ExportError(
                f"unknown rig {rig_id!r} (lab {lab.lab} has: {', '.join(known)})", option="--rig"
            )
    wanted = {h.lower() for h in hosts}
    links = [
        (f"{rig.id}/{device.role}/{iface}", spec)
        for rig in lab.rigs
        if not rigs or rig.id in rigs
        for device in rig.devices
        for iface, spec in device.links.items()
    ]
    # The lab PC's names: those given, and the exported_from.host of any link whose URL names it.
    pcs: set[str] = set()
    for _where, spec in links:
        target = url_host_port(spec.url)
        if spec.exported_from is None or target is None:
            continue
        if spec.exported_from.host.lower() in wanted or target[0].lower() in wanted:
            pcs.add(spec.exported_from.host.lower())
    if len(pcs) > 1:
        raise ExportError(
            f"{' or '.join(sorted(hosts))} names more than one lab PC ({', '.join(sorted(pcs))}): "
            "give the lab PC's name",
            option="--host",
        )
    connections: list[Connection] = []
    addresses: set[str] = set(wanted)
    taken: set[str] = set()
    name = ""
    for where, spec in links:
        export, target = spec.exported_from, url_host_port(spec.url)
        if export is None or target is None or export.host.lower() not in pcs:
            continue
        name = name or export.host
        address, port = target
        addresses.add(address.lower())
        listen = _bind_address(address, bind)
        tcp = f"tcp,{listen},{port}" if listen else f"tcp,{port}"
        accepter = f"telnet(rfc2217),{tcp}" if spec.url.startswith("rfc2217://") else tcp
        frame = export.frame  # "8N1" -> gensio's "n81"
        connector = f"serialdev,{export.device},{export.baud}{frame[1].lower()}{frame[0]}{frame[2]},local"
        connections.append(Connection(_alias(where, taken), where, spec.url, accepter, connector))
    if not connections:
        named = sorted({s.exported_from.host for _w, s in links if s.exported_from is not None})
        scope = f" (rigs {', '.join(rigs)})" if rigs else ""
        hint = f"lab PCs in its exported_from: {', '.join(named)}" if named else "no link says exported_from"
        raise ExportError(
            f"no link of lab {lab.lab}{scope} is exported from {' or '.join(sorted(hosts))} ({hint})",
            option="--host",
        )
    unexported = [
        f"{where} {spec.url}"
        for where, spec in links
        if spec.exported_from is None
        and spec.url.startswith("rfc2217://")
        and (target := url_host_port(spec.url)) is not None
        and target[0].lower() in addresses
    ]
    return Export(lab.lab, name, connections, unexported)


def render(export: Export, *, command: str = "dmct lab export") -> str:
    """ser2net 4 YAML (``%YAML 1.1``, one ``connection: &alias`` block per exported link).

    ``command`` (the ``dmct lab export`` invocation) goes in the header, so whoever finds the file on
    the lab PC knows how to regenerate it.
    """
    lines = [
        "%YAML 1.1",
        "---",
        f"# ser2net configuration of lab PC {export.host} for lab {export.lab}, generated by",
        f"#   {command}",
        "# Edit the lab file and regenerate this rather than editing it here.",
        "# No banner: ser2net would send it to the harness as if the meter had said it.",
    ]
    for conn in export.connections:
        lines += [
            "",
            f"# {conn.link}: {conn.url}",
            f"connection: &{conn.name}",
            f"  accepter: {conn.accepter}",
            f"  connector: {conn.connector}",
            "  options:",
            *(f"    {key}: {value}" for key, value in OPTIONS),
        ]
    return "\n".join(lines) + "\n"
