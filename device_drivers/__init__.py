"""Drivers that reach SMETS1 devices and lab instruments, real or simulated, over real transports.

Layers, each only importing the ones below it: ``links`` (a byte stream from a pyserial URL, with a
transcript) → ``protocols`` (IEC 62056-21, DLMS/COSEM over HDLC, Modbus, the service route) → ``roles``
(ESME, GSME, CH drivers composed from protocols, what a test talks to). ``errors`` holds the taxonomy
that keeps infrastructure faults (test *blocked*) apart from product failures (test *failed*).
May import :mod:`harness.errors` only; never the plugin, the packs or the virtual lab.
"""
