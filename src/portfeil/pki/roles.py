"""Certificate roles of the portfeil PKI and the profile each one issues and enforces.

Role separation has two layers: the caller passes only that role's trust anchors (from the trusted list / LoTE
for that role), and the end-entity certificate must carry the role's key usage and extended key usage (EKU).
A leaf of one role never validates for another because the EKU sets below are disjoint.

Private OIDs live under the UUID arc ``2.25.300148126987796285324039031002234293686`` (ITU-T X.667 §6.3: anyone
may mint a UUID-based arc without registration). They are portfeil's own key purposes where no published
EKU exists; replace them if an EU or ETSI identifier is published for the purpose.

==================== ======================== ============================== ========================================
Role                 CA certificates          end-entity key usage           end-entity EKU (issued; accepted)
==================== ======================== ============================== ========================================
pid-provider         root (+ intermediates),  digitalSignature               ``PORTFEIL_ARC.1.1`` id-kp-pid-provider:
                     keyCertSign + cRLSign                                   signs PID SD-JWT VCs / status lists
attestation-provider as above                 digitalSignature               ``PORTFEIL_ARC.1.2`` id-kp-attestation-
                                                                             provider: (Q)EAA issuers
iaca                 IACA root only, pathLen  digitalSignature (critical)    ``1.0.18013.5.1.2`` id-mdl-kp-mdlDS,
                     0, keyCertSign + cRLSign,                               critical (ISO/IEC 18013-5 Annex B.1.4);
                     issuerAltName, C                                        issuerAltName copied from the IACA
rp-access            access CA (ETSI TS 119   digitalSignature; SAN DNS/URI  ``PORTFEIL_ARC.1.3`` id-kp-rp-access and
                     411-8), as above         of the service required        ``1.0.18013.5.1.6`` mdlReaderAuth
                                                                             (ISO 18013-5 B.1.7); either is accepted
wallet-provider      as above                 digitalSignature               ``PORTFEIL_ARC.1.4`` id-kp-wallet-
                                                                             provider: signs wallet unit attestations
eid                  eID CA, as above         digitalSignature               ``1.3.6.1.5.5.7.3.2`` id-kp-clientAuth
                                                                             (RFC 5280 §4.2.1.12): holder
                                                                             authentication certificates
tsl-operator         as above                 digitalSignature +             ``0.4.0.2231.3.0`` id-tsl-kp-tslSigning
                                              contentCommitment issued;      (ETSI TS 119 612 §5.7.1, as in the
                                              either accepted                Bulgarian TSL signer certificate)
registrar            as above                 digitalSignature               ``PORTFEIL_ARC.1.5`` id-kp-registrar:
                                                                             signs registration certificates (JWT,
                                                                             ETSI TS 119 475)
==================== ======================== ============================== ========================================

CA keys must be ECDSA (P-256/P-384/P-521): the path validator of ``cryptography`` refuses Ed25519 CA keys.
End-entity keys may be ECDSA or Ed25519. ``anyExtendedKeyUsage`` never satisfies a role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

__all__ = [
    "EKU_ATTESTATION_PROVIDER",
    "EKU_CLIENT_AUTH",
    "EKU_MDL_DS",
    "EKU_MDL_READER_AUTH",
    "EKU_PID_PROVIDER",
    "EKU_REGISTRAR",
    "EKU_RP_ACCESS",
    "EKU_TSL_SIGNING",
    "EKU_WALLET_PROVIDER",
    "PORTFEIL_ARC",
    "ROLE_PROFILES",
    "Role",
    "RoleProfile",
    "profile_for",
]

PORTFEIL_ARC = "2.25.300148126987796285324039031002234293686"

EKU_PID_PROVIDER = ObjectIdentifier(f"{PORTFEIL_ARC}.1.1")
EKU_ATTESTATION_PROVIDER = ObjectIdentifier(f"{PORTFEIL_ARC}.1.2")
EKU_RP_ACCESS = ObjectIdentifier(f"{PORTFEIL_ARC}.1.3")
EKU_WALLET_PROVIDER = ObjectIdentifier(f"{PORTFEIL_ARC}.1.4")
EKU_REGISTRAR = ObjectIdentifier(f"{PORTFEIL_ARC}.1.5")
EKU_MDL_DS = ObjectIdentifier("1.0.18013.5.1.2")
"""id-mdl-kp-mdlDS, ISO/IEC 18013-5:2021 Annex B.1.4 (document signer)."""
EKU_MDL_READER_AUTH = ObjectIdentifier("1.0.18013.5.1.6")
"""id-mdl-kp-mdlReaderAuth, ISO/IEC 18013-5:2021 Annex B.1.7 (mdoc reader authentication)."""
EKU_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
EKU_TSL_SIGNING = ObjectIdentifier("0.4.0.2231.3.0")
"""id-tsl-kp-tslSigning, ETSI TS 119 612."""


class Role(StrEnum):
    PID_PROVIDER = "pid-provider"
    ATTESTATION_PROVIDER = "attestation-provider"
    IACA = "iaca"
    RP_ACCESS = "rp-access"
    WALLET_PROVIDER = "wallet-provider"
    EID = "eid"
    TSL_OPERATOR = "tsl-operator"
    REGISTRAR = "registrar"


@dataclass(frozen=True)
class RoleProfile:
    """What a CA of ``role`` puts into an end-entity certificate and what validation demands of it.

    Key usage names are the attribute names of :class:`cryptography.x509.KeyUsage`.
    """

    role: Role
    issued_key_usage: frozenset[str]
    accepted_key_usage: frozenset[str]
    """Validation needs at least one of these bits."""
    issued_ekus: tuple[ObjectIdentifier, ...]
    accepted_ekus: frozenset[ObjectIdentifier]
    """Validation needs at least one of these key purposes in the EKU extension (which must be present)."""
    eku_critical: bool = False
    require_san: bool = False
    """The end-entity certificate must name its service in a SAN dNSName or uniformResourceIdentifier."""
    root_path_length: int | None = None
    """Forced path length of the root CA, if the profile fixes it (IACA: 0)."""
    issuer_alt_name: bool = False
    """Root and leaf carry issuerAltName (ISO 18013-5 Annex B)."""


_DS = frozenset({"digital_signature"})


def _simple(role: Role, eku: ObjectIdentifier) -> RoleProfile:
    return RoleProfile(role, _DS, _DS, (eku,), frozenset({eku}))


ROLE_PROFILES: dict[Role, RoleProfile] = {
    Role.PID_PROVIDER: _simple(Role.PID_PROVIDER, EKU_PID_PROVIDER),
    Role.ATTESTATION_PROVIDER: _simple(Role.ATTESTATION_PROVIDER, EKU_ATTESTATION_PROVIDER),
    Role.IACA: RoleProfile(
        Role.IACA, _DS, _DS, (EKU_MDL_DS,), frozenset({EKU_MDL_DS}),
        eku_critical=True, root_path_length=0, issuer_alt_name=True,
    ),
    Role.RP_ACCESS: RoleProfile(
        Role.RP_ACCESS, _DS, _DS, (EKU_RP_ACCESS, EKU_MDL_READER_AUTH),
        frozenset({EKU_RP_ACCESS, EKU_MDL_READER_AUTH}), require_san=True,
    ),
    Role.WALLET_PROVIDER: _simple(Role.WALLET_PROVIDER, EKU_WALLET_PROVIDER),
    Role.EID: _simple(Role.EID, EKU_CLIENT_AUTH),
    Role.TSL_OPERATOR: RoleProfile(
        Role.TSL_OPERATOR, frozenset({"digital_signature", "content_commitment"}),
        frozenset({"digital_signature", "content_commitment"}), (EKU_TSL_SIGNING,), frozenset({EKU_TSL_SIGNING}),
    ),
    Role.REGISTRAR: _simple(Role.REGISTRAR, EKU_REGISTRAR),
}


def profile_for(role: Role | str) -> RoleProfile:
    """The profile of ``role`` (a :class:`Role` or its string value)."""
    from portfeil.pki.errors import PKIError

    try:
        return ROLE_PROFILES[Role(role)]
    except ValueError:
        raise PKIError("unknown_role", "unknown certificate role") from None
