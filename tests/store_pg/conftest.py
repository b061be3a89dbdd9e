"""A throwaway PostgreSQL server for the shared-store tests, from the Debian packages.

One server per xdist worker (session scope): ``initdb`` in a temporary directory, listening on a free
loopback port (and a Unix socket in that directory, never the system's), ``fsync=off`` for speed,
password authentication over TCP so a wrong password can be tested; stopped and removed at teardown,
also when tests fail (and at interpreter exit if pytest is interrupted). Each test gets a fresh
database. PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
Skipped, with the reason, when no ``initdb`` is installed.
"""

from __future__ import annotations

import atexit
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "s3cret-" + secrets.token_hex(4)
USER = "dmct"


def _find_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    run_as: dict[str, Any]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{port or self.port}/{database}"

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            cwd=self.root, capture_output=True, text=True, timeout=60, check=check, **self.run_as,
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.ctl("stop", "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _start(bindir: Path) -> PgServer:
    run_as: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="dmct-pg-"))  # not pytest's tmp: 0700 under root's directory
    if os.geteuid() == 0:
        import pwd

        try:
            pg = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        os.chown(root, pg.pw_uid, pg.pw_gid)
        run_as = {"user": pg.pw_uid, "group": pg.pw_gid, "extra_groups": []}
    server = PgServer(bindir, root, _free_port(), run_as)
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(server.data), "-U", USER, "--pwfile", str(pwfile),
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
        cwd=root, capture_output=True, text=True, timeout=120, **run_as,
    )  # fmt: skip
    if init.returncode != 0:
        server.stop()
        raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
    for _attempt in range(3):  # the free port may be taken between choosing and binding it
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=120"
        )
        started = server.ctl("start", "-w", "-t", "60", "-l", str(root / "log"), "-o", options, check=False)
        if started.returncode == 0:
            return server
        server.port = _free_port()
    log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
    server.stop()
    raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log[-2000:]}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb): apt-get install postgresql")
    server = _start(bindir)
    atexit.register(server.stop)  # an interrupted session still stops it
    try:
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[Callable[[], str]]:
    """``pg_database()`` creates a new empty database and returns its URL (with the password)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")

    def make() -> str:
        name = "t_" + secrets.token_hex(6)
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return pg_server.url(name)

    yield make
    engine.dispose()


@pytest.fixture
def pg_url(pg_database: Callable[[], str]) -> str:
    """A fresh, empty database on the session's server."""
    return pg_database()
