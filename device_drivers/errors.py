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
