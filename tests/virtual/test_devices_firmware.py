"""Firmware transfer, verification and (future-dated) activation; credentials and authorisation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labs.virtual.devices import (
    Authorisation,
    DeviceCommandError,
    FirmwareImage,
    KeyRef,
    RejectCode,
)
from labs.virtual.devices import alerts as A
from labs.virtual.devices.base import Device

from .test_devices_support import START, HandClock, ch, codes, esme, gsme

PAYLOAD = bytes(range(256)) * 5  # 1280 bytes: 3 blocks of 512


def send_image(
    dev: Device, version: str, payload: bytes = PAYLOAD, model: str | None = None
) -> FirmwareImage:
    image = FirmwareImage.of(version, model or dev.model, PAYLOAD, block_size=512)
    dev.start_firmware_transfer(image)
    for i in range(image.blocks):
        dev.write_firmware_block(i, payload[i * 512 : (i + 1) * 512])
    return image


def test_transfer_verify_activate_changes_the_running_version() -> None:
    m = esme()
    send_image(m, "1.4.3")
    m.verify_firmware()
    assert m.firmware_version == "1.4.2"
    result = m.activate_firmware()
    assert result.executed
    assert m.firmware_version == "1.4.3"
    assert codes(m) == [A.FIRMWARE_VERIFICATION_SUCCEEDED, A.FIRMWARE_CHANGED]
    assert m.security_log()[-1].details == {"from": "1.4.2", "to": "1.4.3"}


def test_activation_needs_a_verified_image() -> None:
    m = esme()
    with pytest.raises(DeviceCommandError) as exc:
        m.activate_firmware()
    assert exc.value.code is RejectCode.INVALID_STATE


@pytest.mark.parametrize(
    ("payload", "model", "reason"),
    [
        (PAYLOAD[:-1] + b"\x00", None, "hash"),
        (PAYLOAD, "VESME-3P", "model"),
    ],
)
def test_corrupt_or_foreign_image_fails_verification(payload: bytes, model: str | None, reason: str) -> None:
    m = esme()
    send_image(m, "9.9.9", payload, model)
    with pytest.raises(DeviceCommandError, match=reason) as exc:
        m.verify_firmware()
    assert exc.value.code is RejectCode.FIRMWARE_VERIFICATION_FAILED
    assert codes(m) == [A.FIRMWARE_VERIFICATION_FAILED]
    with pytest.raises(DeviceCommandError):
        m.activate_firmware()


def test_incomplete_transfer_and_bad_blocks() -> None:
    m = esme()
    image = FirmwareImage.of("2.0", m.model, PAYLOAD)
    m.start_firmware_transfer(image)
    m.write_firmware_block(0, PAYLOAD[:512])
    assert m.firmware.missing_blocks() == [1, 2]
    with pytest.raises(DeviceCommandError, match="missing"):
        m.verify_firmware()
    with pytest.raises(DeviceCommandError):
        m.write_firmware_block(3, b"x")
    with pytest.raises(DeviceCommandError):
        m.write_firmware_block(1, b"short")
    with pytest.raises(DeviceCommandError):
        m.start_firmware_transfer(FirmwareImage("x", m.model, 0, "00"))


def test_future_dated_activation() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    send_image(m, "1.4.3")
    m.verify_firmware()
    due = START + timedelta(hours=1)
    assert m.activate_firmware(at=due).scheduled_for == due
    clock.advance(minutes=59)
    assert m.firmware_version == "1.4.2"
    clock.advance(minutes=2)
    assert m.firmware_version == "1.4.3"
    assert codes(m)[-2:] == [A.FIRMWARE_CHANGED, A.FUTURE_DATED_ACTIONED]


def test_future_dated_command_that_cannot_run_raises_0x8f67() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    send_image(m, "1.4.3")
    m.verify_firmware()
    m.activate_firmware(at=START + timedelta(hours=1))
    m.start_firmware_transfer(FirmwareImage.of("1.4.4", m.model, PAYLOAD))  # the verified image is gone
    clock.advance(hours=2)
    alert = m.drain_alerts()[-1]
    assert alert.code == A.FUTURE_DATED_NOT_ACTIONED
    assert alert.details["reason"] == "invalid_state"
    assert m.firmware_version == "1.4.2"


def test_upgrade_takes_the_new_firmware_behaviour_from_the_catalogue() -> None:
    m = esme(fw="1.3.0")
    assert m.profile.needs_firmware_upgrade_before_migration
    assert "6.4.1" not in m.profile.srvs and m.max_tou_rates == 4
    send_image(m, "1.4.2")
    m.verify_firmware()
    m.activate_firmware()
    assert not m.profile.needs_firmware_upgrade_before_migration
    assert "6.4.1" in m.profile.srvs and m.max_tou_rates == 8
    send_image(m, "1.4.3-buggy")
    m.verify_firmware()
    m.activate_firmware()
    assert "drops_supply_restored_alert" in m.defects


def test_per_device_defects_survive_a_firmware_change_and_unknown_versions_are_plain() -> None:
    m = esme(["clock_drifts"], fw="1.4.3-buggy")
    send_image(m, "7.7.7")  # not in the catalogue
    m.verify_firmware()
    m.activate_firmware()
    assert m.defects == {"clock_drifts"}


def test_ch_and_gsme_firmware() -> None:
    for dev in (ch(), gsme()):
        send_image(dev, "9.0.0")
        dev.verify_firmware()
        dev.activate_firmware()
        assert dev.firmware_version == "9.0.0"


def test_signatures_and_credential_rotation() -> None:
    m = esme()
    supplier = Authorisation("supplier", KeyRef("SUP-1"))
    m.check_authorisation(supplier)
    with pytest.raises(DeviceCommandError) as exc:
        m.check_authorisation(Authorisation("supplier", KeyRef("SUP-1"), signature_valid=False))
    assert exc.value.code is RejectCode.BAD_SIGNATURE
    with pytest.raises(DeviceCommandError) as exc:
        m.check_authorisation(Authorisation("supplier", KeyRef("SUP-9")))
    assert exc.value.code is RejectCode.UNKNOWN_CREDENTIAL
    assert m.read_credentials("supplier") == {KeyRef("SUP-1")}
    m.update_credentials("supplier", [KeyRef("DCC-SUP", 2)])
    assert m.read_credentials("supplier") == {KeyRef("DCC-SUP", 2)}
    with pytest.raises(DeviceCommandError, match="retired"):
        m.check_authorisation(supplier)
    m.check_authorisation(Authorisation("supplier", KeyRef("DCC-SUP", 2)))
    assert codes(m) == [
        A.TRUSTED_SOURCE_AUTH_FAILURE,
        A.TRUSTED_SOURCE_AUTH_FAILURE,
        A.CREDENTIALS_UPDATED,
        A.TRUSTED_SOURCE_AUTH_FAILURE,
    ]
    assert m.security_log()[-2].details["retired"] == "SUP-1"


def test_future_dated_credential_rotation() -> None:
    clock = HandClock()
    m = esme(clock=clock)
    m.update_credentials("smso", [], at=START + timedelta(minutes=10))
    m.check_authorisation(Authorisation("smso", KeyRef("SMSO-1")))
    clock.advance(minutes=10)
    with pytest.raises(DeviceCommandError):
        m.check_authorisation(Authorisation("smso", KeyRef("SMSO-1")))
    assert m.credentials.roles() == ["network_operator", "smso", "supplier"]
