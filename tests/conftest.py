"""Fixtures shared by the project's own tests: lab files and a running virtual lab."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent

# Property tests check what holds, not how fast: a per-example deadline measures the machine's load (a
# 2-core CI runner with pytest-xdist workers and virtual labs), and turned a sound property into a
# "flaky" failure there. A test that needs a time bound states it itself.
settings.register_profile("dmct", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dmct")

VIRTUAL_LAB = REPO / "labs" / "virtual.yaml"


#: Modules whose tests run whole pack sessions or labs for tens of seconds each (the --durations top
#: of issue 21's profile). They are collected first, so pytest-xdist hands them out while every
#: worker is busy and the run ends on short tests instead of one worker finishing a long one alone.
LONG_MODULES = (
    "tests/packs/",
    "tests/foundation/test_run_command.py",
    "tests/foundation/test_faults.py",
    "tests/foundation/test_leases.py",
    "tests/store_pg/test_many_writers.py",
    "tests/nightly/test_nightly_e2e.py",
    "tests/virtual/test_defects_protocol.py",
    "tests/foundation/test_utrn_source.py",
    "tests/verdict/test_verdict_properties.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long modules first, each kept whole and in order (module fixtures and the order inside a module
    are unchanged); a stable sort, so every xdist worker collects the same order."""

    def long_first(item: pytest.Item) -> int:
        path = Path(str(item.path)).resolve()
        inside = path.is_relative_to(REPO)
        return 0 if inside and path.relative_to(REPO).as_posix().startswith(LONG_MODULES) else 1

    items.sort(key=long_first)


@pytest.fixture(autouse=True)
def _private_lease_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test leases rigs in its own directory, so parallel tests never contend for 'virtual/rig-1'."""
    monkeypatch.setenv("DMCT_LEASE_DIR", str(tmp_path_factory.mktemp("leases")))


def virtual_lab_data(*, prepared: bool = False) -> dict[str, Any]:
    """``labs/virtual.yaml`` as data; without ``prepared``, only the default entry's standard rig,
    serving every entry (the rigs prepared for the MT negative paths and the active entry's own rigs
    are left out, so edits of the standard rig's DMC stay consistent)."""
    data: dict[str, Any] = yaml.safe_load(VIRTUAL_LAB.read_text())
    if not prepared:  # the default entry's standard rig, serving every entry as the only rig
        default = data["default_entry"]
        data["rigs"] = [
            r
            for r in data["rigs"]
            if not r.get("prepared_for") and default in (r.get("entries") or [default])
        ]
        for rig in data["rigs"]:
            rig.pop("entries", None)
    return data


@pytest.fixture
def lab_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a variant of ``labs/virtual.yaml``: ``lab_file(edit)`` where ``edit(data)`` mutates it
    (its standard rig only, unless ``prepared=True``)."""

    def make(
        edit: Callable[[dict[str, Any]], None] | None = None,
        name: str = "lab.yaml",
        *,
        prepared: bool = False,
    ) -> Path:
        data = virtual_lab_data(prepared=prepared)
        if edit is not None:
            edit(data)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return make


def add_rig(data: dict[str, Any], rig_id: str, esme_url: str | None = None) -> None:
    """Append a copy of the first rig under a new id, every virtual link renamed to it."""
    import copy

    first = data["rigs"][0]
    rig = copy.deepcopy(first)
    rig["id"] = rig_id
    old, new = f"virtual://{first['id']}/", f"virtual://{rig_id}/"
    for device in rig["devices"]:
        for link in device.get("links", {}).values():
            link["url"] = link["url"].replace(old, new)
        if device.get("eui64"):  # a distinct device in the inventory
            groups = device["eui64"].split("-")
            groups[5] = f"{len(data['rigs']) + 0x10:02X}"
            device["eui64"] = "-".join(groups)
    if rig.get("instruments"):
        rig["instruments"]["url"] = rig["instruments"]["url"].replace(old, new)
    if esme_url:
        next(d for d in rig["devices"] if d["role"] == "esme")["links"]["optical"]["url"] = esme_url
    data["rigs"].append(rig)


def esme_of(data: dict[str, Any], rig: int = 0) -> dict[str, Any]:
    device: dict[str, Any] = next(d for d in data["rigs"][rig]["devices"] if d["role"] == "esme")
    return device


def write_pack(
    root: Path, pack_id: str, source: str, tests: list[str | dict[str, Any]], *, module: str = "test_pack.py"
) -> Path:
    """A small pack directory: ``pack.yaml`` planning ``tests`` (ids relative to the pack, or
    ``{id, roles, requirements}``) and one test module holding ``source``."""
    pack = root / pack_id
    pack.mkdir()
    manifest = {"id": pack_id, "name": pack_id, "version": "1", "capability_release": "IOC", "tests": tests}
    (pack / "pack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (pack / module).write_text(source)
    return pack


def run_pack(
    pack: Path,
    results: Path,
    run_id: str,
    *,
    lab: Path = VIRTUAL_LAB,
    endpoints: Path | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``pack`` with the dmct plugin in a subprocess (as a lab engineer would)."""
    import os

    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(pack), "--lab", str(lab),
            "--results-dir", str(results), "--run-id", run_id, *extra]  # fmt: skip
    if endpoints is not None:
        args += ["--lab-endpoints", str(endpoints)]
    return subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


class RunningLab:
    def __init__(self, lab: Path, endpoints: Path, proc: subprocess.Popen[bytes]) -> None:
        self.lab, self.endpoints, self.proc = lab, endpoints, proc

    def endpoint_map(self) -> dict[str, str]:
        from device_drivers.links import read_endpoints

        return read_endpoints(self.endpoints)


def start_lab(lab: Path, endpoints: Path) -> RunningLab:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "lab",
            "up",
            str(lab),
            "--endpoints",
            str(endpoints),
            "--exit-with-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(b"dmct lab: ready"):
        proc.kill()
        raise RuntimeError(f"virtual lab failed to start: {line!r} {proc.stdout.read()!r}")
    return RunningLab(lab, endpoints, proc)


def stop_lab(running: RunningLab) -> None:
    proc = running.proc
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def virtual_lab(tmp_path: Path) -> Iterator[Callable[[Path], RunningLab]]:
    """Start ``dmct lab up`` for a lab file (one or more per test); every lab is stopped afterwards."""
    started: list[RunningLab] = []

    def up(lab: Path = VIRTUAL_LAB) -> RunningLab:
        running = start_lab(lab, tmp_path / f"endpoints-{len(started)}-{time.monotonic_ns()}.json")
        started.append(running)
        return running

    yield up
    for running in started:
        stop_lab(running)
