"""The lab: its inventory file (DMCs, entries, rigs, devices, instruments, route), rig leases, ser2net export.

The lab file is validated here into plain models that the plugin, the CLI and the virtual lab read.
"""
