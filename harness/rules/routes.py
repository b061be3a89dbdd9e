"""The 20.20 routes of a DMCT Testing Issue as processes (20.20-20.27): which step may follow which, and
when the issue has been "through the processes outlined in Clauses 20.20 to 20.27" (20.32 (b)).

Pure functions from an :class:`~harness.model.interchange.Issue` to the changes of its ``route`` and
``route_process`` fields; a step the process does not allow is a one-line
:class:`~harness.errors.DmctInputError`. The steps:

=========  ===========================================================================================
step       meaning (clause)
=========  ===========================================================================================
a|b|c|d    the DCC recommends that route after discussing with affected stakeholders (20.20); (c) says
           whether a ``firmware`` upgrade, a ``configuration`` change or ``both`` is needed (20.25)
notify     stakeholders, the Panel, the Authority and the Secretary of State notified (20.20)
impact     route (a): ``none`` or ``material`` impact on timescales; the change is progressed, the pack
           re-run and the Schedule revised (20.22 (a), (b)) -- done
sos        (b): ``agrees`` the Code change ought to be consulted upon (20.23) -> the TAG's approach;
           ``disagrees`` -> reconsider. (c): ``agrees`` with the recommendation -> done, 20.25 (a)-(c);
           ``disagrees`` -> reconsider (20.26). (d): ``agrees`` the change is progressed -> done;
           ``disagrees`` -> reconsider (20.27). After a TAG disagreement on (b)'s approach:
           ``determined`` -> done (20.24)
tag        route (b): ``agreed`` approach for testing -> done (20.23); ``not-agreed`` -> referred to the
           Secretary of State (20.24)
reconsider back to choosing a route (20.23, 20.26, 20.27), any time before done
=========  ===========================================================================================
"""

from __future__ import annotations

from typing import Any

from harness.errors import DmctInputError
from harness.model.interchange import Issue, RouteProcess, RouteStep

ROUTES = ("a", "b", "c", "d")
CHANGES = ("firmware", "configuration", "both")
STEPS = (*ROUTES, "notify", "impact", "sos", "tag", "reconsider")

#: Route (c) agreed by the Secretary of State (20.25): what happens to the DMC, per change needed.
DEVICE_OUTCOMES = {
    "firmware": "20.25 (a): a firmware upgrade is required; the DMCT Process is no longer undertaken for "
    "the DMC",
    "configuration": "20.25 (b): a configuration change is required; the DMC is excluded from the DMCT "
    "Process until evidence that the change has been or will be applied before enrolment",
    "both": "20.25 (c): a firmware upgrade and a configuration change are required; the DMC with the new "
    "firmware is excluded until evidence that the configuration change has been or will be applied",
}


def through(issue: Issue) -> bool:
    """20.32 (b): the issue has been through 20.20-20.27. A route recorded without a process (files from
    before route processes) counts; a process counts only once done."""
    if issue.route is None:
        return False
    return issue.route_process is None or issue.route_process.state == "done"


def where(issue: Issue) -> str:
    """Where an issue not yet through the process stands, for the verdict's reason."""
    if issue.route is None:
        return "no route" + (" (reconsidering, 20.23, 20.26, 20.27)" if issue.route_process else "")
    if issue.route_process is None:
        return "no route"
    state = issue.route_process.state
    waiting = {
        "recommended": "the notification of stakeholders, the Panel, the Authority and the Secretary of "
        "State (20.20)",
        "notified": {
            "a": "the impact on timescales to be stated (20.22)",
            "b": "the Secretary of State's view on consulting on the Code change (20.23)",
            "c": "the Secretary of State's answer to the recommendation (20.25)",
            "d": "the Secretary of State's view on progressing the Code change (20.27)",
        }[issue.route],
        "approach_pending": "the TAG's agreement on the approach for testing (20.23)",
        "approach_referred": "the Secretary of State's determination of the approach for testing (20.24)",
    }[state]
    return f"route ({issue.route}): awaiting {waiting}"


def step(issue: Issue, name: str, value: str | None, *, on: str | None, note: str | None) -> dict[str, Any]:
    """The changes (``route``, ``route_process``) that step ``name`` makes to ``issue``."""
    proc = issue.route_process
    record = RouteStep.model_validate(
        {
            "route": name if name in ROUTES else issue.route or "a",
            "step": name,
            "value": value,
            "on": on,
            "note": note,
        }
    )
    steps = (*(proc.steps if proc else ()), record)

    def back() -> dict[str, Any]:
        return {"route": None, "route_process": RouteProcess(state="reconsidering", steps=steps)}

    def refuse(why: str) -> DmctInputError:
        now = (
            "no route"
            if issue.route is None
            else f"route ({issue.route}), " + (proc.state if proc else "recorded without a process")
        )
        return DmctInputError(
            issue.id, f"cannot {name}{' ' + value if value else ''}: {why} (now: {now})", field="route"
        )

    if name in ROUTES:
        if proc is not None and proc.state == "done":
            raise refuse("the route's process is done")
        if issue.route is not None:
            raise refuse("a route is recorded; reconsider it first (20.23, 20.26, 20.27)")
        if name == "c" and value not in CHANGES:
            raise refuse("route (c) needs --change firmware|configuration|both (20.25)")
        if name != "c" and value is not None:
            raise refuse("only route (c) takes a change")
        return {
            "route": name,
            "route_process": RouteProcess.model_validate(
                {"state": "recommended", "change": value, "steps": steps}
            ),
        }
    if issue.route is None or proc is None:
        if name == "reconsider" and issue.route is not None:
            return back()  # a route recorded without a process
        raise refuse("recommend a route first (a|b|c|d, 20.20)")
    if proc.state == "done":
        raise refuse("the route's process is done")
    route, state = issue.route, proc.state

    def to(new_state: str, outcome: str | None = None) -> dict[str, Any]:
        return {
            "route_process": proc.model_copy(update={"state": new_state, "outcome": outcome, "steps": steps})
        }

    if name == "reconsider":
        return back()
    if name == "notify" and state == "recommended" and value is None:
        return to("notified")
    if name == "impact" and route == "a" and state == "notified" and value in ("none", "material"):
        clause = "20.22 (a)" if value == "none" else "20.22 (b)"
        return to(
            "done",
            f"{clause}: change to the DCC Internal Systems progressed (H8.9-H8.12), the test pack "
            "re-run and the DMCT Schedule updated with the revised completion dates",
        )
    if name == "sos" and state == "notified" and value in ("agrees", "disagrees"):
        if value == "disagrees":
            return back()  # 20.23, 20.26, 20.27: reconsider and recommend an alternative option
        if route == "b":
            return to("approach_pending")
        if route == "c":
            return to("done", DEVICE_OUTCOMES[proc.change or "firmware"])
        if route == "d":
            return to("done", "20.27: the Secretary of State agreed the Code change is progressed")
    if name == "tag" and route == "b" and state == "approach_pending" and value in ("agreed", "not-agreed"):
        if value == "agreed":
            return to("done", "20.23: approach for testing agreed with the TAG; testing follows it (20.24)")
        return to("approach_referred")
    if name == "sos" and route == "b" and state == "approach_referred" and value == "determined":
        return to("done", "20.24: approach for testing determined by the Secretary of State")
    raise refuse("the process of 20.20-20.27 does not take this step here")
