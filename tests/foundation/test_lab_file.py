"""Lab inventory validation: good files load; each kind of bad file is one line naming file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.errors import DmctInputError
from harness.lab.inventory import load_lab
from tests.conftest import VIRTUAL_LAB, add_rig, esme_of


def test_shipped_virtual_lab_is_valid() -> None:
    lab = load_lab(VIRTUAL_LAB)
    assert lab.virtual
    entry = lab.select_entries(None)[0]
    assert entry.id == lab.default_entry
    assert lab.rigs_for(entry.dmc), "the default entry's DMC must be hosted by a rig"
    assert lab.dmc(entry.dmc).esme.firmware_version


def _set_role(d: dict[str, Any]) -> None:
    esme_of(d)["role"] = "toaster"


def _dup_rig(d: dict[str, Any]) -> None:
    d["rigs"].append(dict(d["rigs"][0]))


def _bad_url(d: dict[str, Any]) -> None:
    esme_of(d)["links"]["optical"]["url"] = "http://example/meter"


def _no_firmware(d: dict[str, Any]) -> None:
    del esme_of(d)["firmware_version"]


def _orphan_dmc(d: dict[str, Any]) -> None:
    d["dmcs"].append({**d["dmcs"][0], "id": "LONELY"})


def _wrong_firmware(d: dict[str, Any]) -> None:
    esme_of(d)["firmware_version"] = "9.9.9"


def _entry_unknown_dmc(d: dict[str, Any]) -> None:
    d["entries"][0]["dmc"] = "NOPE"


def _shared_port(d: dict[str, Any]) -> None:
    gsme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "gsme")
    gsme["links"]["dlms"]["url"] = esme_of(d)["links"]["dlms"]["url"]


def _shared_eui(d: dict[str, Any]) -> None:
    gsme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "gsme")
    gsme["eui64"] = esme_of(d)["eui64"]


def _rig_unknown_entry(d: dict[str, Any]) -> None:
    d["rigs"][0]["entries"] = ["EPCL-VDMC1-D", "EPCL-NOPE"]


def _entry_nobody_serves(d: dict[str, Any]) -> None:
    d["rigs"][0]["entries"] = ["EPCL-VDMC1-D"]  # the active entry is then served by no rig


def _unknown_field(d: dict[str, Any]) -> None:
    d["rigs"][0]["colour"] = "blue"


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (_set_role, "rigs[0].devices[1].role", "esme"),
        (_dup_rig, "rigs[1].id", "duplicate"),
        (_bad_url, "rigs[0].devices[1].links.optical.url", "not a usable link URL"),
        (_no_firmware, "rigs[0].devices[1].firmware_version", "missing"),
        (_orphan_dmc, "dmcs[1].id", "not hosted by any rig"),
        (_wrong_firmware, "rigs[0].devices[1].firmware_version", "does not match DMC"),
        (_entry_unknown_dmc, "entries[0].dmc", "unknown DMC"),
        (_unknown_field, "rigs[0].colour", "unknown field"),
        (_shared_port, "rigs[0].devices[2].links.dlms.url", "also the link of rig-1/esme/dlms"),
        (_shared_eui, "rigs[0].devices[2].eui64", "also the Device ID of rig-1/esme"),
        (_rig_unknown_entry, "rigs[0].entries[1]", "unknown entry 'EPCL-NOPE'"),
        (_entry_nobody_serves, "entries[1].id", "no rig serves entry 'EPCL-VDMC1-A'"),
    ],
)
def test_malformed_lab_names_file_line_and_field(
    lab_file: Callable[..., Path], edit: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    path = lab_file(edit)
    with pytest.raises(DmctInputError) as info:
        load_lab(path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    assert info.value.line is not None and info.value.line > 1
    assert f": {field}: " in message, message
    assert words in message
    assert "\n" not in message


def test_cli_bad_lab_is_one_line_exit_2(
    lab_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = lab_file(_set_role)
    assert main(["lab", "check", str(path), "--no-probe"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "rigs[0].devices[1].role" in err


def test_cli_missing_lab_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "check", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"dmct: error: {tmp_path / 'nope.yaml'}: file not found\n"


def test_cli_broken_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("lab: x\nrigs: [\n  - id: a\n")
    assert main(["lab", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dmct: error: {path}:") and "invalid YAML" in err and err.count("\n") == 1


def test_unknown_entry_is_named() -> None:
    lab = load_lab(VIRTUAL_LAB)
    with pytest.raises(DmctInputError, match="unknown entry 'EPCL-NOPE'"):
        lab.select_entries(["EPCL-NOPE"])


def test_dmct_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "verdict", "lab"):
        assert f"    {command} " in out, out


def test_rigs_serve_the_entries_they_list(lab_file: Callable[..., Path]) -> None:
    def edit(d: dict[str, Any]) -> None:
        add_rig(d, "rig-active")
        d["rigs"][0]["entries"] = ["EPCL-VDMC1-D"]
        d["rigs"][1]["entries"] = ["EPCL-VDMC1-A"]

    lab = load_lab(lab_file(edit))
    dormant, active = lab.entry("EPCL-VDMC1-D"), lab.entry("EPCL-VDMC1-A")
    assert [r.id for r in lab.rigs_for_entry(dormant)] == ["rig-1"]
    assert [r.id for r in lab.rigs_for_entry(active)] == ["rig-active"]


# -- links exported from a lab PC (`exported_from`, for `dmct lab export`) ----------------------------


def _exported(url: str, **export: Any) -> Callable[[dict[str, Any]], None]:
    """The rig's ESME DLMS link moved to ``url``, served by ser2net on lab PC ``labpc-2``."""

    def edit(d: dict[str, Any]) -> None:
        link = esme_of(d)["links"]["dlms"]
        link["url"] = url
        link["exported_from"] = {"host": "labpc-2", "device": "/dev/ttyUSB0", **export}

    return edit


def _gsme_exported(url: str, device: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        _exported("rfc2217://10.0.0.2:7001")(d)
        gsme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "gsme")
        gsme["links"]["dlms"].update(url=url, exported_from={"host": "LABPC-2", "device": device})

    return edit


def test_exported_link_loads(lab_file: Callable[..., Path]) -> None:
    lab = load_lab(lab_file(_exported("rfc2217://10.0.0.2:7001?ign_set_control", baud=300, frame="7E1")))
    export = lab.rigs[0].device("esme").links["dlms"].exported_from  # type: ignore[union-attr]
    assert export is not None and (export.host, export.device, export.baud, export.frame) == (
        "labpc-2", "/dev/ttyUSB0", 300, "7E1"
    )  # fmt: skip
    gsme = lab.rigs[0].device("gsme")
    assert gsme is not None and gsme.links["dlms"].exported_from is None  # optional: old files unchanged


def test_example_two_host_lab_is_valid() -> None:
    from tests.conftest import REPO

    lab = load_lab(REPO / "labs" / "example-two-host.yaml")
    hosts = {
        link.exported_from.host
        for r in lab.rigs
        for d in r.devices
        for link in d.links.values()
        if link.exported_from
    }
    assert hosts == {"labpc-2", "labpc-3"}


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (_exported("virtual://rig-1/esme/dlms"), "links.dlms.exported_from", "must be rfc2217://host:port"),
        (_exported("/dev/ttyUSB3"), "links.dlms.exported_from", "serial server serves TCP"),
        (
            _exported("rfc2217://10.0.0.2:7001", baud=9601),
            "links.dlms.exported_from.baud",
            "standard line speed",
        ),
        (_exported("rfc2217://10.0.0.2:7001", frame="8X1"), "links.dlms.exported_from.frame", "pattern"),
        (
            _exported("rfc2217://10.0.0.2:7001", device="ttyUSB0"),
            "links.dlms.exported_from.device",
            "pattern",
        ),
        (_exported("rfc2217://10.0.0.2:7001", device="/dev/tty USB0"), "exported_from.device", "pattern"),
        (_exported("rfc2217://10.0.0.2:7001", speed=9600), "links.dlms.exported_from.speed", "unknown field"),
        (_exported("rfc2217://10.0.0.2:99999"), "links.dlms.url", "not a TCP port"),
        (
            _gsme_exported("rfc2217://labpc-2.lab:7001", "/dev/ttyUSB1"),
            "devices[2].links.dlms.url",
            "port 7001 on LABPC-2 is also exported for rig-1/esme/dlms",
        ),
        (
            _gsme_exported("socket://10.0.0.2:7002", "/dev/ttyUSB0"),
            "devices[2].links.dlms.exported_from.device",
            "/dev/ttyUSB0 on LABPC-2 is also exported for rig-1/esme/dlms",
        ),
    ],
)
def test_bad_exported_from_names_file_line_and_field(
    lab_file: Callable[..., Path], edit: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    path = lab_file(edit)
    with pytest.raises(DmctInputError) as info:
        load_lab(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and info.value.line is not None and info.value.line > 1, message
    assert info.value.field is not None and info.value.field.endswith(field), message
    assert words in message and "\n" not in message, message


def test_same_port_on_two_lab_pcs_is_fine(lab_file: Callable[..., Path]) -> None:
    def edit(d: dict[str, Any]) -> None:
        _exported("rfc2217://10.0.0.2:7001")(d)
        gsme = next(x for x in d["rigs"][0]["devices"] if x["role"] == "gsme")
        gsme["links"]["dlms"].update(
            url="rfc2217://10.0.0.3:7001", exported_from={"host": "labpc-3", "device": "/dev/ttyUSB0"}
        )

    assert load_lab(lab_file(edit))
