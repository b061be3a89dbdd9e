"""Specifications shared as *data* by the code that drives devices and the code that simulates them.

Why a package of its own: ``device_drivers`` mints and talks, ``labs.virtual`` verifies and answers, and
neither may borrow the other's code — a simulator sharing the driver's code could not catch the
driver's bugs (docs/architecture.md). What both must agree on is a published specification: a register
map, a token format. Each specification lives here once, as a YAML file, and each side parses it with
its own code. This module only finds and reads the files; it has no behaviour of its own.
Where a specification is a lab-file schema all sides validate against, its pydantic model sits beside
the data (``instrument_map.py``): a schema, not behaviour.

* ``modbus_instruments.yaml`` — the default register map of a rig's instrument bank and the
  well-known point names the role-level calls use (``docs/instruments.md``).
* ``utrn_scheme.yaml`` — the project's UTRN format: field widths, hash inputs, check digit and the
  virtual lab's secret (``docs/virtual-devices.md``, "UTRN format").
* ``duis_srv_matrix.yaml`` — the DUIS SRV matrix: each SRV's critical flag, eligible User roles and
  target device types, and each role's fuel. The packs' role sweep expects refusals from it; the
  virtual S1SP's catalogue must agree with it (``tests/route/test_srv_matrix_spec.py``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

__all__ = ["load"]


def load(name: str) -> dict[str, Any]:
    """The specification ``name`` (``"utrn_scheme"``, ``"modbus_instruments"``) as plain data."""
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"specification {name}: expected a mapping at the top level")
    return data
