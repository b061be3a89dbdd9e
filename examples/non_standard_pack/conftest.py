"""The standard SRVT pack's fixtures for this pack's tests.

A non-standard pack's tests change or add to the standard SRVT tests, so they reach the DMC the same
way: ``srvt`` (an :class:`~test_packs.service_reference_variant._srvt.SrvtRig` over the test's rig) on a
rig migrated once per session and shared with the standard packs (``_migrated``, ``shared_migrations``).
"""

from __future__ import annotations

from test_packs.conftest import shared_migrations
from test_packs.service_reference_variant.conftest import _migrated, srvt

__all__ = ["_migrated", "shared_migrations", "srvt"]
