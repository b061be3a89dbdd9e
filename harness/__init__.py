"""dmct harness: the library and pytest plugin.

Holds the data model and interchange formats, the lab inventory, the pytest plugin (marks, fixtures,
result capture, xdist aggregation), the store, the verdict rules and the CLI. It may import
:mod:`device_drivers` (to hand drivers to tests) but never :mod:`test_packs` or :mod:`labs.virtual`
except to launch the virtual lab as a separate process.
"""
