"""The wallet's trust anchors, per role (pid-provider, iaca, attestation-provider, rp-access, registrar,
wallet-provider), kept encrypted in the wallet store.

Two sources, stored apart so that one never overwrites the other:

* ``trusted-lists``: the anchors taken from the trust registry's signed ETSI TS 119 612 lists, together with the
  pinned scheme-operator certificate(s), how they were pinned (a file given by the user, or trust on first use),
  and per list URL the highest sequence number and NextUpdate seen (rollback refusal, freshness). Replaced as ONE
  encrypted file (atomic write) only after every list verified; see :meth:`TrustAnchors.apply_lists`.
* ``anchors-manual``: CA certificates added by hand (``portfeil wallet trust add``); a refresh keeps them.

The list checks themselves (XAdES signature against the pin, whole-list coverage, list type, sequence number not
below the stored one, NextUpdate after now, entity-free XML, size) are
:func:`portfeil.formats.trusted_list.verify_trusted_list`, the same code the trust registry's ``ListConsumer``
runs for the real TSL_BG and the EU LOTL; here only the memory of what was seen lives in the wallet store instead
of a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from portfeil.formats import trusted_list as tl
from portfeil.pki.certs import cert_sha256_b64url, cert_to_pem, certs_from_pem
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.roles import Role
from portfeil.wallet.errors import WalletError
from portfeil.wallet.store import WalletStore

__all__ = [
    "LIST_SOURCES",
    "MAX_LIST_BYTES",
    "PINNED_BY_FILE",
    "PINNED_BY_TOFU",
    "ListSource",
    "TrustAnchors",
    "parse_pin",
]

_LISTS = "trusted-lists"
_MANUAL = "anchors-manual"
_LEGACY = "anchors"  # before issue #7: the registry's unsigned JSON export; never read, removed on refresh
MAX_LIST_BYTES = 2 * 1024 * 1024
"""Largest trusted list the wallet downloads (the registry's lists are a few kB; the national TSL_BG is 0.6 MB)."""
PINNED_BY_FILE = "file"
PINNED_BY_TOFU = "trust_on_first_use"


@dataclass(frozen=True)
class ListSource:
    """One list of the trust registry (``{registry}/lists/{name}.xml``): its TS 119 602 list type, the service
    type whose granted services are taken, and the wallet roles those certificates anchor.

    The HTTP contract of :data:`portfeil.trust.lists.LIST_SPECS` (tests/wallet check they agree); the wallet does
    not import the registry's code because it only talks to it over HTTP."""

    name: str
    list_type: str
    service_type: str
    roles: tuple[Role, ...]


LIST_SOURCES: tuple[ListSource, ...] = (
    # TS 119 602 PID/Issuance covers both the SD-JWT VC signing CA and the mdoc IACA; the two roles stay apart
    # at the leaf (disjoint EKUs, portfeil.pki.roles).
    ListSource("pid-providers", tl.LOTE_TYPE_PID_PROVIDERS, tl.SVC_TYPE_PID_ISSUANCE, (Role.PID_PROVIDER, Role.IACA)),
    ListSource("attestation-providers", "http://uri.etsi.org/19602/LoTEType/EUPubEAAProvidersList",
               tl.SVC_TYPE_PUB_EAA_ISSUANCE, (Role.ATTESTATION_PROVIDER,)),
    ListSource("wallet-providers", tl.LOTE_TYPE_WALLET_PROVIDERS, tl.SVC_TYPE_WALLET_ISSUANCE, (Role.WALLET_PROVIDER,)),
    ListSource("access-cas", tl.LOTE_TYPE_WRPAC_PROVIDERS, tl.SVC_TYPE_WRPAC_ISSUANCE, (Role.RP_ACCESS,)),
    ListSource("registration-cas", tl.LOTE_TYPE_WRPRC_PROVIDERS, tl.SVC_TYPE_WRPRC_ISSUANCE, (Role.REGISTRAR,)),
)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise WalletError("unknown_role", "unknown trust role") from None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _pem_certificates(pem: bytes | str, what: str) -> list[x509.Certificate]:
    """At least one certificate from PEM text, else ``invalid_certificate``."""
    try:
        certs = certs_from_pem(pem.encode() if isinstance(pem, str) else pem)
    except PKIError as exc:
        raise WalletError("invalid_certificate", f"{what} is not a PEM certificate") from exc
    if not certs:
        raise WalletError("invalid_certificate", "no certificate found")
    return certs


def parse_pin(pem: bytes | str) -> list[x509.Certificate]:
    """The scheme-operator certificate(s) of a PEM file (several during a key rollover)."""
    return _pem_certificates(pem, "the scheme operator file")


def _pems(certs: Iterable[x509.Certificate]) -> list[str]:
    return [cert_to_pem(c).decode() for c in certs]


def _load_pems(pems: Iterable[str]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for pem in pems:
        out.extend(certs_from_pem(pem.encode()))
    return out


class TrustAnchors:
    """Role -> CA certificates (list-derived plus hand-added), with a ChainValidator per role."""

    def __init__(self, store: WalletStore) -> None:
        self.store = store
        self._cache: dict[str, ChainValidator] = {}

    # -- stored state ---------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        data = self.store.read_json(_LISTS, {})
        return data if isinstance(data, dict) else {}

    def _manual(self) -> dict[str, list[str]]:
        data = self.store.read_json(_MANUAL, {})
        return data if isinstance(data, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        self.store.write_json(_LISTS, state)  # one file, atomic replace (WalletStore.atomic_write)
        self._cache.clear()

    # -- the pin --------------------------------------------------------------------------------------------
    def scheme_operator(self) -> list[x509.Certificate]:
        """The pinned scheme-operator certificates (empty when nothing is pinned yet)."""
        return _load_pems(self._state().get("scheme_operator", []))

    def pinned_by(self) -> str | None:
        value = self._state().get("pinned_by")
        return str(value) if value else None

    def registry(self) -> str | None:
        value = self._state().get("registry")
        return str(value) if value else None

    def pin(self, certs: Sequence[x509.Certificate], *, how: str, registry: str, now: datetime) -> None:
        """Pin the scheme operator's signing certificate(s). A new pin keeps the sequence numbers seen per list
        URL (rollback protection does not restart) and the current anchors until the next successful refresh."""
        state = self._state()
        self._set_pin(state, certs, how=how, registry=registry, now=now)
        self._write_state(state)

    @staticmethod
    def _set_pin(state: dict[str, Any], certs: Sequence[x509.Certificate], *, how: str, registry: str,
                 now: datetime) -> None:
        if not certs:
            raise WalletError("invalid_certificate", "no scheme operator certificate to pin")
        state.update(scheme_operator=_pems(certs), pinned_by=how, pinned_at=now.isoformat(), registry=registry)

    # -- lists ----------------------------------------------------------------------------------------------
    def min_sequence(self, url: str) -> int | None:
        """The highest sequence number accepted before for the list at ``url`` (None: never seen)."""
        seen = self._state().get("seen", {}).get(url)
        return int(seen["sequence"]) if isinstance(seen, dict) and "sequence" in seen else None

    def apply_lists(self, registry: str, verified: Sequence[tuple[ListSource, str, tl.TrustedList]],
                    *, now: datetime, pin: tuple[Sequence[x509.Certificate], str] | None = None) -> dict[str, Any]:
        """Replace the list-derived anchors by those of ``verified`` (every list already checked by
        ``verify_trusted_list``) in one atomic write, together with a new ``pin`` (certificates, how) if given;
        remember each list's sequence number and NextUpdate. Only granted services of the list's own service
        type are taken, and only CA certificates."""
        state = self._state()
        if pin is not None:
            self._set_pin(state, pin[0], how=pin[1], registry=registry, now=now)
        seen: dict[str, Any] = dict(state.get("seen", {}))
        anchors: dict[str, list[str]] = {}
        lists: dict[str, Any] = {}
        for source, url, tlist in verified:
            scheme = tlist.scheme
            certs = [c for c in tlist.trust_anchors(source.service_type) if _is_ca(c)]
            for role in source.roles:
                bucket = anchors.setdefault(role.value, [])
                bucket.extend(p for p in _pems(certs) if p not in bucket)
            next_update = scheme.next_update.isoformat() if scheme.next_update else None
            seen[url] = {"sequence": scheme.sequence_number, "next_update": next_update}
            lists[source.name] = {"url": url, "sequence": scheme.sequence_number,
                                  "issued": scheme.issue_date.isoformat(), "next_update": next_update,
                                  "anchors": len(certs)}
        state.update(registry=registry, anchors=anchors, lists=lists, seen=seen, refreshed_at=now.isoformat())
        self._write_state(state)
        self.store.delete(_LEGACY)
        return {"anchors": sum(len(v) for v in anchors.values()), "lists": {k: v["sequence"] for k, v in lists.items()}}

    def forget_lists(self) -> None:
        """Drop the list-derived anchors (the pin and the sequence numbers seen stay)."""
        state = self._state()
        state.update(anchors={}, lists={})
        self._write_state(state)

    # -- hand-added anchors ---------------------------------------------------------------------------------
    def add(self, role: str, pem: bytes | str) -> list[str]:
        """Trust the CA certificate(s) in ``pem`` for ``role`` by hand; end-entity certificates are refused."""
        r = _role(role)
        certs = _pem_certificates(pem, "the file")
        if not all(_is_ca(c) for c in certs):
            raise WalletError("not_a_ca", "only CA certificates can be trust anchors")
        data = self._manual()
        current = data.setdefault(r.value, [])
        for text in _pems(certs):
            if text not in current:
                current.append(text)
        self.store.write_json(_MANUAL, data)
        self._cache.pop(r.value, None)
        return [cert_sha256_b64url(c) for c in certs]

    # -- use ------------------------------------------------------------------------------------------------
    def certificates(self, role: str) -> list[x509.Certificate]:
        key = _role(role).value
        pems = list(self._state().get("anchors", {}).get(key, []))
        pems += [p for p in self._manual().get(key, []) if p not in pems]
        return _load_pems(pems)

    def validator(self, role: str | Role) -> ChainValidator:
        key = _role(str(role)).value
        if key not in self._cache:
            certs = self.certificates(key)
            if not certs:
                raise WalletError("no_trust_anchors", f"the wallet trusts no {key} CA")
            self._cache[key] = ChainValidator(certs, Role(key))
        return self._cache[key]

    def summary(self, *, now: datetime | None = None) -> dict[str, Any]:
        """What ``wallet trust list`` shows: the pin, each list (sequence, NextUpdate, stale), and the anchors per
        role (SHA-256 of each certificate, base64url) from the lists and by hand."""
        state = self._state()

        def digests(by_role: dict[str, list[str]]) -> dict[str, list[str]]:
            return {role: [cert_sha256_b64url(c) for c in _load_pems(pems)] for role, pems in by_role.items()}

        lists = {}
        for name, info in state.get("lists", {}).items():
            nu = info.get("next_update")
            stale = now is not None and (nu is None or datetime.fromisoformat(nu) <= now)
            lists[name] = {**info, "stale": stale}
        return {
            "scheme_operator": {"sha256": [cert_sha256_b64url(c) for c in self.scheme_operator()],
                                "pinned_by": state.get("pinned_by"), "registry": state.get("registry")},
            "lists": lists,
            "anchors": digests(state.get("anchors", {})),
            "manual": digests(self._manual()),
        }
