"""Lab inventories (``labs/*.yaml``) and the virtual lab (:mod:`labs.virtual`).

Lab files are data read by :mod:`harness.lab.inventory`. The virtual lab is a set of simulated devices
served as real network peers; it may import :mod:`harness` for the lab model, never the harness's device
drivers (a simulator that shared the driver's code could not catch the driver's bugs) nor
:mod:`test_packs`. What both sides must agree on — a register map, the UTRN scheme — is shared as data in
:mod:`specifications`.
"""
