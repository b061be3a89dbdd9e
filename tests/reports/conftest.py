"""The fixed report data set in a temporary directory (the working directory during the test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports import dataset


@pytest.fixture
def ds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DMCT_STORE", raising=False)
    monkeypatch.delenv("DMCT_REDACT_KEY", raising=False)
    monkeypatch.delenv("DMCT_EVIDENCE_KEY", raising=False)
    monkeypatch.setenv("DMCT_RESULTS", str(tmp_path / "results"))
    return dataset.build(tmp_path)
