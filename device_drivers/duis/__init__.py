"""DUIS, the DCC User Interface Specification: the XML a DCC User exchanges with the DSP.

Pure codec modules (no I/O): :mod:`.ids` (RequestID, EUI-64 spelling), :mod:`.catalogue` (which body,
Command Variant and endpoint each SRV takes), :mod:`.requests` (build a Service Request), :mod:`.responses`
(read acknowledgements, responses, alerts, SMETS1 responses), :mod:`.xsd` (validate against the DUIS XSD
a lab has from the DCC), :mod:`.signing` (XML Signature as DCC Boxed makes it). The transport lives apart:
:mod:`.counters` (RequestID counters), :mod:`.receiver` (the User's receive endpoint), :mod:`.route`
(the ``duis`` service route). See docs/protocols/duis.md.
"""
