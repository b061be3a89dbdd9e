"""Lab inventories (``labs/*.yaml``) and the virtual lab (:mod:`labs.virtual`).

Lab files are data read by :mod:`harness.lab.inventory`. The virtual lab is a set of simulated devices
served as
real network peers; it may import :mod:`harness` for the lab model, never :mod:`device_drivers` (a
simulator that shared the driver's code could not catch the driver's bugs) nor :mod:`test_packs`.
"""
