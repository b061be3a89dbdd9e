"""DUIS response codes the virtual DSP answers with, from the virtual S1SP's route codes.

The S1SP answers in the codes of ``docs/protocols/service-route.md`` (E1-E16). DUIS has its own list
(the XSD's ``ResponseCode`` enumeration: I0, I99, E1-E5, E11-E13, E17, E19-E21, E30, E31, E40-E71,
E100, E10xx and SRV-specific codes); the XSD gives the codes, not their meanings. Which DUIS code stands
for which condition is **this project's assumption** until checked against the DUIS table of response
codes — it is data here so a lab corrects it in one place, and docs/virtual-lab.md lists it.
"""

from __future__ import annotations

#: route code -> DUIS ResponseCode (every value is in the XSD's enumeration).
ROUTE_TO_DUIS: dict[str, str] = {
    "I0": "I0",
    "I99": "I99",
    "E1": "E1",  # malformed: not XML, a DTD, XSD-invalid, a body that does not match the SRV
    "E8": "E2",  # signature missing or does not verify
    "E9": "E3",  # unknown signer (no trusted certificate with that serial number)
    "E7": "E4",  # the User's role (or the device type) is not eligible for the SRV
    "E5": "E5",  # unknown device
    "E11": "E11",  # the device rejected the command
    "E12": "E12",  # device unreachable (HAN or WAN)
    "E13": "E13",  # not applicable to SMETS1 / not supported by the device's firmware
    "E15": "E17",  # timed out waiting for the device
    "E10": "E19",  # replay: the RequestID counter is not greater than the last one
    "E6": "E20",  # invalid parameters or execution date
    "E14": "E21",  # the device's inventory status does not allow the request
    "E4": "E30",  # unknown or unsupported SRV
    "E2": "E31",  # unsupported schema version / command variant
    "E3": "E31",  # message too large
    "E16": "E100",  # the DSP or S1SP failed internally; nothing was acted on
}


def duis_code(route_code: str) -> str:
    """The DUIS ResponseCode for a route code (an unknown one is an internal failure)."""
    return ROUTE_TO_DUIS.get(route_code, "E100")
