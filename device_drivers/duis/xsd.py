"""Validate DUIS messages against the DUIS XSD the caller names (a lab has it from the DCC).

The schema is not shipped (the DCC publishes it; the tests take it from the DCC Boxed tooling): the
lab file names its path. Compiled schemas are cached per path; lxml never fetches anything from the
network while reading one (its imports — XML Signature, the MMC schema — sit beside it).
"""

from __future__ import annotations

import threading
import urllib.parse
from functools import lru_cache
from pathlib import Path

from lxml import etree

_lock = threading.Lock()
XS_NS = "http://www.w3.org/2001/XMLSchema"


class SchemaUnavailable(OSError):
    """The XSD path is missing or does not compile (names the path)."""


def _absolute_imports(doc: etree._ElementTree, directory: Path) -> None:
    """Point the XSD's imports at file URIs beside it. The DCC's file names hold spaces
    (``MMC Schema V5.1.xsd``), which libxml2 cannot resolve as a relative schemaLocation."""
    for imp in doc.getroot().iter(f"{{{XS_NS}}}import", f"{{{XS_NS}}}include"):
        location = imp.get("schemaLocation")
        if location and "://" not in location:
            imp.set("schemaLocation", (directory / urllib.parse.unquote(location)).resolve().as_uri())


@lru_cache(maxsize=4)
def _compiled(path: str) -> etree.XMLSchema:
    try:
        doc = etree.parse(path, etree.XMLParser(no_network=True, resolve_entities=False))
        _absolute_imports(doc, Path(path).parent)
        return etree.XMLSchema(doc)
    except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise SchemaUnavailable(f"{path}: cannot load the DUIS XSD: {exc}") from None


def schema(path: str | Path) -> etree.XMLSchema:
    with _lock:
        return _compiled(str(Path(path).resolve()))


def errors(xsd: etree.XMLSchema, root: etree._Element) -> list[str]:
    """The schema violations of ``root`` (empty when valid), each ``line N: message``.

    lxml's XMLSchema objects are not safe to share across threads while validating: one lock."""
    with _lock:
        ok = xsd.validate(root)
        log = [] if ok else [f"line {e.line}: {e.message}" for e in list(xsd.error_log)]  # type: ignore[call-overload]
    return log
