"""``dmct evidence pack|verify``: signed evidence bundles of a run (see :mod:`harness.reports.evidence`).

``pack`` writes the archive atomically (tar.gz, or zip when ``-o`` ends in ``.zip``); ``verify`` exits 0
when every digest and the signature check out, 1 when anything was changed, added or removed (each named
on its own line), and 2 on bad input (an unreadable file, a bad key). Key material is never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import DmctInputError

ORDER = 55


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evidence",
        help="pack or verify a signed evidence bundle of a run",
        description="Signed evidence bundles (SHA-256 manifest, Ed25519 signature).",
    )
    sub = parser.add_subparsers(dest="evidence", metavar="ACTION", required=True)
    p = sub.add_parser("pack", help="bundle a run directory with its issues and reports, signed")
    p.add_argument("run", type=Path, metavar="RUN", help="the run directory (results/<run-id>)")
    p.add_argument(
        "--key", type=Path, metavar="FILE", help="Ed25519 private key (PEM); default $DMCT_EVIDENCE_KEY"
    )
    p.add_argument(
        "--new-key",
        type=Path,
        metavar="FILE",
        help="generate a new key into FILE (and FILE.pub) and sign with it",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="BUNDLE",
        help="archive to write (.tar.gz or .zip); default RUN.evidence.tar.gz",
    )
    p.add_argument(
        "--issues", type=Path, metavar="FILE", help="issues export (default: the run's, else the store)"
    )
    p.add_argument("--store", metavar="URL", help="Testing Issue log (SQLAlchemy URL)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="report date of the bundled reports (default: today)")
    p.set_defaults(func=run_pack)
    v = sub.add_parser("verify", help="check every digest and the signature; name what changed")
    v.add_argument("bundle", type=Path, metavar="BUNDLE")
    v.add_argument("--public-key", type=Path, metavar="FILE", help="the signer's published public key (PEM)")
    v.set_defaults(func=run_verify)


def run_pack(args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime

    from harness.outputs import atomic_write, check_output_file
    from harness.reports.evidence import generate_key, load_private_key, pack_run
    from harness.yamlio import checked_date

    run_dir: Path = args.run
    if not (run_dir / "plan.json").is_file():
        raise DmctInputError(str(run_dir), "not a run directory (no plan.json)", field="RUN")
    out: Path = args.output or run_dir.with_name(run_dir.name + ".evidence.tar.gz")
    fmt = "zip" if out.suffix.lower() == ".zip" else "tar.gz"
    if fmt == "tar.gz" and not out.name.endswith((".tar.gz", ".tgz")):
        raise DmctInputError(str(out), "bundle name must end in .tar.gz, .tgz or .zip", field="-o")
    check_output_file(out, "-o")
    report_date = checked_date(args.date, "--date") if args.date else date.today()
    if args.new_key is not None:
        if args.key is not None:
            raise DmctInputError("--new-key", "give either --key or --new-key, not both")
        pub = generate_key(args.new_key)
        print(f"dmct evidence: new signing key written to {args.new_key} (public key {pub})", file=sys.stderr)
        key = load_private_key(args.new_key)
    else:
        key = load_private_key(args.key)
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    bundle = pack_run(
        run_dir,
        key,
        created=created,
        issues_file=args.issues,
        store=args.store,
        report_date=report_date,
        fmt=fmt,
    )
    atomic_write(out, bundle)
    print(out)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from harness.reports.evidence import BundleCorrupt, load_public_key, verify_bundle

    path: Path = args.bundle
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DmctInputError(str(path), "no such bundle") from None
    except OSError as exc:
        raise DmctInputError(str(path), f"cannot read: {exc.strerror}") from None
    pinned = load_public_key(args.public_key) if args.public_key else None
    try:
        result = verify_bundle(data, str(path), pinned)
    except BundleCorrupt as exc:
        print(f"TAMPERED {exc}")
        return 1
    for problem in result.problems:
        print(problem)
    if result.ok:
        how = (
            "the pinned --public-key"
            if result.pinned
            else "the key in the bundle (integrity only: pass --public-key to check who signed)"
        )
        print(f"OK {path}: {result.files} files, signature by key {result.key_id} verified against {how}")
        return 0
    print(f"TAMPERED {path}: {len(result.problems)} problem(s)")
    return 1
