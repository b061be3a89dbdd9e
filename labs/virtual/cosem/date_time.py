"""The 12-octet COSEM date-time (IEC 62056-6-2), to and from :class:`datetime.datetime`.

Kept apart from the A-XDR codec because the clock object and the value types both need it, and the
deviation's sign convention (minutes from local time to UTC) deserves one place to be stated.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

DEVIATION_NOT_SPECIFIED = -0x8000


def datetime_to_cosem(dt: datetime, *, clock_status: int = 0) -> bytes:
    """12-octet COSEM date-time.

    The deviation follows the Blue Book (and dlms-cosem): minutes from *local time to UTC*, so UTC+1 is
    ``-60``.  A naive datetime gets deviation "not specified" (0x8000).
    """
    offset = dt.utcoffset()
    deviation = DEVIATION_NOT_SPECIFIED if offset is None else -int(offset.total_seconds() // 60)
    return (
        dt.year.to_bytes(2, "big")
        + bytes([dt.month, dt.day, dt.isoweekday(), dt.hour, dt.minute, dt.second, dt.microsecond // 10000])
        + deviation.to_bytes(2, "big", signed=True)
        + bytes([clock_status & 0xFF])
    )


def cosem_to_datetime(raw: bytes) -> datetime:
    """Inverse of :func:`datetime_to_cosem` for fully specified values (wildcards raise ValueError).

    Unspecified hundredths read as 0; an unspecified deviation gives a naive datetime.
    """
    if len(raw) != 12:
        raise ValueError(f"COSEM date-time is 12 octets, got {len(raw)}")
    year = int.from_bytes(raw[0:2], "big")
    month, day, _dow, hour, minute, second, hundredths = raw[2:9]
    if year == 0xFFFF or 0xFF in (month, day, hour, minute, second):
        raise ValueError("date-time has unspecified fields")
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    tz = None if deviation == DEVIATION_NOT_SPECIFIED else timezone(timedelta(minutes=-deviation))
    micro = 0 if hundredths == 0xFF else hundredths * 10000
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
