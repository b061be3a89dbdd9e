"""Standard DMCT Service Reference Variant Test Pack (DMCT SRVT, clause 20.15 (b))."""
