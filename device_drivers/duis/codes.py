"""DUIS response codes and the service-route codes the packs check.

The packs name refusals by the route's codes (docs/protocols/service-route.md: E7 role, E14 inventory
status, ...). Over DUIS the DSP answers with DUIS codes (``sr:ResponseCode``: I0, I99, E1-E5, E11-E13,
E17, E19-E21, E30, E31, E40-E71, E100, E1000-...). The XSD lists the codes, not their meanings; this
table is the meaning assumed until checked against DUIS's own table of response codes — the same
reading the virtual DSP documents (docs/virtual-lab.md, section 6). It is data: correct it here.
A code not in the table is reported as it came.
"""

from __future__ import annotations

#: DUIS code -> the route's code (the DUIS code is kept beside it as ``duis_code``).
DUIS_TO_ROUTE: dict[str, str] = {
    "E1": "E1",  # malformed, not XSD-valid
    "E2": "E8",  # signature does not verify
    "E3": "E9",  # signer unknown / not the originator
    "E4": "E7",  # User Role not allowed / device type
    "E5": "E5",  # unknown device
    "E11": "E11",  # the device rejected the command
    "E12": "E12",  # device unreachable
    "E13": "E13",  # not for SMETS1 / firmware
    "E17": "E15",  # timed out
    "E19": "E10",  # RequestID counter not above the last (replay)
    "E20": "E6",  # parameters
    "E21": "E14",  # device's inventory status
    "E30": "E4",  # unknown Service Reference Variant
    "E31": "E2",  # Command Variant / service not available
    "E100": "E16",  # internal error
}


def route_code(duis_code: str) -> str:
    return DUIS_TO_ROUTE.get(duis_code, duis_code)


def refusal_of_given(duis_code: str, *, unknown_srv: bool) -> str:
    """The route's code for the DSP's answer to a request the route sent *as given* (a value the SRV
    does not allow, written as the packs gave it; :func:`device_drivers.duis.requests.build_as_given`).
    DUIS has no code of its own for an invalid parameter value: the DSP's schema validation refuses
    the request, E1. Here that E1 is the refusal of the value: the route's E6 (invalid parameters), or
    E4 (unknown SRV) when what DUIS does not define is the SRV itself. Any other answer reads as usual
    (a DSP that executed it answers I99/I0, and the packs see that)."""
    if duis_code == "E1":
        return "E4" if unknown_srv else "E6"
    return route_code(duis_code)
