"""Sub-commands of ``dmct``; each module is discovered by :mod:`harness.cli` (see its docstring)."""
