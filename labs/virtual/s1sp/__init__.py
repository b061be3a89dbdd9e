"""The virtual SMETS1 Service Provider (S1SP) route: SRVs, DCO gate, alerts, inventory, migration.

What lives here (one concern per module):

* ``wire`` — the route's codec of ``docs/protocols/service-route.md`` (frames, canonical JSON, codes).
* ``keys`` — test key material: lab CA, User certificates and keys, S1SP signing key, trust store.
* ``catalogue`` + ``srv_catalogue.yaml`` — every DUIS SRV with its SMETS1 applicability (data).
* ``executors`` — each SMETS1-applicable SRV as Instructions on the device models.
* ``inventory`` — the Smart Metering Inventory (device types, statuses, transitions).
* ``installation`` — the installations the route serves (:class:`RouteInstallation`) and its
  configuration (:class:`ServiceConfig`, :class:`RetryStrategy`, the S1SP's keys): shared types.
* ``service`` — :class:`S1spService`: request handling, execution through the CH, GSME queueing,
  future dating, alerts, housekeeping; :func:`build_service`.
* ``dco_gate`` — the DSP checks and the DCO gate (signer, signature, counter, role, future date).
* ``security_log`` — gate refusals logged and alerted; ``tampering`` — the ``tamper`` route fault.
* ``outcomes`` — device answers to route codes; ``route_defects`` — the route's seeded defects.
* ``schedules`` — DCC-held schedules; ``held_requests`` — GSME-queued and DSP-held requests.
* ``migration`` — dormant / active / mixed migration, retry strategy, exclusion categories, EPCL.

The executors and the migration declare what they need of the service as a Protocol
(:class:`~.executors.ExecutorRoute`, :class:`~.migration.MigrationRoute`) rather than import it, so
imports run one way: service → migration → executors → installation.
* ``server`` — :func:`serve_route`, the asyncio TCP server on 127.0.0.1.

Imports allowed here: ``labs.virtual.*``, the standard library, cryptography, pydantic and yaml —
never the harness's device drivers (the harness client implements the protocol document independently, so a
shared bug cannot hide) and never ``harness.plugin``.
"""

from __future__ import annotations

from .catalogue import SrvCatalogue, SrvEntry, load_srv_catalogue
from .installation import RetryStrategy, RouteInstallation, ServiceConfig
from .inventory import STATUSES, Inventory, InventoryEntry
from .keys import DEFAULT_USERS, KeyMaterial, UserSpec, load_or_create
from .migration import EpclDevice, EpclEntry, MigrationFault, epcl_from_installations
from .server import serve_route
from .service import S1spService, build_service

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
