"""A PostgreSQL store that cannot be used is one line naming the URL (password hidden), exit status 2,
never a traceback: server down, wrong password, unknown database."""

from __future__ import annotations

import pytest

from harness.errors import DmctInputError
from harness.store.issue_log import open_store

from .conftest import PASSWORD, USER, PgServer, _free_port
from .runs import dmct


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("server down", "Connection refused"),
        ("wrong password", f'password authentication failed for user "{USER}"'),
        ("unknown database", 'database "no_such_db" does not exist'),
    ],
)
def test_an_unusable_store_is_one_line_naming_the_url_without_its_password(
    pg_server: PgServer, case: str, expected: str
) -> None:
    url = {
        "server down": pg_server.url(port=_free_port()),
        "wrong password": pg_server.url(password="not-the-" + PASSWORD),
        "unknown database": pg_server.url("no_such_db"),
    }[case]
    shown = url.replace(url.split(":")[2].split("@")[0], "***")
    with pytest.raises(DmctInputError) as err:
        open_store(url)
    message = str(err.value)
    assert message.startswith(f"{shown}: cannot open the store: ") and expected in message
    assert "\n" not in message and PASSWORD not in message

    out = dmct("issues", "list", "--store", url)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"dmct: error: {message}\n"


def test_the_environment_variable_names_the_store(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMCT_STORE", pg_url)
    monkeypatch.setenv("DMCT_USER", "erin")
    added = dmct("issues", "add", "--title", "from the environment", "--severity", "4")
    assert (added.returncode, added.stdout) == (0, "TI-0001\n"), added.stderr
    with open_store(pg_url) as store:
        [issue] = store.list_issues()
    assert issue.history[0]["by"] == "erin"
