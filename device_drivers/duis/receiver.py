"""The User's receive endpoint: where the DSP posts asynchronous DUIS responses and alerts.

DCC Boxed posts each message to the URL the User configured and expects ``2xx`` for a valid message,
``4xx`` otherwise. This endpoint answers ``204`` only for a message that is XML, valid against the DUIS
XSD, signed by a trusted DSP certificate (and, for a SMETS1 response or S1SP alert, whose nested
S1SP signature verifies) and — for a response — answers a RequestID some route of this lab sent. Every
refusal is one log line (``dmct.duis.receiver``) and a ``4xx``; nothing a sender does crashes it:
oversize bodies are refused before reading (``413``), a sender slower than ``read_timeout_s`` gets
``408``. A retried post of a message already accepted is answered ``204`` and not delivered again.

Accepted messages go to a :class:`Spool`, one file each, which every route process of the lab reads:
xdist workers share one endpoint (the first to bind serves it; the others take over when it stops).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lxml import etree

from device_drivers.duis import responses, signing, xsd
from device_drivers.duis.responses import DuisMessage, NotDuis
from device_drivers.duis.signing import SignatureRefused, TrustStore

log = logging.getLogger("dmct.duis.receiver")
#: Content types a DSP posts DUIS with.
XML_TYPES = ("application/xml", "text/xml")


def safe_parser() -> etree.XMLParser:
    """No network, no entity expansion, no DTD: a posted message cannot make the parser fetch or blow up."""
    return etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False, remove_comments=False
    )


class Spool:
    """Accepted messages as files ``<ns-time>-<key>.xml``; request markers ``requests/<hash>``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        (self.directory / "requests").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _hash(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def register(self, request_id: str) -> None:
        (self.directory / "requests" / self._hash(request_id)).touch()

    def known(self, request_id: str) -> bool:
        return (self.directory / "requests" / self._hash(request_id)).exists()

    def put(self, key: tuple[str, ...], raw: bytes) -> bool:
        """Store ``raw`` unless a message with the same ``key`` is already there (then False)."""
        h = self._hash("\x1f".join(key))
        if any(self.directory.glob(f"*-{h}.xml")):
            return False
        name = f"{time.time_ns():020d}-{h}.xml"
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(raw)
        tmp.replace(self.directory / name)
        return True

    def since(self, t0_ns: int, seen: set[str]) -> list[tuple[str, bytes]]:
        """Messages stored at or after ``t0_ns`` not in ``seen`` (names), oldest first."""
        out = []
        for p in sorted(self.directory.glob("*.xml")):
            if p.name in seen or int(p.name.split("-", 1)[0]) < t0_ns:
                continue
            try:
                out.append((p.name, p.read_bytes()))
            except FileNotFoundError:
                continue
        return out

    def prune(self, older_than_s: float) -> int:
        limit = time.time() - older_than_s
        n = 0
        for p in [*self.directory.glob("*.xml"), *(self.directory / "requests").iterdir()]:
            try:
                if p.stat().st_mtime < limit:
                    p.unlink()
                    n += 1
            except FileNotFoundError:
                continue
        return n


@dataclass(frozen=True)
class Refusal(Exception):
    status: int
    reason: str


@dataclass
class Checker:
    """The checks of one posted message, without HTTP (so they are testable on their own)."""

    dsp: TrustStore
    s1sp: TrustStore | None
    schema_path: str | None
    known: Callable[[str], bool]

    def check(self, raw: bytes) -> DuisMessage:
        try:
            root = etree.fromstring(raw, safe_parser())
        except etree.XMLSyntaxError as exc:
            raise Refusal(400, f"not XML: {exc}") from None
        if self.schema_path:
            problems = xsd.errors(xsd.schema(self.schema_path), root)
            if problems:
                raise Refusal(400, f"not valid against the DUIS XSD: {problems[0]}")
        try:
            signing.verify(root, self.dsp)
        except SignatureRefused as exc:
            raise Refusal(400, f"DSP signature refused: {exc}") from None
        try:
            message = responses.parse(root)
        except NotDuis as exc:
            raise Refusal(400, str(exc)) from None
        if self.s1sp is not None:
            try:
                responses.verify_inner(message, self.s1sp)
            except SignatureRefused as exc:
                raise Refusal(400, f"S1SP signature refused: {exc}") from None
        correlated = message.kind in (responses.RESPONSE, responses.SMETS1_RESPONSE)
        if correlated and (not message.request_id or not self.known(message.request_id)):
            raise Refusal(400, f"unknown RequestID {message.request_id!r}")
        return message


class Receiver:
    """The HTTP endpoint (``http://host:port/path``) feeding a :class:`Spool`."""

    def __init__(
        self,
        checker: Checker,
        spool: Spool,
        *,
        host: str,
        port: int,
        path: str = "/",
        max_body: int = 1 << 20,
        read_timeout_s: float = 5.0,
        on_message: Callable[[DuisMessage], None] | None = None,
    ):
        self.checker, self.spool = checker, spool
        self.host, self.port, self.path = host, port, "/" + path.strip("/")
        self.max_body, self.read_timeout_s = max_body, read_timeout_s
        self.on_message = on_message
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.accepted = 0
        self.refused = 0

    @property
    def serving(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def try_bind(self) -> bool:
        """Serve if the port is free (True); another process serving it is not an error (False)."""
        if self._server is not None:
            return True
        handler = self._handler()
        try:
            server = ThreadingHTTPServer((self.host, self.port), handler)
        except OSError:
            return False
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="duis-receiver", daemon=True)
        self._thread.start()
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, raw: bytes, client: str) -> tuple[int, str]:
        """Check and store one message: (HTTP status, reason)."""
        try:
            message = self.checker.check(raw)
        except Refusal as r:
            self.refused += 1
            log.warning("refused %s from %s: %s", r.status, client, r.reason)
            return r.status, r.reason
        except Exception as exc:
            self.refused += 1
            log.warning("refused 400 from %s: unreadable message (%s: %s)", client, type(exc).__name__, exc)
            return 400, f"unreadable message: {exc}"
        if self.spool.put(message.dedup_key, raw):
            self.accepted += 1
            if self.on_message is not None:
                self.on_message(message)
        else:
            log.info("duplicate from %s: %s %s already delivered", client, message.kind, message.request_id)
        return 204, "accepted"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = receiver.read_timeout_s
            server_version = "dmct-duis-receiver"

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per refusal is logged by Receiver.handle, nothing else

            def log_error(self, format: str, *args: Any) -> None:
                """The stdlib reports here a sender stalling before its headers end (and malformed
                request lines, which it has answered already): the stall gets its 408 and one line."""
                if (format % args).startswith("Request timed out"):
                    self._refuse(
                        408, f"sender too slow (headers incomplete after {receiver.read_timeout_s} s)"
                    )

            def _answer(self, status: int, reason: str = "") -> None:
                body = reason.encode()[:500]
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if body and status != 204:
                        self.wfile.write(body)
                except OSError:
                    pass
                self.close_connection = True

            def _refuse(self, status: int, reason: str) -> None:
                receiver.refused += 1
                log.warning("refused %s from %s: %s", status, self.client_address[0], reason)
                self._answer(status, reason)

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0].rstrip("/") != receiver.path.rstrip("/"):
                    return self._refuse(404, f"no endpoint {self.path}")
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ctype not in XML_TYPES:
                    return self._refuse(415, f"Content-Type {ctype or 'missing'} (expected application/xml)")
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    return self._refuse(411, "Content-Length required")
                if int(length) > receiver.max_body:
                    return self._refuse(413, f"body of {length} bytes exceeds {receiver.max_body}")
                try:
                    raw = self.rfile.read(int(length))
                except TimeoutError:
                    return self._refuse(408, f"sender too slow (over {receiver.read_timeout_s} s)")
                except OSError as exc:
                    return self._refuse(400, f"connection failed while reading: {exc}")
                if len(raw) < int(length):
                    return self._refuse(400, f"body truncated ({len(raw)} of {length} bytes)")
                status, reason = receiver.handle(raw, self.client_address[0])
                self._answer(status, "" if status == 204 else reason)

            def do_GET(self) -> None:
                self._refuse(405, "only POST")

            do_PUT = do_DELETE = do_GET

        return Handler
