"""The virtual DSP: a DUIS (DCC User Interface Specification) front end over HTTP to the virtual S1SP.

What lives here (one concern per module):

* ``xmlsig`` — DUIS XML: safe parsing, the DUIS XSD, XML Signature (signxml), the Users' trust store.
* ``translate`` — a DUIS Service Request as the S1SP's request (SRV, device, params, execution date).
* ``responses`` — the DUIS responses and alerts the DSP sends (acknowledgements, errors, SMETS1
  responses with the S1SP-signed inner response, Device Alerts, DCC Alerts).
* ``codes`` — which DUIS response code stands for which route code (data).
* ``service`` — :class:`VirtualDsp` (HTTP endpoints, checks through the S1SP, posting with retries)
  and :func:`serve_dsp`.
* ``setup`` — :func:`build_dsp`: key material, trust store and XSD from the lab file's settings.

Written independently of the harness's DUIS codec (``device_drivers``): the two sides share only the
DUIS XSD and third-party libraries, so a bug in one cannot hide in the other. Imports allowed here:
``labs.virtual.*``, the standard library, lxml, signxml, cryptography, aiohttp, tenacity.
"""

from __future__ import annotations

from .service import DspConfig, RetryPolicy, VirtualDsp, serve_dsp
from .setup import DspSettings, DspSetupError, build_dsp

__all__ = ["DspConfig", "DspSettings", "DspSetupError", "RetryPolicy", "VirtualDsp", "build_dsp", "serve_dsp"]
