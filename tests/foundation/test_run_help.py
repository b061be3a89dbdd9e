"""``dmct run --help`` describes the command and every option it forwards to pytest (no hiding behind --)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli import build_parser, main
from harness.cli.run import forwarded, session_env


class _Recorder:
    """Stands in for pytest's parser: records the options the dmct plugin adds."""

    def __init__(self) -> None:
        self.options: list[str] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options += [n for n in names if n.startswith("--")]


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_describes_the_run_and_every_plugin_option(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.plugin import pytest_addoption

    recorder = _Recorder()
    pytest_addoption(recorder)  # type: ignore[arg-type]
    assert "--lease-wait" in recorder.options
    text = _help(capsys)
    assert "Run the test packs against one planned EPCL entry" in text
    assert "forwarded to pytest:" in text
    for option in recorder.options:
        assert f"{option} " in text, option  # set by dmct run itself or forwarded, each with its help


def test_forwarded_options_reach_pytest() -> None:
    args = build_parser().parse_args(
        ["run", "--lease-wait", "5", "-k", "srv and not gas", "-x", "--alluredir", "a", "--", "--tb=long"]
    )
    assert forwarded(args) == ["--lease-wait", "5.0", "-k", "srv and not gas", "-x", "--alluredir", "a"]
    assert args.pytest_args == ["--", "--tb=long"]
    assert forwarded(build_parser().parse_args(["run"])) == []


def test_session_env_caches_bytecode_outside_the_tree(tmp_path: Path) -> None:
    """Where the user's environment forbids bytecode files, ``dmct run``'s pytest session caches them
    under the user's cache instead (never beside the sources); a prefix the user set, or
    ``DMCT_BYTECODE_CACHE=0``, is left alone; an environment without the variable is unchanged."""
    base = {"PATH": "/bin", "XDG_CACHE_HOME": str(tmp_path)}
    env = session_env(base | {"PYTHONDONTWRITEBYTECODE": "1"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "dmct" / "pycache")
    assert session_env(base) == base
    own = base | {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/x"}
    assert session_env(own) == own
    off = base | {"PYTHONDONTWRITEBYTECODE": "1", "DMCT_BYTECODE_CACHE": "0"}
    assert session_env(off) == off
