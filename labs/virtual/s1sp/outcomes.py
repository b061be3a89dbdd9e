"""How device answers become route answers: rejection codes, per-Instruction failures, the overall code.

Pure functions of the outcomes (docs/protocols/service-route.md, section 4), kept apart from the
service so the mapping can be read — and changed — in one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from labs.virtual.devices import DeviceCommandError, RejectCode

REJECT_TO_CODE: dict[RejectCode, str] = {
    RejectCode.UNREACHABLE: "E12",
    RejectCode.WAN_UNAVAILABLE: "E12",
    RejectCode.NOT_POWERED: "E12",
    RejectCode.NOT_SUPPORTED: "E13",
}


#: The DCO / DSP gate's refusals that are security events: logged in the route's security log and
#: alerted to the service users (docs/protocols/service-route.md, section 5).
DCO_REFUSALS = frozenset({"E7", "E8", "E9", "E10"})


def reject_code(code: RejectCode) -> str:
    """The route's answer for a device rejection: unreachable → E12, unsupported → E13, else E11."""
    return REJECT_TO_CODE.get(code, "E11")


def failure(exc: DeviceCommandError) -> dict[str, Any]:
    return {
        "outcome": "failed",
        "code": reject_code(exc.code),
        "reason": exc.code.value,
        "message": exc.message,
    }


def overall(outcomes: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """Request code from per-Instruction outcomes: all done → I0; none → the first failure's code;
    some → I0 with warning W1 (the per-Instruction outcomes say which)."""
    done = [o for o in outcomes if o["outcome"] in ("actioned", "scheduled")]
    if len(done) == len(outcomes):
        return "I0", []
    if not done:
        failed = next((o for o in outcomes if o["outcome"] == "failed"), None)
        return (failed["code"] if failed else "E11"), []
    bad = [str(o["number"]) for o in outcomes if o["outcome"] not in ("actioned", "scheduled")]
    return "I0", [{"code": "W1", "text": f"instructions not actioned: {', '.join(bad)}"}]


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "params"
    return f"{where}: {err['msg']}"
