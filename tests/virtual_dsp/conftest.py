"""The virtual DSP under test, with the DCC Boxed signing tool as the independent oracle.

The tool (``@smartdcc/duis-sign-wrap``: ``dist/tool.jar`` with the DUIS/MMC XSDs and DCC Boxed's test
keys) is GPL: it is fetched with ``npm pack`` into a cache outside the repository
(``$DMCT_DUIS_TOOL_CACHE``, default ``~/.cache/dmct/duis-sign-wrap``), never copied into it. Tests
skip with the reason only where Java or npm (and no cached copy) are truly unavailable.

The DSP runs with its S1SP in a background event loop; a stdlib ``http.server`` plays the User's
receive endpoint and collects what the DSP posts.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labs.virtual.clock import SimClock
from labs.virtual.devices import CommsHub, Esme, Gsme, build_device, load_catalogue
from labs.virtual.dsp import DspSettings, RetryPolicy, VirtualDsp, build_dsp, serve_dsp
from labs.virtual.s1sp import RouteInstallation, ServiceConfig, build_service

PACKAGE = "@smartdcc/duis-sign-wrap@0.1.2"
TOOL = "uk.co.smartdcc.boxed.xmldsig"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"  # DCC Boxed's test supplier (xml-sign-90B3D51F30010000)
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"
CH, ESME, GSME = "00-1A-2B-FF-FE-00-10-01", "00-1A-2B-FF-FE-00-10-02", "00-1A-2B-FF-FE-00-10-03"
START = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
RATE = 7200.0
#: A short-lived JVM starts faster without the optimising compiler.
JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


@dataclass(frozen=True)
class DuisTool:
    """The DCC Boxed tool: ``Sign`` (keys looked up from the RequestID's originator) and ``Validate``."""

    jar: Path
    resources: Path

    def _run(self, mode: str, data: bytes, *extra: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["java", *JVM_FLAGS, "-cp", str(self.jar), f"{TOOL}.{mode}", "-", *extra],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def sign(self, xml: str | bytes, *, as_cert: str | None = None, as_key: Path | None = None) -> bytes:
        """Signed by the RequestID originator's test key, or by ``as_cert`` (a resource name) with
        ``as_key`` (PEM) — how a test makes a wrong or unknown signer."""
        data = xml.encode() if isinstance(xml, str) else xml
        who = [str(self.file(as_cert)), str(as_key)] if as_cert and as_key else []
        done = self._run("Sign", data, *who, "--preserveCounter")
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    def validate(self, xml: bytes, cert: Path | None = None) -> tuple[int, str]:
        done = self._run("Validate", xml, *([str(cert)] if cert else []))
        return done.returncode, done.stderr.decode()

    @property
    def xsd(self) -> Path:
        return self.resources / "DUIS Schema V5.1.xsd"

    def file(self, name: str) -> Path:
        return self.resources / name

    def pem_key(self, name: str, tmp: Path) -> Path:
        """A DER PKCS#8 test key as the PEM the tool's ``Sign`` reads."""
        body = base64.encodebytes(self.file(name).read_bytes()).decode()
        out = tmp / f"{name}.pem"
        out.write_text(f"-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\n")
        return out

    def validate_all(self, messages: list[bytes], cert: Path | None = None) -> list[tuple[int, str]]:
        with ThreadPoolExecutor(2) as pool:  # the machine has 2 cores
            return list(pool.map(lambda m: self.validate(m, cert), messages))


def _fetch(cache: Path) -> Path:
    jar = cache / "package" / "dist" / "tool.jar"
    if jar.is_file():
        return jar
    if shutil.which("npm") is None:
        pytest.skip("the DCC Boxed signing tool is not cached and npm is not installed to fetch it")
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "pack", PACKAGE, "--pack-destination", str(cache)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    tgz = sorted(cache.glob("smartdcc-duis-sign-wrap-*.tgz"))
    if done.returncode != 0 or not tgz:
        pytest.skip(f"npm could not fetch {PACKAGE}: {done.stderr.decode()[-300:]}")
    with tarfile.open(tgz[-1]) as archive:
        archive.extractall(cache, filter="data")
    return jar


@pytest.fixture(scope="session")
def duis_tool() -> DuisTool:
    if shutil.which("java") is None:
        pytest.skip("java is not installed (the DCC Boxed tool needs a JRE 11+; .ci/run installs one)")
    cache = Path(os.environ.get("DMCT_DUIS_TOOL_CACHE", Path.home() / ".cache" / "dmct" / "duis-sign-wrap"))
    jar = _fetch(cache)
    resources = cache / "resources"
    if not (resources / "DUIS Schema V5.1.xsd").is_file():
        with zipfile.ZipFile(jar) as archive:
            for name in archive.namelist():
                if not name.endswith((".class", "/")) and "/" not in name:
                    archive.extract(name, resources)
    return DuisTool(jar, resources)


class Receiver:
    """The User's receive endpoint: collects posts; answers ``status`` (a list is used up in order)."""

    def __init__(self) -> None:
        self.posts: list[bytes] = []
        self.statuses: list[int] = []
        self.hits = 0
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.hits += 1
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                    if status < 300:
                        receiver.posts.append(data)
                    receiver.lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/duis"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[bytes]:
        with self.lock:
            assert self.lock.wait_for(lambda: predicate(self.posts), timeout), f"posts so far: {self.posts}"
            return list(self.posts)


@dataclass
class DspLab:
    dsp: VirtualDsp
    url: str
    receiver: Receiver
    loop: asyncio.AbstractEventLoop
    keys: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def post(self, xml: bytes, endpoint: str = "serviceS") -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{self.url}/api/v1/{endpoint}", data=xml, headers={"Content-Type": "application/xml"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def call(self, fn: Any) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


def _installation(clock: SimClock) -> RouteInstallation:
    cat = load_catalogue()
    ch = build_device(cat.model("VCH-100"), "2.1.0", (), clock, serial=CH)
    esme = build_device(cat.model("VESME-1P"), "1.4.2", (), clock, serial="E21Z000101", device_id=ESME)
    gsme = build_device(cat.model("VGSME-U6"), "1.2.0", (), clock, serial="G4Z0000101", device_id=GSME)
    assert isinstance(ch, CommsHub) and isinstance(esme, Esme) and isinstance(gsme, Gsme)
    return RouteInstallation("rig-1", ch, esme, gsme, commissioned=True)


@pytest.fixture
def dsp_lab(duis_tool: DuisTool, tmp_path: Path) -> Iterator[DspLab]:
    receiver = Receiver()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    keys = tmp_path / "keys"

    async def start() -> tuple[VirtualDsp, str]:
        clock = SimClock(START, rate=RATE)
        service = build_service([_installation(clock)], clock=clock, keys_dir=keys, config=ServiceConfig())
        settings = DspSettings(
            xsd=duis_tool.xsd,
            trust=[
                duis_tool.file("xml-sign-90B3D51F30010000-ds.pem"),
                duis_tool.file("xml-sign-90B3D51F30020000-ds.pem"),
            ],
            users={SUPPLIER: ["IS", "GS"], NETWORK_OPERATOR: ["ED"]},
            receive_url=receiver.url,
            sign_key=duis_tool.file("dsp-xml-sign-90B3D51F30000002-ds.key"),
            sign_cert=duis_tool.file("dsp-xml-sign-90B3D51F30000002-ds.pem"),
            retry=RetryPolicy(attempts=5, initial_s=0.05, max_s=0.2),
        )
        dsp = build_dsp(service, settings, keys)
        server = await serve_dsp(dsp)
        return dsp, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    dsp, url = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    lab = DspLab(dsp, url, receiver, loop, keys)
    yield lab
    asyncio.run_coroutine_threadsafe(dsp.close(), loop).result(10)
    asyncio.run_coroutine_threadsafe(dsp.service.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    receiver.server.shutdown()
