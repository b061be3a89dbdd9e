"""The JUnit XSD CI tools use, fetched rather than copied into the repository.

The schema is the Jenkins xUnit plugin's ``junit-10.xsd`` (MIT), the one pytest validates its own
``--junitxml`` against; pytest's source distribution ships it (``testing/example_scripts/``). It is taken
from there through pip (the package registry's ordinary client), for the installed pytest version, and
cached under ``$XDG_CACHE_HOME/dmct`` (``.ci/run`` fetches it before the tests). ``$DMCT_JUNIT_XSD``
names a local copy instead.

``python -m tests.reports.junit_schema`` fetches it and prints its path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

MEMBER = "testing/example_scripts/junit-10.xsd"


def cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dmct" / f"junit-10.pytest-{version('pytest')}.xsd"


def junit_xsd(fetch: bool = True) -> tuple[Path | None, str]:
    """The schema's path, or ``None`` and why it could not be had."""
    named = os.environ.get("DMCT_JUNIT_XSD")
    if named:
        return (Path(named), "") if Path(named).is_file() else (None, f"$DMCT_JUNIT_XSD={named} is no file")
    cached = cache_path()
    if cached.is_file():
        return cached, ""
    if not fetch:
        return None, "not fetched yet"
    pytest_version = version("pytest")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q"]
        cmd += ["-d", tmp, f"pytest=={pytest_version}"]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            return None, "pip download of pytest's sdist timed out"
        sdists = list(Path(tmp).glob("pytest-*.tar.gz"))
        if not sdists:
            why = res.stderr.strip()[-300:]
            return None, f"pip could not download pytest {pytest_version}'s sdist: {why}"
        with tarfile.open(sdists[0]) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(MEMBER)), None)
            data = tar.extractfile(member).read() if member is not None else None  # type: ignore[union-attr]
        if not data:
            return None, f"pytest {pytest_version}'s sdist has no {MEMBER}"
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(f".{os.getpid()}.part")
    part.write_bytes(data)
    part.replace(cached)
    return cached, ""


if __name__ == "__main__":
    path, why = junit_xsd()
    print(path if path is not None else f"junit-10.xsd unavailable: {why}")
    sys.exit(0 if path is not None else 1)
