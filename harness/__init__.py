"""dmct harness: the library and pytest plugin.

Holds the data model and interchange formats, the lab inventory, the pytest plugin (marks, fixtures,
result capture, xdist aggregation), the store, the verdict rules and the CLI. It may import
:mod:`device_drivers` (to hand drivers to tests) but never :mod:`test_packs` or :mod:`labs.virtual`
except to launch the virtual lab as a separate process.
"""


def version() -> str:
    """dmct's installed version (``unknown`` when run from a tree that was never installed).

    Here rather than in the CLI because the plugin and the nightly pipeline record it too, and nothing
    below the CLI may import it.
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _dist_version

    try:
        return _dist_version("dmct")
    except PackageNotFoundError:
        return "unknown"
