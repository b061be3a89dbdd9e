"""Two harness processes signing as the same User race on the DCO's replay counter (E10).

With pytest-xdist every worker holds its own copy of a User's key and counter. A worker can sign a
request, be overtaken by another worker's later-signed request, and have its own refused as a replay
(E10: nothing executed). The route driver then signs anew and sends again (device_drivers/route.py,
``_send_signed``). Here the race is forced, not hoped for: driver A's first counter is taken before
driver B's request reaches the DCO.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from device_drivers.protocols.service_route import UserCredentials
from device_drivers.route import COUNTER_RACE_ATTEMPTS, VirtualServiceRoute

from .conftest import Rig, RouteLab
from .test_route_migration import FAST


def _lose_one_race(a: VirtualServiceRoute, b_sends: Callable[[], Any], user: str = "supplier") -> None:
    """A signs first (its counter is taken now) but B's later-signed request reaches the DCO first."""
    creds: UserCredentials = a.client.keys.user(user)
    stale = creds.next_counter()
    b_sends()
    fresh = creds.next_counter
    pending = [stale]
    creds.next_counter = lambda: pending.pop() if pending else fresh()  # type: ignore[method-assign]


def _e10_refusals(route: VirtualServiceRoute) -> list[str]:
    return [e.request_id or "" for e in route.security_log() if e.code == "E10"]


def test_a_submit_that_loses_the_counter_race_is_signed_anew(lab: RouteLab) -> None:
    a, b = lab.route(), lab.route()
    esme = lab.inst().esme.device_id
    _lose_one_race(a, lambda: b.submit("7.2", esme, user="supplier"))
    result = a.submit("7.1", esme, user="supplier")  # critical: the DCO checks the counter
    assert result.code == "I0", result
    refused = _e10_refusals(a)
    assert len(refused) == 1 and refused[0] != result.request_id, refused  # the lost try, logged


def test_a_migration_that_loses_the_counter_race_is_signed_anew(make_lab: Callable[..., RouteLab]) -> None:
    lab = make_lab(Rig(commissioned=False), Rig(rig_id="rig-2"), config=FAST)
    a, b = lab.route(timeout=20), lab.route()
    other = lab.inst("rig-2").esme.device_id
    _lose_one_race(a, lambda: b.submit("7.2", other, user="supplier"))
    result = a.migrate("rig-1", user="supplier")
    assert result.outcome == "migrated", result
    assert len(_e10_refusals(a)) == 1


def test_a_counter_far_behind_gives_up_with_e10(lab: RouteLab) -> None:
    """A driver whose counter stays behind (a clock far slow) is refused every time: after
    COUNTER_RACE_ATTEMPTS it reports the E10 rather than retrying for ever."""
    a, b = lab.route(), lab.route()
    esme = lab.inst().esme.device_id
    b.client.keys.user("supplier").last_counter = time.time_ns() // 1000 + 3_600 * 10**6  # an hour ahead
    b.submit("7.2", esme, user="supplier")
    result = a.submit("7.1", esme, user="supplier", check=False)
    assert result.code == "E10", result
    assert len(_e10_refusals(a)) == COUNTER_RACE_ATTEMPTS
