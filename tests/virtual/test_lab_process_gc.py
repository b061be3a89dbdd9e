"""The lab server process moves what start-up built out of the collector's way (issue 21): at a
thousand rigs a full collection over the lab's millions of COSEM objects paused the loop for tens of
milliseconds. ``serve_lab`` runs only in the ``dmct lab up`` process; here its ``gc`` is replaced by a
recorder, so this test's own process is never frozen."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.lab.inventory import load_lab
from labs.virtual import process

LAB = Path(__file__).resolve().parents[2] / "labs" / "virtual.yaml"


def test_the_lab_freezes_its_start_up_objects_before_it_says_ready(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []
    out = io.StringIO()

    def note(name: str) -> object:
        def record(*_: object) -> int:
            calls.append(f"{name}{' (ready printed)' if 'ready' in out.getvalue() else ''}")
            return 0

        return record

    monkeypatch.setattr(process, "gc", SimpleNamespace(collect=note("collect"), freeze=note("freeze")))
    lab = load_lab(LAB)

    async def scenario() -> None:
        task = asyncio.create_task(process.serve_lab(lab, tmp_path / "lab.endpoints.json", out=out))
        for _ in range(600):
            if "ready" in out.getvalue() or task.done():
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert "dmct lab: ready" in out.getvalue()
    assert calls == ["collect", "freeze"]  # once, after the servers were built, before the ready line
