"""The HAN displays after migration: a SMETS1 migration moves the whole installation, PPMID and IHD
included (SMETS1 notes, "EPCL entry columns": optional PPMID/IHD; "Migration": the installation's
devices are commissioned with the S1SP). Commissioning and credentials are checked per role by
``test_commissioning``; here, that each display is still joined to the migrated CH and *shows* what the
meters send through it — read on the display's own screen, not only in the CH's device log.
"""

from __future__ import annotations

import uuid

import pytest

from device_drivers.roles import DisplayDriver
from device_drivers.route import ServiceRoute
from harness.lab.inventory import RigSpec
from test_packs.marks import by_role
from test_packs.migration import SUPPLIER, MigrationRecord, device_ids


@pytest.mark.dmct_srv("3.1")
@pytest.mark.dmct_group("Post-Migration")
@pytest.mark.dmct_requirement("MT-HAN-JOINED")
@pytest.mark.dmct_roles("ch", "esme")
@pytest.mark.parametrize("role", by_role("ppmid", "ihd"))
def test_display_joined_and_forwarded_after_migration(
    role: str, rig: RigSpec, route: ServiceRoute, migration: MigrationRecord, request: pytest.FixtureRequest
) -> None:
    """MT-HAN-JOINED: after migration the display is Commissioned, in the migrated CH's device log, joined
    and reachable, and receives what the CH forwards (SRV 3.1: the message goes to the meter and every
    joined display). Oracle: the inventory status the requirement names, and the text of an SRV 3.1 sent
    to the ESME after migration (new each run, so a display that kept an older message cannot pass),
    read on the display's own screen."""
    ids = device_ids(rig)
    eui, esme = ids.get(role), ids.get("esme")
    if eui is None or esme is None:
        pytest.skip(f"not applicable: rig {rig.id} names no Device ID (eui64) for its {role} or ESME")
    migration.require_migrated()
    assert migration.statuses.get(eui) == "Commissioned", (
        f"{role} {eui} ended the migration {migration.statuses.get(eui)!r}: {migration.describe()}"
    )
    log = route.submit("8.9", ids["ch"], {}, user=SUPPLIER)
    assert log.code == "I0", f"SRV 8.9: {log.code} {log.text}"
    entry = {str(d.get("eui", "")).upper(): d for d in (log.result or {}).get("devices", [])}.get(eui)
    assert entry is not None and entry.get("joined") and entry.get("reachable"), (
        f"{role} {eui} in the migrated CH's device log: {entry}"
    )
    display: DisplayDriver = request.getfixturevalue(role)
    for n in (1, 2):  # two messages: a display that kept its first update shows the first again
        text = f"MT {n} {uuid.uuid4().hex[:8]}"
        sent = route.submit("3.1", esme, {"text": text}, user=SUPPLIER)
        assert sent.code == "I0", f"SRV 3.1 on the ESME: {sent.code} {sent.text}"
        shown = display.displayed_message()
        assert shown == text, f"the {role} shows {shown!r} after SRV 3.1 sent {text!r} to the migrated ESME"
