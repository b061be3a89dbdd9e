"""Redaction for publication: stable keyed pseudonyms for names, serials, EUI-64s and MPxNs.

16.1 (weekly report) and 20.43 (DMCT EPCL Report) require the content to be "anonymised and redacted where
appropriate". A pseudonym is ``<KIND>-<10 letters>``, the letters drawn from HMAC-SHA256(key, kind ‖
normalised value) (``cryptography``'s HMAC): the same device gets the same pseudonym in every report made
with the same key — so readers can still follow it across weeks — but without the key the original cannot
be recovered or confirmed by guessing. Letters only, so a pseudonym can never itself look like a serial or
an MPxN and a second pass leaves it alone.

What is replaced:

* every value of a *sensitive field* anywhere in the run facts or the issue log (default
  :data:`SENSITIVE_FIELDS`: manufacturer and supplier names, serials, EUI-64s, MPxNs; a config adds more);
* every *term* listed in the config (e.g. supplier names that appear only in free text);
* by pattern, wherever they occur: EUI-64s (``00-1A-2B-FF-FE-00-00-01``, ``001A2BFFFE000001`` …), MPAN
  cores (13 digits whose check digit is right) and numbers labelled MPRN/MPAN/MPxN.

Known values are matched case-insensitively as whole words. The document is redacted before rendering
(so the heatmap is drawn from pseudonyms), and the rendered text is passed through again as a safety net.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

ENV_KEY = "DMCT_REDACT_KEY"
MIN_KEY_BYTES = 16
#: Field names whose values are sensitive wherever they appear (kind of pseudonym in brackets).
SENSITIVE_FIELDS: dict[str, str] = {
    "manufacturer": "MFR",
    "supplier": "SUPPLIER",
    "suppliers": "SUPPLIER",
    "supplier_name": "SUPPLIER",
    "serial": "SERIAL",
    "serial_number": "SERIAL",
    "serials": "SERIAL",
    "eui": "EUI",
    "eui64": "EUI",
    "device_id": "EUI",
    "mpan": "MPXN",
    "mprn": "MPXN",
    "mpxn": "MPXN",
    "mpxns": "MPXN",
}

_EUI64 = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}[-: ]){7}[0-9A-Fa-f]{2}(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])[0-9A-F]{16}(?![0-9A-Za-z])"
)
_THIRTEEN = re.compile(r"(?<![0-9A-Za-z.])\d{13}(?![0-9A-Za-z])")
_LABELLED = re.compile(
    r"\b(MPRN|MPAN|MPxN|MPXN)(\s*(?:no\.?|number|core)?\s*[:#=]?\s*)(\d[\d ]{4,20}\d)", re.IGNORECASE
)
_MPAN_PRIMES = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def mpan_core_valid(digits: str) -> bool:
    """The MPAN core check digit (the published weighted-primes algorithm)."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    total = sum(int(d) * p for d, p in zip(digits[:12], _MPAN_PRIMES, strict=True))
    return total % 11 % 10 == int(digits[12])


def load_key(path: Path | None) -> bytes:
    """The HMAC key: ``--redact-key FILE`` (its bytes, less a trailing newline), else ``$DMCT_REDACT_KEY``."""
    if path is not None:
        try:
            key = path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise DmctInputError(
                str(path), f"cannot read the redaction key: {exc.strerror}", field="--redact-key"
            ) from None
        source = str(path)
    else:
        key = os.environ.get(ENV_KEY, "").encode("utf-8")
        source = f"${ENV_KEY}"
        if not key:
            raise DmctInputError("--redact", f"needs a key: --redact-key FILE or ${ENV_KEY}")
    if len(key) < MIN_KEY_BYTES:
        raise DmctInputError(source, f"redaction key too short (at least {MIN_KEY_BYTES} bytes)")
    return key


@dataclass(slots=True)
class RedactConfig:
    """Extra sensitive field names (→ pseudonym kind) and literal terms (→ kind) from a YAML file."""

    fields: dict[str, str] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)


def load_config(path: Path | None) -> RedactConfig:
    """``fields: [name, …]`` or ``{name: KIND}``; ``terms: [text, …]`` or ``{text: KIND}``."""
    if path is None:
        return RedactConfig()
    from harness.yamlio import read_document

    data = read_document(path)
    if data is None:
        return RedactConfig()
    if not isinstance(data, dict) or set(data) - {"fields", "terms"}:
        raise DmctInputError(str(path), "must be a mapping with 'fields' and/or 'terms'")

    def as_map(name: str, default_kind: str) -> dict[str, str]:
        value = data.get(name) or {}
        if isinstance(value, list):
            value = {str(v): default_kind for v in value}
        if not isinstance(value, dict) or not all(isinstance(k, str) and k.strip() for k in value):
            raise DmctInputError(str(path), "must be a list of names or a mapping name -> KIND", field=name)
        return {str(k): str(v).upper() or default_kind for k, v in value.items()}

    return RedactConfig(
        fields={k.lower(): v for k, v in as_map("fields", "FIELD").items()}, terms=as_map("terms", "TERM")
    )


def _letters(digest: bytes, n: int = 10) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    value = int.from_bytes(digest, "big")
    out = []
    for _ in range(n):
        value, rem = divmod(value, 26)
        out.append(alphabet[rem])
    return "".join(out)


def _normalise(kind: str, value: str) -> str:
    if kind in ("EUI", "SERIAL", "MPXN"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return " ".join(value.split()).casefold()


class Redactor:
    """Replaces identifiers in text with keyed pseudonyms; :meth:`learn` collects the known values."""

    def __init__(self, key: bytes, config: RedactConfig | None = None) -> None:
        self._key = key
        self._config = config or RedactConfig()
        self._fields = {**SENSITIVE_FIELDS, **self._config.fields}
        self._known: dict[str, str] = {}  # original text -> kind
        for term, kind in self._config.terms.items():
            self._add(term, kind)
        self._pattern: re.Pattern[str] | None = None

    def pseudonym(self, kind: str, value: str) -> str:
        from cryptography.hazmat.primitives import hashes, hmac

        mac = hmac.HMAC(self._key, hashes.SHA256())
        mac.update(f"{kind}\x00{_normalise(kind, value)}".encode())
        return f"{kind}-{_letters(mac.finalize())}"

    def _add(self, value: str, kind: str) -> None:
        value = value.strip()
        if len(value) >= 3 and value not in self._known:
            self._known[value] = kind
            self._pattern = None

    @property
    def originals(self) -> list[str]:
        """Every known identifier (for tests that search outputs for survivors)."""
        return sorted(self._known)

    def learn(self, value: Any, kind: str | None = None) -> None:
        """Walk JSON-like data and remember every value held under a sensitive field name."""
        if isinstance(value, Mapping):
            for k, v in value.items():
                self.learn(v, self._fields.get(str(k).lower(), kind) if kind is None else kind)
        elif isinstance(value, list | tuple):
            for v in value:
                self.learn(v, kind)
        elif kind is not None and isinstance(value, str | int) and not isinstance(value, bool):
            self._add(str(value), kind)

    def _known_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._known:
            alts = "|".join(re.escape(v) for v in sorted(self._known, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![0-9A-Za-z])(?:{alts})(?![0-9A-Za-z])", re.IGNORECASE)
        return self._pattern

    def redact_text(self, text: str) -> str:
        if not text:
            return text
        pattern = self._known_pattern()
        if pattern is not None:
            lookup = {k.casefold(): v for k, v in self._known.items()}

            def known(m: re.Match[str]) -> str:
                kind = lookup.get(m.group(0).casefold(), "TERM")
                return self.pseudonym(kind, m.group(0))

            text = pattern.sub(known, text)
        text = _LABELLED.sub(lambda m: m.group(1) + m.group(2) + self.pseudonym("MPXN", m.group(3)), text)
        text = _EUI64.sub(lambda m: self.pseudonym("EUI", m.group(0)), text)
        return _THIRTEEN.sub(
            lambda m: self.pseudonym("MPXN", m.group(0)) if mpan_core_valid(m.group(0)) else m.group(0), text
        )


def redactor_for(key: bytes, config: RedactConfig, sources: Iterable[Any]) -> Redactor:
    """A redactor that knows every sensitive value in ``sources`` (run facts, issue dumps …)."""
    red = Redactor(key, config)
    for source in sources:
        red.learn(source)
    return red
