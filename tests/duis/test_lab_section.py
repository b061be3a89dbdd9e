"""The lab file's ``route: {kind: duis, duis: {...}}`` section: accepted when complete, one line naming
the field when not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.errors import DmctInputError
from harness.lab.inventory import load_lab

DUIS: dict[str, Any] = {
    "xsd": "dcc/DUIS Schema V5.1.xsd",
    "receive": "0.0.0.0:8080/duis",
    "users": [
        {"name": "supplier", "role": "IS", "eui": "90-B3-D5-1F-30-01-00-00", "key": "k.key", "cert": "c.pem"}
    ],
    "dsp_certs": ["dsp.pem"],
    "migration": {"kind": "virtual", "url": "virtual://lab/route/s1sp"},
}


def duis_route(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["route"] = {"kind": "duis", "url": "https://dsp.example:8443", "duis": dict(DUIS), **changes}

    return edit


def test_a_complete_duis_section_loads(lab_file: Callable[..., Path]) -> None:
    lab = load_lab(lab_file(duis_route()))
    assert lab.route is not None and lab.route.duis is not None
    assert lab.route.duis.users[0].eui == "90-B3-D5-1F-30-01-00-00"
    assert lab.route.duis.read_timeout_s == 5.0


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"url": "ftp://dsp.example"}, "http(s)"),
        ({"duis": None}, "route.duis"),
        ({"duis": {**DUIS, "users": []}}, "users"),
        ({"duis": {**DUIS, "receive": "nohostport"}}, "receive"),
        ({"duis": {**DUIS, "users": [{**DUIS["users"][0], "eui": "xyz"}]}}, "eui"),
    ],
)
def test_bad_duis_sections_are_one_line(
    lab_file: Callable[..., Path], changes: dict[str, Any], needle: str
) -> None:
    with pytest.raises(DmctInputError) as info:
        load_lab(lab_file(duis_route(**changes)))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_other_kinds_still_need_a_link_url(lab_file: Callable[..., Path]) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["route"] = {"kind": "virtual", "url": "http://not-a-link"}

    with pytest.raises(DmctInputError):
        load_lab(lab_file(edit))
