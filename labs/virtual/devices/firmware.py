"""Firmware image transfer, verification by hash, and activation, shared by every device model.

The transfer is block-wise (as SRV 11.1 delivers it through the CH), verification compares the SHA-256
of the assembled image with the hash the image announced and checks the image is for this model, and
activation switches the running version. The owner schedules future-dated activation and re-reads its
behaviour from the catalogue when the version changes (``on_change``).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from . import alerts as A
from .alerts import Alerter
from .errors import DeviceCommandError, RejectCode


@dataclass(frozen=True)
class FirmwareImage:
    """What the head-end announces before sending blocks."""

    version: str
    model: str
    size: int
    sha256: str
    block_size: int = 512

    @property
    def blocks(self) -> int:
        return -(-self.size // self.block_size)

    @classmethod
    def of(cls, version: str, model: str, payload: bytes, block_size: int = 512) -> FirmwareImage:
        """The announcement matching ``payload`` (what a well-behaved head-end sends)."""
        return cls(version, model, len(payload), hashlib.sha256(payload).hexdigest(), block_size)


class TransferState(enum.Enum):
    IDLE = "idle"
    TRANSFERRING = "transferring"
    VERIFIED = "verified"
    VERIFICATION_FAILED = "verification_failed"


class Firmware:
    """Running version plus at most one image in transfer."""

    def __init__(
        self,
        running: str,
        model: str,
        alerter: Alerter,
        has_defect: Callable[[str], bool],
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.running = running
        self.model = model
        self.image: FirmwareImage | None = None
        self.state = TransferState.IDLE
        self._blocks: dict[int, bytes] = {}
        self._alerter = alerter
        self._has_defect = has_defect
        self.on_change = on_change

    @property
    def reported(self) -> str:
        """The version the device reports (wrong with ``wrong_firmware_reported``)."""
        return self.running + "-rc" if self._has_defect("wrong_firmware_reported") else self.running

    def start_transfer(self, image: FirmwareImage) -> None:
        if image.size <= 0 or image.block_size <= 0:
            raise DeviceCommandError(RejectCode.INVALID_ARGUMENT, "image size and block size must be > 0")
        self.image, self.state, self._blocks = image, TransferState.TRANSFERRING, {}

    def write_block(self, index: int, data: bytes) -> None:
        image = self._require(TransferState.TRANSFERRING, TransferState.VERIFICATION_FAILED)
        if not 0 <= index < image.blocks:
            raise DeviceCommandError(
                RejectCode.INVALID_ARGUMENT, f"block {index} outside 0..{image.blocks - 1}"
            )
        expected = min(image.block_size, image.size - index * image.block_size)
        if len(data) != expected:
            raise DeviceCommandError(
                RejectCode.INVALID_ARGUMENT, f"block {index}: {len(data)} bytes, expected {expected}"
            )
        self._blocks[index] = data
        self.state = TransferState.TRANSFERRING

    def missing_blocks(self) -> list[int]:
        if self.image is None:
            return []
        return [i for i in range(self.image.blocks) if i not in self._blocks]

    def verify(self) -> None:
        """Check completeness, hash and model; 0x8F72 on success, 0x8F1C (and a rejection) otherwise."""
        image = self._require(TransferState.TRANSFERRING, TransferState.VERIFIED)
        missing = self.missing_blocks()
        payload = b"".join(self._blocks[i] for i in sorted(self._blocks))
        problem = None
        if missing:
            problem = f"{len(missing)} block(s) missing, first {missing[0]}"
        elif hashlib.sha256(payload).hexdigest() != image.sha256.lower():
            problem = "image hash does not match"
        elif image.model != self.model:
            problem = f"image is for model {image.model!r}, not {self.model!r}"
        if problem is not None and not (self._has_defect("accepts_corrupt_firmware_image") and not missing):
            self.state = TransferState.VERIFICATION_FAILED
            self._alerter.raise_alert(
                A.FIRMWARE_VERIFICATION_FAILED, {"version": image.version, "reason": problem}
            )
            raise DeviceCommandError(RejectCode.FIRMWARE_VERIFICATION_FAILED, problem)
        self.state = TransferState.VERIFIED
        self._alerter.raise_alert(A.FIRMWARE_VERIFICATION_SUCCEEDED, {"version": image.version})

    def check_activatable(self) -> FirmwareImage:
        return self._require(TransferState.VERIFIED)

    def activate(self) -> str:
        """Run the verified image; returns the version now running. 0x8F43 when it changed."""
        image = self.check_activatable()
        if self._has_defect("firmware_activation_ignored"):
            return self.running  # claims success, keeps running the old image
        old, self.running = self.running, image.version
        self.image, self.state, self._blocks = None, TransferState.IDLE, {}
        if old != self.running:
            if not self._has_defect("firmware_change_alert_missing"):
                self._alerter.raise_alert(A.FIRMWARE_CHANGED, {"from": old, "to": self.running})
            if self.on_change is not None:
                self.on_change(self.running)
        return self.running

    def _require(self, *states: TransferState) -> FirmwareImage:
        if self.image is None or self.state not in states:
            wanted = " or ".join(s.value for s in states)
            raise DeviceCommandError(
                RejectCode.INVALID_STATE, f"firmware transfer is {self.state.value}, needs {wanted}"
            )
        return self.image
