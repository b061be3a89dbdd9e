"""Fixtures of the DUIS tests: the DCC Boxed signing tool (fetched at test time) and its test keys."""

from __future__ import annotations

import pytest

from tests.duis.dcc_tool import DccTool, ToolUnavailable, fetch


@pytest.fixture(scope="session")
def dcc() -> DccTool:
    """The DCC Boxed signing tool and its files; skipped (with the reason) only where Java or npm is
    unavailable or the npm registry cannot be reached."""
    try:
        return fetch()
    except ToolUnavailable as exc:
        pytest.skip(f"DCC Boxed signing tool unavailable: {exc}")
