"""Expected-value oracles: what a device must show after an SRV, computed from the SRV's inputs, the
lab's instruments and the device's own clock (issue 14).

Pure functions, no I/O and no import of the simulator: a pack test reads the inputs (what it sent,
what the instruments applied, device-time instants bracketing each read), asks an oracle what the
requirement says must follow, and compares with what the device shows, within a tolerance stated in
*device* time or in the quantity's own unit. Agreement between two ports of one device is never the
only check. One module per functional group:

* :mod:`.tariff` - TOU rate in force, energy per rate, cost and standing charge (SRV 1.1.1, 1.2.1);
* :mod:`.prepay` - balance, top-up credit and debt recovery, refusals, emergency credit (SRV 1.5-2.5);
* :mod:`.load_limit` - when limiting must happen (SRV 6.4.1);
* :mod:`.clock` - adjust or refuse a clock synchronisation (SRV 6.11);
* :mod:`.gas` - gas volume from flow and energy from volume (GSME conversion);
* :mod:`.supply` - alerts a supply interruption and restoration must raise;
* :mod:`.migration_state` - what a migrated installation must keep (registers, supply, one alert each).
"""
