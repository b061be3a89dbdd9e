"""Signed evidence bundles: everything behind a verdict, in one archive an auditor can check offline.

Table 13.1 #4 wants "results of testing documented and evidence stored"; 19.4 has the SIT Auditor confirm
that testing was "conducted in accordance with this SMETS1 SVTAD (including confirming its coverage and
completeness)". An auditor can only rely on evidence that provably was not changed after the run. So a
bundle holds the run directory (plan, results journal, transcripts, ``run.json`` with the environment,
lab and firmware versions, the run's verdict and summary), the Testing Issue log export, the reports
generated from them, and ``MANIFEST.json`` — the SHA-256 and size of every other file — signed with an
Ed25519 key (``MANIFEST.sig``), the public key beside it (``public_key.pem``).

:func:`verify_bundle` recomputes every digest and checks the signature, naming each file that was
changed, added or removed. A signature checked against the key *inside* the bundle proves integrity, not
authorship (anyone can re-sign with their own key); ``--public-key`` pins the key the lab published, and
the result says which of the two was done.

The private key is read from ``--key FILE`` or ``$DMCT_EVIDENCE_KEY`` (a path, or the PEM itself) and is
never written anywhere but the file ``--new-key`` creates (mode 0600, never overwritten), nor printed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import DmctInputError

ENV_KEY = "DMCT_EVIDENCE_KEY"
FORMAT = "dmct-evidence/1"
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
PUBLIC_KEY = "public_key.pem"
CONTROL = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
#: Fixed member time: the same files give the same archive bytes (the manifest carries the real date).
_MTIME = 946684800


# --------------------------------------------------------------------------------------------- keys


def generate_key(path: Path) -> Path:
    """Create a new Ed25519 private key at ``path`` (0600, refusing to overwrite) and ``path.pub``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DmctInputError(str(path), "already exists; not overwriting a key", field="--new-key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    pub = path.with_name(path.name + ".pub")
    pub.write_bytes(public_pem(key.public_key()))
    return pub


def public_pem(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def load_private_key(path: Path | None) -> Any:
    """The Ed25519 signing key from ``path``, else ``$DMCT_EVIDENCE_KEY`` (a path or the PEM text)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if path is not None:
        source = str(path)
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise DmctInputError(source, f"cannot read the key: {exc.strerror}", field="--key") from None
    else:
        env = os.environ.get(ENV_KEY, "").strip()
        if not env:
            raise DmctInputError("--key", f"no signing key: give --key FILE, ${ENV_KEY}, or --new-key FILE")
        source = f"${ENV_KEY}"
        if env.startswith("-----BEGIN"):
            pem = env.encode()
        else:
            try:
                pem = Path(env).read_bytes()
            except OSError as exc:
                raise DmctInputError(source, f"cannot read the key file it names: {exc.strerror}") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # Never echo the key material: only say what is wrong.
        raise DmctInputError(source, "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DmctInputError(source, "not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise DmctInputError(str(path), f"cannot read: {exc.strerror}", field="--public-key") from None
    except ValueError:
        raise DmctInputError(str(path), "not a PEM public key", field="--public-key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DmctInputError(str(path), "not an Ed25519 public key", field="--public-key")
    return key


def key_id(public: Any) -> str:
    return hashlib.sha256(public_pem(public)).hexdigest()[:16]


# ------------------------------------------------------------------------------------------ packing


def manifest_bytes(files: dict[str, bytes], meta: dict[str, Any]) -> bytes:
    body = {
        "format": FORMAT,
        **meta,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        },
    }
    return (json.dumps(body, indent=1, sort_keys=False) + "\n").encode()


def build_bundle(
    files: dict[str, bytes], private_key: Any, meta: dict[str, Any], fmt: str = "tar.gz"
) -> bytes:
    """The archive bytes: ``files`` + signed manifest + public key. Pure: no clock, no file system."""
    for name in files:
        _check_name(name)
        if name in CONTROL:
            raise ValueError(f"{name} is reserved for the bundle's own files")
    public = private_key.public_key()
    meta = {**meta, "public_key": base64.b64encode(public_pem(public)).decode(), "key_id": key_id(public)}
    manifest = manifest_bytes(files, meta)
    signature = base64.b64encode(private_key.sign(manifest)) + b"\n"
    members = {**files, MANIFEST: manifest, SIGNATURE: signature, PUBLIC_KEY: public_pem(public)}
    return _archive(members, fmt)


def _archive(members: dict[str, bytes], fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(members):
                info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, members[name])
        return buf.getvalue()
    import gzip

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(members):
            tinfo = tarfile.TarInfo(name)
            tinfo.size, tinfo.mtime, tinfo.mode = len(members[name]), _MTIME, 0o644
            tf.addfile(tinfo, io.BytesIO(members[name]))
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return buf.getvalue()


def _check_name(name: str) -> None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not name or name.endswith("/"):
        raise ValueError(f"unsafe member name {name!r}")


def collect_run(run_dir: Path) -> dict[str, bytes]:
    """Every regular file of a run directory under ``run/`` (temporary ``*.tmp`` files excluded)."""
    files: dict[str, bytes] = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(".tmp"):
            files[f"run/{path.relative_to(run_dir).as_posix()}"] = path.read_bytes()
    return files


# ---------------------------------------------------------------------------------------- verifying


@dataclass(slots=True)
class Verification:
    """What :func:`verify_bundle` found. ``problems`` name the files; empty means the bundle is intact."""

    files: int = 0
    key_id: str = ""
    pinned: bool = False
    signature_ok: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and not self.problems


def read_members(data: bytes, source: str) -> dict[str, bytes]:
    """Members of a tar.gz or zip bundle; a corrupt or unsafe archive is reported, not trusted."""
    members: dict[str, bytes] = {}
    try:
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        _check_name(info.filename)
                        members[info.filename] = zf.read(info)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                for member in tf.getmembers():
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise ValueError(f"non-file member {member.name!r}")
                    _check_name(member.name)
                    handle = tf.extractfile(member)
                    if member.name in members:
                        raise ValueError(f"duplicate member {member.name!r}")
                    members[member.name] = handle.read() if handle else b""
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise BundleCorrupt(f"{source}: corrupt or unsafe archive: {exc}") from None
    return members


class BundleCorrupt(Exception):
    """The archive itself cannot be read (a changed byte in compressed data usually ends here)."""


def verify_bundle(data: bytes, source: str, public_key: Any | None = None) -> Verification:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    result = Verification(pinned=public_key is not None)
    members = read_members(data, source)
    manifest_raw = members.get(MANIFEST)
    sig_raw = members.get(SIGNATURE)
    pem = members.get(PUBLIC_KEY)
    for name, raw in ((MANIFEST, manifest_raw), (SIGNATURE, sig_raw), (PUBLIC_KEY, pem)):
        if raw is None:
            result.problems.append(f"removed: {name}")
    manifest: dict[str, Any] = {}
    if manifest_raw is not None:
        try:
            manifest = json.loads(manifest_raw)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError("not a dmct evidence manifest")
        except (ValueError, UnicodeDecodeError):
            result.problems.append(f"changed: {MANIFEST} (unreadable)")
            manifest = {}
    bundled: Any = None
    if pem is not None:
        try:
            bundled = load_pem_public_key(pem)
        except ValueError:
            result.problems.append(f"changed: {PUBLIC_KEY} (not a public key)")
    if (
        pem is not None
        and manifest.get("public_key")
        and base64.b64encode(pem).decode() != manifest["public_key"]
    ):
        result.problems.append(f"changed: {PUBLIC_KEY} (differs from the key in the manifest)")
    if public_key is not None and bundled is not None and public_pem(bundled) != public_pem(public_key):
        result.problems.append(f"changed: {PUBLIC_KEY} (not the key given with --public-key)")
    key = public_key if public_key is not None else bundled
    if key is not None:
        result.key_id = key_id(key)
    if key is not None and manifest_raw is not None and sig_raw is not None:
        try:
            key.verify(base64.b64decode(sig_raw, validate=False), manifest_raw)
            result.signature_ok = True
        except (InvalidSignature, ValueError, TypeError):
            result.problems.append(f"changed: {MANIFEST} or {SIGNATURE} (the signature does not verify)")
    files_field = manifest.get("files")
    listed: dict[str, Any] = files_field if isinstance(files_field, dict) else {}
    for name, entry in sorted(listed.items()):
        raw = members.get(name)
        if raw is None:
            result.problems.append(f"removed: {name}")
        elif not isinstance(entry, dict) or hashlib.sha256(raw).hexdigest() != entry.get("sha256"):
            result.problems.append(f"changed: {name}")
    for name in sorted(set(members) - set(listed) - CONTROL):
        result.problems.append(f"added: {name}")
    result.files = len(listed)
    return result


# ------------------------------------------------------------------------------------ the run's data


def pack_run(
    run_dir: Path,
    private_key: Any,
    *,
    created: str,
    issues_file: Path | None = None,
    store: str | None = None,
    report_date: Any = None,
    fmt: str = "tar.gz",
    progress: Callable[[str], None] | None = None,
) -> bytes:
    """Collect the run, its issue export and its reports, and build the signed bundle."""
    from harness.reports.data import gather
    from harness.reports.render import render_html, render_markdown
    from harness.reports.testing import build_testing_report
    from harness.store.issue_log import dump_issues

    files = collect_run(run_dir)
    data = gather([run_dir], issues_file=issues_file, store=store)
    if data.issues_source is not None:
        files["issues.json"] = dump_issues(data.issues, "json").encode()
    for entry_id in data.verdict.entries:
        doc = build_testing_report(data, entry_id, report_date)
        files[f"reports/dmct-testing-report-{entry_id}.md"] = render_markdown(doc).encode()
        files[f"reports/dmct-testing-report-{entry_id}.html"] = render_html(doc).encode()
        if progress:
            progress(f"report {entry_id}")
    meta = {"run_id": run_dir.name, "created": created, "issues_source": data.issues_source or "none found"}
    return build_bundle(files, private_key, meta, fmt)
