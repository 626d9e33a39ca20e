"""Credential configurations and issuer settings as data (``portfeil/issuer/config/*.json``).

One JSON file per credential configuration (OpenID4VCI 1.0 §12.2.4 ``credential_configurations_supported``):
``id``, ``format`` (``dc+sd-jwt`` with ``vct`` or ``mso_mdoc`` with ``doctype``), ``scope``, ``display``
(``{"bg": ..., "en": ...}``), ``validity_days``, ``deferred`` (always through deferred issuance), and ``claims``:
the claims paths (Appendix B.2 claims path pointers) to issue, each with its bilingual display name. The claims
come from :mod:`portfeil.issuer.mapping`, which knows every PID attribute of the PID Rulebook; a configuration
selects among them, so a further attestation (another vct, a subset, a national variant) is a new file, no code.
``issuer.json`` holds the issuer-wide settings (display name, lifetimes, batch size, attempt limits).

Extra directories can be given with ``PORTFEIL_ISSUER_CONFIG_DIR`` (files there override those shipped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from portfeil.issuer.errors import IssuerError
from portfeil.protocols.oid4vci import ClaimDescription, CredentialConfiguration

CONFIG_DIR = Path(__file__).parent / "config"
FORMATS = ("dc+sd-jwt", "mso_mdoc")


@dataclass(frozen=True)
class ClaimSpec:
    path: tuple[str, ...]
    display: dict[str, str]
    mandatory: bool = False


@dataclass(frozen=True)
class AttestationConfig:
    """One credential configuration, as read from its data file."""

    id: str
    format: Literal["dc+sd-jwt", "mso_mdoc"]
    scope: str
    display: dict[str, str]
    claims: tuple[ClaimSpec, ...]
    vct: str | None = None
    doctype: str | None = None
    validity_days: int = 90
    deferred: bool = False
    proof_algs: tuple[str, ...] = ("ES256",)
    signing_algs: tuple[str | int, ...] = ("ES256",)

    def protocol(self) -> CredentialConfiguration:
        """The OpenID4VCI metadata entry (§12.2.4, Appendix A.2/A.3) through :mod:`portfeil.protocols.oid4vci`."""
        return CredentialConfiguration(
            id=self.id, format=self.format, scope=self.scope, vct=self.vct, doctype=self.doctype,
            display=self.display,
            claims=[ClaimDescription(c.path, c.display, c.mandatory) for c in self.claims],
            credential_signing_alg_values_supported=list(self.signing_algs),
            proof_signing_alg_values_supported=list(self.proof_algs),
        )

    @property
    def claim_paths(self) -> tuple[tuple[str, ...], ...]:
        return tuple(c.path for c in self.claims)


@dataclass(frozen=True)
class IssuerSettings:
    display: dict[str, str]
    issuing_authority: str = "BG PID provider (portfeil)"
    issuing_country: str = "BG"
    batch_size: int = 10
    offer_lifetime_seconds: int = 86400
    tx_code_length: int = 6
    tx_code_max_attempts: int = 3
    token_lifetime_seconds: int = 600
    code_lifetime_seconds: int = 60
    par_lifetime_seconds: int = 300
    c_nonce_lifetime_seconds: int = 300
    status_list_size: int = 131072
    status_list_ttl_seconds: int = 300
    deferred_interval_seconds: int = 30
    require_dpop_nonce: bool = True
    configurations: dict[str, AttestationConfig] = field(default_factory=dict)


def _dict_str(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and isinstance(v, str)
                                                           for k, v in value.items()):
        raise IssuerError("invalid_configuration", f"{what} must map locales to texts")
    if not {"bg", "en"} <= set(value):
        raise IssuerError("invalid_configuration", f"{what} needs Bulgarian and English")
    return dict(value)


def parse_attestation(obj: object) -> AttestationConfig:
    """Validate one configuration file's content."""
    if not isinstance(obj, dict):
        raise IssuerError("invalid_configuration", "a configuration is a JSON object")
    cid, fmt, scope = obj.get("id"), obj.get("format"), obj.get("scope")
    if not isinstance(cid, str) or not cid or not isinstance(scope, str) or not scope:
        raise IssuerError("invalid_configuration", "id and scope are required")
    if fmt not in FORMATS:
        raise IssuerError("invalid_configuration", f"format must be one of {FORMATS}")
    vct, doctype = obj.get("vct"), obj.get("doctype")
    if fmt == "dc+sd-jwt" and not isinstance(vct, str):
        raise IssuerError("invalid_configuration", "dc+sd-jwt needs a vct")
    if fmt == "mso_mdoc" and not isinstance(doctype, str):
        raise IssuerError("invalid_configuration", "mso_mdoc needs a doctype")
    raw_claims = obj.get("claims", [])
    if not isinstance(raw_claims, list):
        raise IssuerError("invalid_configuration", "claims must be an array")
    claims = []
    for c in raw_claims:
        path = c.get("path") if isinstance(c, dict) else None
        if not isinstance(path, list) or not path or not all(isinstance(p, str) for p in path):
            raise IssuerError("invalid_configuration", "claim paths are non-empty arrays of names")
        if fmt == "mso_mdoc" and len(path) != 2:
            raise IssuerError("invalid_configuration", "mdoc claim paths are [namespace, element]")
        claims.append(ClaimSpec(tuple(path), _dict_str(c.get("display"), "claim display"), bool(c.get("mandatory"))))
    if not claims:
        raise IssuerError("invalid_configuration", "a configuration issues at least one claim")
    validity = obj.get("validity_days", 90)
    if not isinstance(validity, int) or not 0 < validity <= 3650:
        raise IssuerError("invalid_configuration", "validity_days must be 1..3650")
    algs = {}
    for name in ("proof_signing_alg_values_supported", "credential_signing_alg_values_supported"):
        value = obj.get(name, ["ES256"])
        if not isinstance(value, list) or not value or not all(isinstance(a, str | int) for a in value):
            raise IssuerError("invalid_configuration", f"{name} must be a non-empty array")
        algs[name] = tuple(value)
    if not all(isinstance(a, str) for a in algs["proof_signing_alg_values_supported"]):
        raise IssuerError("invalid_configuration", "proof algorithms are JOSE names")
    return AttestationConfig(
        id=cid, format=fmt, scope=scope, display=_dict_str(obj.get("display"), "display"), claims=tuple(claims),
        vct=vct if isinstance(vct, str) else None, doctype=doctype if isinstance(doctype, str) else None,
        validity_days=validity, deferred=bool(obj.get("deferred", False)),
        proof_algs=tuple(str(a) for a in algs["proof_signing_alg_values_supported"]),
        signing_algs=algs["credential_signing_alg_values_supported"],
    )


def _directories() -> list[Path]:
    dirs = [CONFIG_DIR]
    extra = os.environ.get("PORTFEIL_ISSUER_CONFIG_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


def load_settings(directories: list[Path] | None = None) -> IssuerSettings:
    """Read ``issuer.json`` and every configuration file (later directories override earlier ones)."""
    base: dict[str, Any] = {}
    configs: dict[str, AttestationConfig] = {}
    for d in directories or _directories():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.json")):
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise IssuerError("invalid_configuration", f"cannot read {path.name}") from exc
            if path.name == "issuer.json":
                if not isinstance(obj, dict):
                    raise IssuerError("invalid_configuration", "issuer.json is a JSON object")
                base.update(obj)
                continue
            cfg = parse_attestation(obj)
            configs[cfg.id] = cfg
    if not configs:
        raise IssuerError("invalid_configuration", "no credential configuration found")
    known = set(IssuerSettings.__dataclass_fields__) - {"configurations", "display"}
    values = {k: v for k, v in base.items() if k in known}
    return IssuerSettings(display=_dict_str(base.get("display"), "issuer display"), configurations=configs, **values)


@lru_cache(maxsize=1)
def default_settings() -> IssuerSettings:
    return load_settings()
