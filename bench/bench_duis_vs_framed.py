"""SRV round trips per second over DUIS versus the framed route, on the same virtual lab, side by side.

Not a pytest test.  Run from the repository root (after ``make duis-xsd``)::

    .venv/bin/python bench/bench_duis_vs_framed.py              # 100 round trips per SRV and route
    .venv/bin/python bench/bench_duis_vs_framed.py --n 300 --srv 4.1.1 --srv 7.4

One ``dmct lab up labs/virtual-duis.yaml`` serves both routes in front of the same virtual S1SP and
devices: the virtual DSP (``route.url``, DUIS over HTTP, results posted to the route's own receive
endpoint) and the framed route the DSP delegates migration to (``route.dsp.s1sp_url``). Rig ``rig-1``
is migrated first (over the framed route: migration is not a DUIS service), then each SRV is sent
``--n`` times to its ESME, one request in flight at a time, by the harness's own routes exactly as the
packs' ``route`` fixture builds them (``load_route``), each waiting for the final result:

* ``framed`` — sign, frame, socket, the S1SP's answer verified (docs/protocols/service-route.md);
* ``duis``   — build, XSD-validate, XML-sign, POST, ``I99``, the asynchronous S1SP-signed response
  posted back by the DSP, XSD- and double-signature-checked at the receive endpoint, correlated.

Prints per SRV and route: round trips per second and the median/p95 latency in ms, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from device_drivers.route import ServiceRoute, load_route  # noqa: E402

LAB = REPO / "labs" / "virtual-duis.yaml"
RIG = "rig-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_up(lab: Path, work: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``dmct lab up`` in the background (it stops when our stdin to it closes): (process, endpoints
    file content)."""
    endpoints = work / "endpoints.json"
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "dmct"), "lab", "up", str(lab), "--endpoints", str(endpoints),
         "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not endpoints.is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise SystemExit(f"dmct lab up did not come up: {out[-2000:]}")
        time.sleep(0.2)
    time.sleep(0.5)  # the file is written whole, but give the lab its first breath
    return proc, json.loads(endpoints.read_text())


def timed(route: ServiceRoute, srv: str, device: str, n: int) -> dict[str, float]:
    route.submit(srv, device, {}, user="supplier")  # warm-up (connections, caches)
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        result = route.submit(srv, device, {}, user="supplier")
        samples.append(time.perf_counter() - t0)
        assert result.ok, result
    total = time.perf_counter() - start
    samples.sort()
    return {
        "per_s": round(n / total, 1),
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))] * 1000, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--srv", action="append", help="SRV to time (repeatable; default 4.1.1 and 7.4)")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    args = ap.parse_args()
    srvs = args.srv or ["4.1.1", "7.4"]
    data: dict[str, Any] = yaml.safe_load(LAB.read_text())
    dsp = data["route"]["dsp"]
    xsd = Path(os.path.expanduser(str(dsp["xsd"])))
    if not xsd.is_file():
        raise SystemExit(f"no DUIS XSD at {xsd}: run `make duis-xsd` first")
    dsp["receive_url"] = f"http://127.0.0.1:{free_port()}/duis"  # not the demo's 8080
    work = Path(tempfile.mkdtemp(prefix="bench-duis-"))
    lab = work / "virtual-duis.yaml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    rig = next(r for r in data["rigs"] if r["id"] == RIG)
    esme = next(d["eui64"] for d in rig["devices"] if d["role"] == "esme")
    types = {d["eui64"]: d["role"] for r in data["rigs"] for d in r["devices"] if d.get("eui64")}
    os.environ.setdefault("XDG_STATE_HOME", str(work / "state"))  # the duis route's counters and spool
    proc, info = lab_up(lab, work)
    endpoints = {str(k): str(v) for k, v in dict(info.get("endpoints") or {}).items()}
    common = {"keys_dir": info["route_keys"], "endpoints": endpoints, "timeout": 30.0}
    out: dict[str, Any] = {"n": args.n, "lab": str(LAB.relative_to(REPO)), "device": esme, "srvs": {}}
    framed: ServiceRoute | None = None
    duis: ServiceRoute | None = None
    try:
        framed = load_route("virtual", url=str(dsp["s1sp_url"]), **common)
        duis_url = str(data["route"]["url"])
        duis = load_route("duis", url=duis_url, virtual_dsp=dsp, device_types=types, **common)
        migrated = framed.migrate(RIG, user="supplier")
        assert migrated.migrated, migrated
        for srv in srvs:
            f, d = timed(framed, srv, esme, args.n), timed(duis, srv, esme, args.n)
            out["srvs"][srv] = {"framed": f, "duis": d, "framed_over_duis": round(f["per_s"] / d["per_s"], 1)}
    finally:
        for route in (duis, framed):
            if route is not None:
                route.close()
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"SRV round trips on {out['lab']} ({esme}), n={args.n}, one in flight:")
    print(f"{'SRV':<8}{'route':<8}{'per s':>8}{'median ms':>11}{'p95 ms':>9}")
    for srv, row in out["srvs"].items():
        for kind in ("framed", "duis"):
            r = row[kind]
            print(f"{srv:<8}{kind:<8}{r['per_s']:>8}{r['median_ms']:>11}{r['p95_ms']:>9}")
        print(f"{'':<8}framed is {row['framed_over_duis']}x DUIS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
