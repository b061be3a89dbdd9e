"""Repository-local fixtures only.

The dmct pytest plugin is registered once, by its ``pytest11`` entry point (see ``pyproject.toml``);
registering it here as well would load it twice.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """The project's own tests never write into the repository's ``results/``: anything that falls
    back to the default results directory (``$DMCT_RESULTS``) gets a throwaway one for the session
    (xdist workers inherit it from the controller's environment)."""
    if not os.environ.get("DMCT_RESULTS") and not hasattr(config, "workerinput"):
        scratch = tempfile.mkdtemp(prefix="dmct-test-results-")
        os.environ["DMCT_RESULTS"] = scratch
        config.add_cleanup(lambda: shutil.rmtree(scratch, ignore_errors=True))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory (lab files, packs and docs are found from here)."""
    return REPO_ROOT
