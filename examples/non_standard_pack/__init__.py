"""An example DMCT Non-Standard Test Pack (SVTAD 20.17) for the virtual lab's DMC VDMC1."""
