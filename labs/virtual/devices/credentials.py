"""Security credentials a device trusts, per role, and the authorisation check on incoming commands.

SMETS1 devices hold no SMKI certificates; what migration rotates is the set of keys each remote party
(supplier, network operator, the old SMSO, then the S1SP) signs with. The model keeps key ids/versions
per role and, once a role's keys are replaced, rejects the retired ones — which is what a migration
pack checks to prove the old SMSO lost access.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class KeyRef:
    """A credential the device trusts: key id and version."""

    key_id: str
    version: int = 1


@dataclass(frozen=True)
class Authorisation:
    """What the protocol layer learned about a command's signer: role, key, and whether it verified."""

    role: str
    key: KeyRef
    signature_valid: bool = True
    #: The device command the signed Instruction carries (``None``: a check outside any command).
    command: str | None = None


DEFAULT_CREDENTIALS: Mapping[str, tuple[KeyRef, ...]] = {
    "supplier": (KeyRef("SUP-1"),),
    "network_operator": (KeyRef("NOP-1"),),
    "smso": (KeyRef("SMSO-1"),),
}


class CredentialStore:
    """Active keys per role, plus every key ever retired (for the rejection reason)."""

    def __init__(self, initial: Mapping[str, Iterable[KeyRef]] | None = None) -> None:
        source = DEFAULT_CREDENTIALS if initial is None else initial
        self._active: dict[str, frozenset[KeyRef]] = {r: frozenset(k) for r, k in source.items()}
        self._retired: dict[str, set[KeyRef]] = {}

    def active(self, role: str) -> frozenset[KeyRef]:
        return self._active.get(role, frozenset())

    def roles(self) -> list[str]:
        return sorted(self._active)

    def is_retired(self, role: str, key: KeyRef) -> bool:
        return key in self._retired.get(role, set())

    def replace(self, role: str, keys: Iterable[KeyRef]) -> frozenset[KeyRef]:
        """Install ``keys`` for ``role``; the previous ones are retired. Returns the retired keys."""
        new = frozenset(keys)
        old = self._active.get(role, frozenset()) - new
        self._retired.setdefault(role, set()).update(old)
        self._active[role] = new
        return old

    def trusts(self, role: str, key: KeyRef, *, accept_retired: bool = False) -> bool:
        return key in self.active(role) or (accept_retired and self.is_retired(role, key))
