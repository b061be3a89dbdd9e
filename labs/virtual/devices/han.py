"""PPMID and IHD: HAN devices that join and unjoin through the CH and show what the meters send.

They exist so the join/unjoin SRVs (8.7.2, 8.8.2) and Display Message (3.1) have something real to act
on: a joined display receives the meters' balance updates, messages and GSME readings (forwarded by the
CH); an unjoined or unreachable one receives nothing. A PPMID also sends the customer's actions — a
UTRN typed on its keypad, emergency credit, the supply-enable button — through the CH to a meter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .base import COMMON_DEFECTS, Device
from .errors import DeviceCommandError, RejectCode

if TYPE_CHECKING:
    from .meter import HanUpdate

HAN_DISPLAY_DEFECTS = COMMON_DEFECTS | {"display_frozen"}


class Hub(Protocol):
    """What a HAN display needs from the CH it joined."""

    def han_command(self, source: str, target: str, command: str, fn: Callable[[Any], object]) -> object: ...

    def catch_up_han(self, until: datetime | None = None) -> None: ...


@dataclass(frozen=True)
class DisplayedMessage:
    source: str
    text: str
    at: datetime


class HanDisplay(Device):
    """Common PPMID/IHD behaviour: remember the latest balance and reading per meter, and messages."""

    KNOWN_DEFECTS: ClassVar[frozenset[str]] = HAN_DISPLAY_DEFECTS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.joined_to: str | None = None
        self.hub: Hub | None = None
        self.balances: dict[str, float] = {}
        self.readings: dict[str, dict[str, Any]] = {}
        self.messages: list[DisplayedMessage] = []
        self.updates = 0

    def advance(self, until: datetime | None = None) -> None:
        """Catch up with time; first the hub's sleeping meters, so what this display shows includes
        every GSME wake (its reading) up to now: the wakes are computed when someone looks, not as
        they happen (an idle lab then need not look at every wake)."""
        if self.hub is not None and self.joined_to is not None:
            self.hub.catch_up_han(until)
        super().advance(until)

    def receive(self, update: HanUpdate) -> None:
        """Called by the CH for every meter update while this display is joined."""
        if self.joined_to is None or not self.powered:
            return
        if self.has_defect("display_frozen") and self.updates > 0:
            return
        self.updates += 1
        if update.kind == "balance" and isinstance(update.payload.get("balance"), int | float):
            self.balances[update.source] = float(update.payload["balance"])  # type: ignore[arg-type]
        elif update.kind == "message":
            self.messages.append(
                DisplayedMessage(update.source, str(update.payload.get("text", "")), update.at)
            )
        elif update.kind == "reading":
            self.readings[update.source] = dict(update.payload)

    def shown_balance(self, meter_eui: str) -> float | None:
        return self.balances.get(meter_eui)

    def last_message(self) -> str | None:
        return self.messages[-1].text if self.messages else None


class Ihd(HanDisplay):
    role = "ihd"


class Ppmid(HanDisplay):
    """A prepayment interface: also the customer's keypad and buttons for a meter."""

    role = "ppmid"

    def _hub(self) -> Hub:
        self._begin()
        if self.hub is None or self.joined_to is None:
            raise DeviceCommandError(RejectCode.INVALID_STATE, "the PPMID is not joined to a CH")
        return self.hub

    def enter_utrn(self, meter_eui: str, utrn: str) -> object:
        """A UTRN typed on the keypad, sent to the meter as a local top-up."""
        return self._hub().han_command(
            self.device_id, meter_eui, "top_up", lambda m: m.top_up(utrn, local=True)
        )

    def activate_emergency_credit(self, meter_eui: str) -> object:
        return self._hub().han_command(
            self.device_id, meter_eui, "activate_emergency_credit", lambda m: m.activate_emergency_credit()
        )

    def press_enable(self, meter_eui: str) -> object:
        """The PPMID's supply-enable button (armed → enabled)."""
        return self._hub().han_command(self.device_id, meter_eui, "press_button", lambda m: m.press_button())
