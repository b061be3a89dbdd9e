"""Supply event oracle: the alerts mains power events must raise on an ESME, and what must persist.

Loss of mains power raises 0x8F57 Supply interrupted; its return 0x8F35 Supply Outage Restored, or
0x8F36 when the outage lasted 3 minutes or more (device time between the two). The supply state and the
payment mode are non-volatile: a meter comes back from an outage as it was.
"""

from __future__ import annotations

from datetime import timedelta

SUPPLY_INTERRUPTED = 0x8F57
SUPPLY_RESTORED = 0x8F35
SUPPLY_RESTORED_LONG = 0x8F36
LONG_OUTAGE = timedelta(minutes=3)
GSME_POWER_SUPPLY_LOSS = 0x8F1D


def restoration_alert(outage: timedelta) -> int:
    return SUPPLY_RESTORED_LONG if outage >= LONG_OUTAGE else SUPPLY_RESTORED
