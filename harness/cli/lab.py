"""``dmct lab check|up|export``: validate a lab inventory and probe its links; run the virtual lab;
write a lab PC's ser2net configuration from the lab file (``docs/two-host-lab.md``)."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

ORDER = 30


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "lab", help="check a lab file; run the virtual lab; export a lab PC's serial ports"
    )
    lab_sub = parser.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    check = lab_sub.add_parser("check", help="validate a lab file and probe every link")
    check.add_argument("file", type=Path)
    check.add_argument("--no-probe", action="store_true", help="validate only; do not open links")
    check.set_defaults(func=_check)

    up = lab_sub.add_parser("up", help="serve every simulated device of a virtual lab until stopped")
    up.add_argument("file", type=Path)
    up.add_argument("--endpoints", type=Path, help="where to write the endpoints file")
    up.add_argument(
        "--exit-with-stdin", action="store_true", help="stop when stdin closes (used by `dmct run`)"
    )
    up.add_argument(
        "--pty",
        action="store_true",
        help="also serve every DLMS port and IEC 62056-21 readout on a pty (paths in the endpoints file)",
    )
    up.add_argument(
        "--rigs",
        type=int,
        default=1,
        metavar="N",
        help="serve N copies of every rig (rig-1, rig-1.2, ...); the expanded lab file is written "
        "beside the endpoints file and named in the readiness line",
    )
    up.set_defaults(func=_up)

    export = lab_sub.add_parser(
        "export",
        help="print the ser2net configuration that serves a lab PC's serial ports to the harness",
        description="Print (or write) the ser2net 4 YAML for every link of the lab file that is "
        "exported_from the given lab PC: one RFC 2217 (or raw TCP) port per serial device.",
    )
    export.add_argument("file", type=Path)
    export.add_argument(
        "--host",
        metavar="NAME_OR_ADDR",
        help="the lab PC: its name in exported_from, or the address its links' URLs use "
        "(default: this host's name)",
    )
    export.add_argument(
        "--rig", action="append", metavar="R", help="only this rig's links (repeat for more rigs)"
    )
    export.add_argument(
        "--bind",
        metavar="ADDR",
        help="listen on ADDR (default: the URL's address when it is one, else every address)",
    )
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write FILE (must end in .yaml) instead of stdout"
    )
    export.set_defaults(func=_export)


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from device_drivers.errors import InfrastructureFault
    from device_drivers.links import Link, read_endpoints
    from harness.lab.inventory import load_lab, utrn_source_problems
    from harness.paths import endpoints_file

    lab = load_lab(args.file)
    if lab.virtual:  # what `lab up` would refuse (an unknown model or seeded defect) is refused here too
        from harness.errors import DmctInputError
        from labs.virtual.faults import FaultLog
        from labs.virtual.process import LabBuildError, build_lab

        try:
            build_lab(lab, FaultLog())
        except LabBuildError as exc:
            raise DmctInputError(str(args.file), str(exc)) from None
    endpoints = read_endpoints(endpoints_file(lab.lab))
    table = Table(title=f"lab {lab.lab}: {len(lab.rigs)} rig(s), {len(lab.entries)} entr(ies)")
    for col in ("rig", "DMC", "role", "model", "firmware", "link", "url", "probe"):
        table.add_column(col)
    failures = 0
    for rig in lab.rigs:
        for device in rig.devices:
            links = device.links.items() or [("-", None)]
            for iface, spec in links:
                probe = "-"
                if spec is not None and not args.no_probe:
                    try:
                        Link(
                            spec.url,
                            device=f"{rig.id}/{device.role}",
                            timeout=spec.timeout,
                            endpoints=endpoints,
                        ).open().close()
                        probe = "[green]ok[/]"
                    except InfrastructureFault as exc:
                        failures += 1
                        probe = f"[red]{exc}[/]"
                table.add_row(
                    rig.id,
                    rig.dmc,
                    device.role,
                    device.model,
                    device.firmware_version,
                    iface,
                    spec.url if spec else "-",
                    probe,
                )
    Console().print(table)
    for problem in utrn_source_problems(lab, os.environ, shutil.which):
        failures += 1
        Console().print(f"[red]{args.file}: {problem}[/]")
    return 1 if failures else 0


def _up(args: argparse.Namespace) -> int:
    import asyncio

    from harness.errors import DmctInputError
    from harness.lab.inventory import load_lab
    from harness.outputs import check_output_file
    from harness.paths import endpoints_file
    from labs.virtual.process import LabBuildError, serve_lab

    lab = load_lab(args.file)
    if not lab.virtual:
        raise DmctInputError(str(args.file), "not a virtual lab (set `virtual: true`)", field="virtual")
    if args.rigs < 1:
        raise DmctInputError("--rigs", "must be at least 1")
    endpoints = check_output_file(args.endpoints or endpoints_file(lab.lab), "--endpoints")
    try:
        asyncio.run(serve_lab(lab, endpoints, watch_stdin=args.exit_with_stdin, rigs=args.rigs, pty=args.pty))
    except LabBuildError as exc:
        raise DmctInputError(str(args.file), str(exc)) from None
    return 0


def _this_host() -> list[str]:
    """This machine's names: ``gethostname()`` and its first label (no DNS: it may be slow or absent)."""
    import socket

    name = socket.gethostname()
    return sorted({name, name.split(".")[0]})


def _export(args: argparse.Namespace) -> int:
    import os
    import sys

    from harness.errors import DmctInputError
    from harness.lab.inventory import load_lab
    from harness.lab.ser2net import ExportError, build_export, render

    lab = load_lab(args.file)
    if args.output is not None and args.output.suffix != ".yaml":
        # ser2net reads a file whose name does not end in .yaml as an old-style configuration.
        raise DmctInputError("--output", f"{args.output}: ser2net reads only a *.yaml file as YAML")
    try:
        export = build_export(lab, [args.host] if args.host else _this_host(), rigs=args.rig, bind=args.bind)
    except ExportError as exc:
        raise DmctInputError(exc.option, exc.message) from None
    for link in export.unexported:
        print(
            f"dmct lab export: warning: {link} points at {export.host} but says no exported_from; "
            "not exported",
            file=sys.stderr,
        )
    command = ["dmct", "lab", "export", str(args.file), "--host", args.host or export.host]
    command += [f"--rig={r}" for r in args.rig or ()] + ([f"--bind={args.bind}"] if args.bind else [])
    text = render(export, command=" ".join(command))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    tmp = args.output.with_name(f".{args.output.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.output)  # ser2net re-reading on SIGHUP never sees half a file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DmctInputError(str(args.output), f"cannot write: {exc.strerror}") from None
    print(
        f"dmct lab export: {len(export.connections)} connection(s) of lab PC {export.host} "
        f"written to {args.output}",
        file=sys.stderr,
    )
    return 0
