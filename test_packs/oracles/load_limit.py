"""Load limiting oracle (SRV 6.4.1 Update Device Configuration (Load Limiting General Settings)).

The ESME limits when active power import is *above* the threshold (W) for the whole load limit period
(seconds): 0x8F01, the load limit counter counts one, supply is disabled then armed (0x8F33); with a
restoration period it re-enables supply by itself that long after (0x8F34).
"""

from __future__ import annotations

from datetime import timedelta

from .window import Window


def limiting(power_w: float, threshold_w: float) -> bool:
    """Whether this power is over the limit (strictly above the threshold)."""
    return power_w > threshold_w


def trip_window(over_since: Window, period_s: float) -> Window:
    """When limiting must happen, given when power went (and stayed) above the threshold."""
    return over_since.shifted(timedelta(seconds=period_s))


def restoration_window(tripped: Window, restoration_s: float) -> Window:
    """When supply must come back by itself after limiting."""
    return tripped.shifted(timedelta(seconds=restoration_s))
