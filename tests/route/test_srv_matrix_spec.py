"""The DUIS SRV matrix the packs read (``specifications/duis_srv_matrix.yaml``) and the virtual S1SP's
SRV catalogue agree: the packs' role sweep takes its expected refusals from the matrix, so a catalogue
that drifted from it would make the clean lab fail them (and a matrix edited to suit the lab would hide
a route defect)."""

from __future__ import annotations

import specifications
from device_drivers.duis.catalogue import SRVS as DUIS_SRVS
from labs.virtual.s1sp import load_srv_catalogue

MATRIX = specifications.load("duis_srv_matrix")


def test_every_srv_has_the_matrix_flag_and_roles() -> None:
    cat = load_srv_catalogue()
    assert set(MATRIX["srvs"]) == set(cat.srvs)
    for srv, row in MATRIX["srvs"].items():
        entry = cat.srvs[srv]
        assert row["critical"] == entry.critical, srv
        assert set(row["roles"]) == set(entry.roles), srv


def test_device_srvs_target_the_matrix_device_types() -> None:
    """SMETS1 has no GPF: the S1SP's targets are the matrix's without it (requests the DCC answers
    itself, non-device, are the route's concern and have few or none in the matrix)."""
    cat = load_srv_catalogue()
    for srv, row in MATRIX["srvs"].items():
        if not cat.srvs[srv].non_device and row["targets"] != ["GPF"]:
            assert set(row["targets"]) - {"GPF"} == set(cat.srvs[srv].targets), srv


def test_role_fuels_match_the_route() -> None:
    cat = load_srv_catalogue()
    shared = set(MATRIX["shared_device_types"])
    for role, types in cat.role_device_types.items():
        assert set(types) - shared == {MATRIX["role_fuel"][role]}, role


def test_duis_critical_srvs_are_critical_in_the_matrix() -> None:
    """The SRVT sweeps take the critical SRVs from the DUIS catalogue and their roles from the matrix."""
    for srv, entry in DUIS_SRVS.items():
        assert MATRIX["srvs"][srv]["critical"] == entry.critical, srv
