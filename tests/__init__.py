"""The project's own tests (unit, integration against the virtual lab, plugin tests) — not the packs."""
