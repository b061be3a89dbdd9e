"""Repository-local fixtures only.

The dmct pytest plugin is registered once, by its ``pytest11`` entry point (see ``pyproject.toml``);
registering it here as well would load it twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory (lab files, packs and docs are found from here)."""
    return REPO_ROOT
