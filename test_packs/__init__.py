"""The standard DMCT test packs (20.15) as pytest suites, each with a versioned ``pack.yaml``.

``service_reference_variant/`` is the Standard DMCT Service Reference Variant Test Pack (``srvt``),
``dormant_migration/`` the Standard Dormant DMCT Migration Test Pack (``dormant-mt``), ``ttm/`` the
Test Traceability Matrix. Pack tests reach devices only through the fixtures of :mod:`harness.plugin`
(drivers from :mod:`device_drivers`); they never import :mod:`labs.virtual`, so they run unchanged
against hardware.
"""
