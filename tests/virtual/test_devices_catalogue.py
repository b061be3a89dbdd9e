"""The device catalogue (data file), defect resolution, the factory and the alert-code table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from harness.lab.inventory import VirtualDeviceConfig, load_lab
from labs.virtual.devices import (
    ALERTS,
    CatalogueError,
    CommsHub,
    Esme,
    Gsme,
    Ihd,
    Ppmid,
    UnknownDefectError,
    build_device,
    eui64_for,
    load_catalogue,
    resolve_defects,
)
from labs.virtual.devices.catalogue import CATALOGUE_FILE
from labs.virtual.devices.factory import DeviceSettings

from .test_devices_support import HandClock

REPO = Path(__file__).resolve().parents[2]
SHARED_ALERTS = REPO.parent / "shared" / "reference" / "domain" / "gbcs-alert-codes.csv"
CLASSES: dict[str, type] = {"esme": Esme, "gsme": Gsme, "ch": CommsHub, "ppmid": Ppmid, "ihd": Ihd}


def test_the_virtual_lab_devices_are_in_the_catalogue() -> None:
    cat = load_catalogue()
    lab = load_lab(REPO / "labs" / "virtual.yaml")
    for rig in lab.rigs:
        for device in rig.devices:
            entry = cat.find(device.manufacturer, device.model, device.hardware_version)
            assert entry.role == device.role
            assert device.firmware_version in entry.versions


def test_each_role_has_another_model_and_an_upgrade_before_migration_firmware() -> None:
    cat = load_catalogue()
    for role in ("ch", "esme", "gsme"):
        models = [m for m in cat.models if m.role == role]
        assert len(models) >= 2, role
        assert any(f.needs_firmware_upgrade_before_migration for m in models for f in m.firmware), role
    assert cat.profile("VESME-1P", "1.3.0").needs_firmware_upgrade_before_migration
    assert not cat.profile("VESME-1P", "1.4.2").needs_firmware_upgrade_before_migration
    assert cat.model("VESME-3P").variant == "polyphase"


def test_srv_subsets_per_firmware() -> None:
    cat = load_catalogue()
    esme_srvs = cat.role_srvs("esme")
    assert {"1.1.1", "2.2", "7.1", "11.3"} <= esme_srvs
    assert "7.1" not in cat.role_srvs("gsme")  # enable supply is electricity only
    assert "8.11" in cat.role_srvs("ch") and "8.11" not in esme_srvs
    assert cat.srvs_for("VESME-1P", "1.4.2") == esme_srvs
    assert cat.srvs_for("VESME-1P", "1.3.0") == esme_srvs - {"6.4.1", "6.4.2", "4.8.1"}
    assert cat.smets1_srvs["1.1.1"].critical and cat.smets1_srvs["1.1.1"].future_dated == "Device"
    for srv in ("6.28", "7.13", "8.1.1", "6.15.2", "12.1"):  # not SMETS1 per the notes
        assert srv not in cat.smets1_srvs


def test_behaviour_differences_per_firmware() -> None:
    cat = load_catalogue()
    old, new = cat.profile("VESME-1P", "1.3.0").behaviour, cat.profile("VESME-1P", "1.4.2").behaviour
    assert (old.max_tou_rates, old.load_limiting, old.future_dating) == (4, False, False)
    assert (new.max_tou_rates, new.load_limiting, new.future_dating) == (8, True, True)
    assert cat.profile("VGSME-U6", "1.2.0").behaviour.wake_interval_s == 600


def test_resolve_defects_from_firmware_and_lab_file() -> None:
    assert resolve_defects("VESME-1P", "1.4.2") == frozenset()
    assert resolve_defects("VESME-1P", "1.4.3-buggy", ["clock_drifts"]) == {
        "drops_supply_restored_alert",
        "ignores_future_dating",
        "loses_debt_on_top_up",
        "clock_drifts",
    }
    assert resolve_defects(load_catalogue().model("VGSME-G4"), "3.0.2-buggy") == {"gsme_never_wakes"}


def test_a_defect_needing_a_capability_is_impossible_on_a_device_without_it() -> None:
    """A bug in the 5th TOU rate needs a meter that holds 5 (catalogue ``needs``): the default DMC's
    4-rate GSME cannot have it, its 8-rate ESME can; the old 4-rate ESME firmware cannot either."""
    cat = load_catalogue()
    assert cat.impossible("tou_rate_5_misapplied", "VESME-1P", "1.4.2") is None
    assert "max_tou_rates 4" in str(cat.impossible("tou_rate_5_misapplied", "VESME-1P", "1.3.0"))
    assert "max_tou_rates 4" in str(cat.impossible("tou_rate_5_misapplied", "VGSME-G4", "3.0.1"))
    assert cat.impossible("gsme_never_wakes", "VESME-1P", "1.4.2") == "an esme cannot carry it"
    roles, impossible = cat.defects_on({"esme": ("VESME-1P", "1.4.2"), "gsme": ("VGSME-G4", "3.0.1")})
    assert roles["tou_rate_5_misapplied"] == ["esme"] and roles["tou_rate_misapplied"] == ["esme", "gsme"]
    assert list(impossible) == ["gsme:tou_rate_5_misapplied"]


def test_unknown_defect_names_the_defect_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDefectError) as exc:
        resolve_defects("VESME-1P", "1.4.2", ["tou_rate_misaplied"])
    message = str(exc.value)
    assert "'tou_rate_misaplied'" in message and "tou_rate_misapplied" in message
    assert exc.value.name == "tou_rate_misaplied" and "clock_drifts" in exc.value.known
    with pytest.raises(UnknownDefectError, match="gsme_never_wakes"):
        resolve_defects("VESME-1P", "1.4.2", ["gsme_never_wakes"])  # a GSME defect on an ESME


def test_unknown_model_firmware_and_hardware() -> None:
    cat = load_catalogue()
    with pytest.raises(CatalogueError, match="VESME-1P"):
        cat.model("NOPE")
    with pytest.raises(CatalogueError, match=r"1\.4\.2"):
        cat.profile("VESME-1P", "0.0.1")
    with pytest.raises(CatalogueError, match="made by"):
        cat.find("Someone Else", "VESME-1P")
    with pytest.raises(CatalogueError, match="hardware"):
        cat.find("Virtual Meters Ltd", "VESME-1P", "Z")


def test_catalogue_defects_match_what_each_model_class_implements() -> None:
    cat = load_catalogue()
    for role, cls in CLASSES.items():
        assert cat.defects_for_role(role) == cls.KNOWN_DEFECTS, role  # type: ignore[arg-type, attr-defined]
    for name, info in cat.defects.items():
        assert len(info.description) > 20, name


def _broken(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(CATALOGUE_FILE.read_text())
    edit(data)
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["models"][0]["firmware"][0].update(defects=["no_such_defect"]), "no_such_defect"),
        (lambda d: d["models"][0]["firmware"][0].update(srvs_without=["7.1"]), "7.1"),
        (lambda d: d["models"][0]["firmware"][0].update(behaviour={"max_tou_rates": 99}), "behaviour"),
        (lambda d: d["models"][0]["firmware"][0].update(behaviour={"colour": "red"}), "behaviour"),
        (lambda d: d["models"].append(d["models"][0]), "more than once"),
        (lambda d: d["defects"].update({"CamelCase": {"roles": ["esme"], "description": "x"}}), "snake_case"),
        (lambda d: d.update(extra_key=1), "extra"),
        (lambda d: d["defects"]["tou_rate_5_misapplied"].update(needs={"colour": 5}), "behaviour field"),
    ],
)
def test_inconsistent_catalogues_are_refused(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(_broken(tmp_path, edit))


def test_factory_builds_every_catalogue_model_and_firmware() -> None:
    cat = load_catalogue()
    clock = HandClock()
    for entry in cat.models:
        for fw in entry.versions:
            dev = build_device(entry, fw, (), clock.sim, serial=f"{entry.model}-{fw}")
            assert isinstance(dev, CLASSES[entry.role])
            assert dev.firmware.running == fw and dev.model == entry.model
            assert dev.defects == set(entry.firmware_entry(fw).defects)
            assert dev.profile.srvs == cat.srvs_for(entry, fw)


def test_factory_accepts_a_lab_files_virtual_block() -> None:
    config = VirtualDeviceConfig(manufacturer_flag="VML", serial="E21Z000001", load_w=2000, clock_rate=3600)
    entry = load_catalogue().model("VESME-1P")
    dev = build_device(
        entry, "1.4.2", config.defects, HandClock().sim, **DeviceSettings.pick(config.model_dump())
    )
    assert isinstance(dev, Esme)
    assert (dev.load_w, dev.manufacturer_flag, dev.serial) == (2000, "VML", "E21Z000001")
    assert dev.registers().tou_kwh == (1000.0, 200.0, 300.0, 400.0)
    with pytest.raises(ValidationError):
        DeviceSettings(clock_rate=3600)  # type: ignore[call-arg]
    with pytest.raises(UnknownDefectError):
        build_device(entry, "1.4.2", ["nope"], HandClock().sim)


def test_eui64() -> None:
    assert eui64_for("00-1a-2b-ff-fe-00-00-01") == "00-1A-2B-FF-FE-00-00-01"
    eui = eui64_for("E21Z000001")
    assert eui == eui64_for("E21Z000001") and len(eui.split("-")) == 8


def test_alert_names_are_the_gbcs_names() -> None:
    assert len({info.name for info in ALERTS.values()}) == len(ALERTS)
    if not SHARED_ALERTS.exists():
        pytest.skip(f"{SHARED_ALERTS} not available (only on the development machine)")
    with SHARED_ALERTS.open(newline="") as fh:
        table = {int(row["code"], 16): row["name"] for row in csv.DictReader(fh)}
    for code, info in ALERTS.items():
        assert table.get(code) == info.name, hex(code)
