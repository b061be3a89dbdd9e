"""The error taxonomy: infrastructure faults versus product failures.

A device or system that answers wrongly is a *product failure* and the test *fails*. A lab that cannot
reach the device (link down, no answer after retries, a garbled frame, a lost lease, an unhealthy rig)
is an *infrastructure fault*: the test is *blocked*, not executed, and never counted as a product
failure (SVTAD 9.4 (c) asks for blocked tests and their reasons). The pytest plugin maps any
:class:`InfrastructureFault` escaping a test to the *blocked* outcome.
"""

from __future__ import annotations


class InfrastructureFault(Exception):
    """The lab could not get an answer from the device: the test is blocked, not failed."""

    def __init__(self, device: str, message: str):
        self.device = device
        super().__init__(f"{device}: {message}")


class LinkDown(InfrastructureFault):
    """The link could not be opened or was lost."""


class LinkTimeout(InfrastructureFault):
    """No (complete) answer within the timeout, after any retries."""


class FrameError(InfrastructureFault):
    """A frame arrived damaged (bad checksum, truncated, unparseable) after any retries."""


class LeaseLost(InfrastructureFault):
    """The rig's exclusive lease was lost mid-test."""


class RigUnhealthy(InfrastructureFault):
    """The rig failed its health check and was taken out of the run."""


class DeviceError(Exception):
    """The device answered, and the answer is an error or contradicts the protocol: a product failure."""

    def __init__(self, device: str, message: str):
        self.device = device
        super().__init__(f"{device}: {message}")


class RouteCannotExpress(Exception):
    """The route's protocol has no way to say what a test asks: a role the route's User ID does not
    hold, an SRV or a parameter value with no form in it (DUIS: a supplier name over 15 characters, an
    alert code DUIS does not make configurable, the negative tests' malformed parameters). Nothing is
    sent; the harness plugin reports the test *not applicable on this route* (a skip whose reason
    starts ``not applicable:``), neither passed nor failed.

    Kept here, beside the other kinds of failure the plugin tells apart, so the plugin need not import
    the route (and cryptography under it) to recognise it; :mod:`device_drivers.route` re-exports it."""

    def __init__(self, message: str, *, route: str = "") -> None:
        super().__init__(message)
        self.route = route  # the route kind (``duis``), for the reason
