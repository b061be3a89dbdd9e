"""Standard Dormant DMCT Migration Test Pack (DMCT MT, clause 20.15 (a))."""
