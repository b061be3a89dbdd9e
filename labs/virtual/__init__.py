"""The virtual lab: simulated SMETS1 ESME, GSME and CH and lab instruments, served on loopback.

Devices are plain deterministic models with a simulated clock (``clock``, ``devices``); protocol servers
(``iec62056_21``, ``dlms_server`` with the object lists of ``meter_objects`` and ``display_objects``, the
``s1sp`` route) expose them over TCP exactly as a real optical port would be reached through a serial
server, so the harness uses the same driver code for hardware and simulators.
``process`` runs a whole lab in one asyncio process (``dmct lab up``).
"""
