"""The virtual SMETS1 Service Provider (S1SP) route: SRVs, DCO gate, alerts, inventory, migration.

What lives here (one concern per module):

* ``wire`` — the route's codec of ``docs/protocols/service-route.md`` (frames, canonical JSON, codes).
* ``keys`` — test key material: lab CA, User certificates and keys, S1SP signing key, trust store.
* ``catalogue`` + ``srv_catalogue.yaml`` — every DUIS SRV with its SMETS1 applicability (data).
* ``executors`` — each SMETS1-applicable SRV as Instructions on the device models.
* ``inventory`` — the Smart Metering Inventory (device types, statuses, transitions).
* ``service`` — :class:`S1spService`: checks (DSP, DCO gate, roles), execution through the CH, GSME
  queueing, future dating, schedules, alerts; :class:`RouteInstallation`, :func:`build_service`.
* ``migration`` — dormant / active / mixed migration, retry strategy, exclusion categories, EPCL.
* ``server`` — :func:`serve_route`, the asyncio TCP server on 127.0.0.1.

Imports allowed here: ``labs.virtual.*``, the standard library, cryptography, pydantic and yaml —
never ``device_drivers`` (the harness client implements the protocol document independently, so a
shared bug cannot hide) and never ``harness.plugin``.
"""

from __future__ import annotations

from .catalogue import SrvCatalogue, SrvEntry, load_srv_catalogue
from .inventory import STATUSES, Inventory, InventoryEntry
from .keys import DEFAULT_USERS, KeyMaterial, UserSpec, load_or_create
from .migration import EpclDevice, EpclEntry, MigrationFault, epcl_from_installations
from .server import serve_route
from .service import RetryStrategy, RouteInstallation, S1spService, ServiceConfig, build_service

__all__ = [
    "DEFAULT_USERS",
    "STATUSES",
    "EpclDevice",
    "EpclEntry",
    "Inventory",
    "InventoryEntry",
    "KeyMaterial",
    "MigrationFault",
    "RetryStrategy",
    "RouteInstallation",
    "S1spService",
    "ServiceConfig",
    "SrvCatalogue",
    "SrvEntry",
    "UserSpec",
    "build_service",
    "epcl_from_installations",
    "load_or_create",
    "load_srv_catalogue",
    "serve_route",
]
