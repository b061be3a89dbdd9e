"""State machines of the COSEM interface classes whose behaviour is more than a stored value: disconnect
control (IC 70) and the clock (IC 8).

They hold the class's rules (which control modes reconnect directly, how a time SET keeps simulated
time running) so :class:`~.simple_model.SimpleCosemModel` only maps attributes and methods onto them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .results import TemporaryFailure


class ControlState(enum.IntEnum):
    """Disconnect control (class 70) control_state."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class DisconnectControl:
    """State machine of a disconnect control object (IC 70), remote transitions only.

    Modes 1, 3 and 5 send ``remote_reconnect`` to ready_for_reconnection (the consumer must then press
    the button: :meth:`manual_reconnect`); modes 2, 4 and 6 reconnect directly; mode 0 never
    disconnects.  ``on_change`` lets the device simulator switch its load/supply model.
    """

    def __init__(
        self,
        *,
        control_mode: int = 4,
        state: ControlState = ControlState.CONNECTED,
        on_change: Callable[[ControlState], None] | None = None,
    ) -> None:
        self.control_mode = control_mode
        self.state = state
        self.on_change = on_change

    @property
    def output_state(self) -> bool:
        return self.state is ControlState.CONNECTED

    def _move(self, new: ControlState) -> None:
        changed = new is not self.state
        self.state = new
        if changed and self.on_change is not None:
            self.on_change(new)

    def remote_disconnect(self) -> None:
        if self.control_mode == 0:
            raise TemporaryFailure("control_mode 0: disconnection not possible")
        self._move(ControlState.DISCONNECTED)

    def remote_reconnect(self) -> None:
        if self.control_mode == 0:
            raise TemporaryFailure("control_mode 0: disconnection not possible")
        if self.state is ControlState.DISCONNECTED:
            direct = self.control_mode in (2, 4, 6)
            self._move(ControlState.CONNECTED if direct else ControlState.READY_FOR_RECONNECTION)

    def manual_reconnect(self) -> None:
        """The consumer pressed the button on the meter."""
        if self.state is ControlState.READY_FOR_RECONNECTION:
            self._move(ControlState.CONNECTED)


class ClockObject:
    """Clock (IC 8) over a time source: SET of ``time`` stores an offset, so simulated time keeps running.

    ``now`` is the simulator's time source (default: the host clock in UTC).  A device model with its
    own simulated clock passes ``now`` and ``set_time`` and keeps the offset itself.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        set_time: Callable[[datetime], None] | None = None,
        time_zone: int = 0,
        status: int = 0,
    ) -> None:
        self._source = now or (lambda: datetime.now(UTC))
        self._set_time = set_time
        self.offset = timedelta(0)
        self.time_zone = time_zone
        self.status = status

    def now(self) -> datetime:
        return self._source() + self.offset

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if self._set_time is not None:
            self._set_time(when)
        else:
            self.offset = when - self._source()
