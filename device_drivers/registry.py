"""Device families plug in through the ``dmct.devices`` entry-point group.

A lab whose meter needs a different role driver (another protocol, a manufacturer's quirks) ships a
package registering ``<name> = my_package.drivers:MyEsmeDriver`` under ``dmct.devices`` and names it
in the lab file (``driver: <name>`` on the device); nothing in the harness is edited. The built-in
drivers are registered the same way (see ``pyproject.toml``) and are the fallback by role.
"""

from __future__ import annotations

import importlib.metadata

from device_drivers.roles import ChDriver, EsmeDriver, GsmeDriver, IhdDriver, PpmidDriver

DEVICE_ENTRY_POINT_GROUP = "dmct.devices"

BUILT_IN: dict[str, type] = {
    "esme": EsmeDriver,
    "gsme": GsmeDriver,
    "ch": ChDriver,
    "ppmid": PpmidDriver,
    "ihd": IhdDriver,
}


def driver_class(name: str) -> type:
    """The role-driver class registered as ``name`` (an entry point first, then the built-ins)."""
    for ep in importlib.metadata.entry_points(group=DEVICE_ENTRY_POINT_GROUP):
        if ep.name == name:
            loaded = ep.load()
            if not isinstance(loaded, type):
                raise TypeError(f"entry point {ep.value} is not a driver class")
            return loaded
    if name in BUILT_IN:
        return BUILT_IN[name]
    known = sorted(
        {*BUILT_IN, *(ep.name for ep in importlib.metadata.entry_points(group=DEVICE_ENTRY_POINT_GROUP))}
    )
    raise LookupError(f"no device driver {name!r} (known: {', '.join(known)})")
