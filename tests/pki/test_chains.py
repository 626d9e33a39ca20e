"""Per-role certificate issuance and path validation, with named negative tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from portfeil.pki.ca import (
    IssuedCertificate,
    cert_from_b64der,
    cert_from_der,
    cert_from_pem,
    cert_sha256_b64url,
    cert_to_b64der,
    cert_to_der,
    cert_to_pem,
    certs_from_pem,
    certs_from_x5c,
    certs_to_x5c,
    create_intermediate_ca,
    create_root_ca,
    issue_leaf,
)
from portfeil.pki.chains import ChainValidator, check_leaf_profile, san_dns_names, san_uris, validate_chain
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import generate_private_key
from portfeil.pki.roles import EKU_MDL_DS, EKU_TSL_SIGNING, ROLE_PROFILES, Role

from .conftest import NOW

CAs = dict[Role, IssuedCertificate]
SAN = {"san_dns": ["rp.example.bg"], "san_uris": ["https://rp.example.bg"]}


def _leaf(ca: IssuedCertificate, role: Role, **kw: object) -> x509.Certificate:
    key = generate_private_key("ES256")
    return issue_leaf(ca, f"{role} leaf", key.public_key(), role, now=NOW, **{**SAN, **kw})  # type: ignore[arg-type]


def _code(fn: object) -> str:
    with pytest.raises(PKIError) as err:
        fn()  # type: ignore[operator]
    return err.value.code


@pytest.mark.parametrize("role", list(Role))
def test_each_role_ca_and_leaf_validate(role: Role, roots: CAs, issuing_cas: CAs) -> None:
    ca = issuing_cas[role]
    leaf = _leaf(ca, role)
    chain = ca.chain_for(leaf)
    assert validate_chain(chain, [roots[role].certificate], role=role, now=NOW) == leaf
    validator = ChainValidator([roots[role].certificate], role)
    path = validator.validated_path([cert_to_der(c) for c in chain], now=NOW)
    assert path[0] == leaf
    assert path[-1] == roots[role].certificate
    # The root may be included at the end of x5c.
    assert validate_chain([*chain, roots[role].certificate], [roots[role].certificate], role=role, now=NOW) == leaf


@pytest.mark.parametrize("role", list(Role))
def test_rejects_leaf_of_wrong_role(role: Role, issuing_cas: CAs, roots: CAs) -> None:
    """A leaf of one role fails for every other role, even when the other role trusts the same anchor."""
    ca = issuing_cas[role]
    chain = ca.chain_for(_leaf(ca, role))
    for other in Role:
        if other is role:
            continue
        code = _code(lambda other=other: validate_chain(chain, [roots[role].certificate], role=other, now=NOW))
        assert code in {"wrong_extended_key_usage", "wrong_key_usage"}, (role, other, code)


def test_rejects_chain_to_another_roles_anchor(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = ca.chain_for(_leaf(ca, Role.PID_PROVIDER))
    assert _code(lambda: validate_chain(chain, [roots[Role.EID].certificate], role=Role.PID_PROVIDER,
                                        now=NOW)) == "untrusted_chain"


def test_iaca_profile_iso_18013_5(roots: CAs) -> None:
    iaca = roots[Role.IACA].certificate
    bc = iaca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca
    assert bc.value.path_length == 0
    ku = iaca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.key_cert_sign
    assert ku.value.crl_sign
    assert not ku.value.digital_signature
    assert iaca.extensions.get_extension_for_class(x509.IssuerAlternativeName)
    assert iaca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "BG"
    ds = _leaf(roots[Role.IACA], Role.IACA)
    eku = ds.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [EKU_MDL_DS]
    assert ds.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ds.extensions.get_extension_for_class(x509.IssuerAlternativeName)
    assert ds.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "BG"


def test_iaca_forces_path_length_zero() -> None:
    iaca = create_root_ca("IACA", Role.IACA, now=NOW, path_length=3)
    assert iaca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert _code(lambda: create_intermediate_ca(iaca, "x", Role.IACA, now=NOW)) == "path_length_exceeded"


def test_tsl_operator_profile(issuing_cas: CAs) -> None:
    leaf = _leaf(issuing_cas[Role.TSL_OPERATOR], Role.TSL_OPERATOR)
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [EKU_TSL_SIGNING]
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert ku.content_commitment


def test_rp_access_requires_san(issuing_cas: CAs) -> None:
    ca = issuing_cas[Role.RP_ACCESS]
    key = generate_private_key()
    assert _code(lambda: issue_leaf(ca, "rp", key.public_key(), Role.RP_ACCESS, now=NOW)) == "missing_san"
    leaf = issue_leaf(ca, "rp", key.public_key(), Role.RP_ACCESS, now=NOW, san_dns=["verifier.example.bg"])
    assert san_dns_names(leaf) == ["verifier.example.bg"]
    assert san_uris(leaf) == []


def test_rejects_rp_access_without_san(roots: CAs) -> None:
    """A foreign access CA issuing without SAN: validation refuses it (hand-built certificate)."""
    root = roots[Role.RP_ACCESS]
    key = generate_private_key()
    prof = ROLE_PROFILES[Role.RP_ACCESS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rp")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(prof.issued_ekus)), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    assert _code(lambda: validate_chain([cert], [root.certificate], role=Role.RP_ACCESS, now=NOW)) == "missing_san"


def test_rejects_expired_leaf(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = ca.chain_for(_leaf(ca, Role.PID_PROVIDER, validity_days=10))
    anchors = [roots[Role.PID_PROVIDER].certificate]
    assert validate_chain(chain, anchors, role=Role.PID_PROVIDER, now=NOW + timedelta(days=10)) == chain[0]
    code = _code(lambda: validate_chain(chain, anchors, role=Role.PID_PROVIDER,
                                        now=NOW + timedelta(days=10, seconds=1)))
    assert code == "certificate_expired"


def test_rejects_not_yet_valid(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = ca.chain_for(_leaf(ca, Role.PID_PROVIDER))
    code = _code(lambda: validate_chain(chain, [roots[Role.PID_PROVIDER].certificate], role=Role.PID_PROVIDER,
                                        now=NOW - timedelta(seconds=1)))
    assert code == "certificate_not_yet_valid"


def test_rejects_expired_intermediate() -> None:
    root = create_root_ca("r", Role.EID, now=NOW)
    inter = create_intermediate_ca(root, "i", Role.EID, now=NOW, validity_days=5)
    leaf = _leaf(inter, Role.EID, validity_days=365)  # clamped to the intermediate's end
    assert leaf.not_valid_after_utc == inter.certificate.not_valid_after_utc
    chain = inter.chain_for(leaf)
    assert _code(lambda: validate_chain(chain, [root.certificate], role=Role.EID,
                                        now=NOW + timedelta(days=6))) == "certificate_expired"


def test_rejects_expired_anchor() -> None:
    """The anchor's own validity counts too (the verifier enforces it; we map the code)."""
    root = create_root_ca("r", Role.EID, now=NOW, validity_days=1)
    leaf = issue_leaf(root, "l", generate_private_key().public_key(), Role.EID, now=NOW)
    # The leaf is clamped to the root's life; build an unclamped one by hand to isolate the anchor check.
    key = generate_private_key()
    long_leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(99)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    assert validate_chain([long_leaf], [root.certificate], role=Role.EID, now=NOW) == long_leaf
    assert _code(lambda: validate_chain([long_leaf], [root.certificate], role=Role.EID,
                                        now=NOW + timedelta(days=2))) == "certificate_expired"


def test_rejects_intermediate_exceeding_path_length() -> None:
    root = create_root_ca("r", Role.ATTESTATION_PROVIDER, now=NOW, path_length=0)
    # create_intermediate_ca refuses, so sign a rogue intermediate by hand.
    assert _code(lambda: create_intermediate_ca(root, "i", Role.ATTESTATION_PROVIDER, now=NOW)) == \
        "path_length_exceeded"
    ikey = generate_private_key()
    rogue = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rogue")]))
        .issuer_name(root.certificate.subject)
        .public_key(ikey.public_key())
        .serial_number(11)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ikey.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
                       critical=False)
        .sign(root.key, hashes.SHA256())
    )
    inter = IssuedCertificate(rogue, ikey)
    leaf = _leaf(inter, Role.ATTESTATION_PROVIDER)
    code = _code(lambda: validate_chain([leaf, rogue], [root.certificate], role=Role.ATTESTATION_PROVIDER, now=NOW))
    assert code == "path_length_exceeded"


def test_rejects_second_intermediate_below_path_length_zero() -> None:
    root = create_root_ca("r", Role.WALLET_PROVIDER, now=NOW, path_length=2)
    i1 = create_intermediate_ca(root, "i1", Role.WALLET_PROVIDER, now=NOW, path_length=0)
    assert _code(lambda: create_intermediate_ca(i1, "i2", Role.WALLET_PROVIDER, now=NOW)) == "path_length_exceeded"
    # Two intermediates are fine when path lengths allow.
    j1 = create_intermediate_ca(root, "j1", Role.WALLET_PROVIDER, now=NOW, path_length=1)
    j2 = create_intermediate_ca(j1, "j2", Role.WALLET_PROVIDER, now=NOW)
    assert j2.chain == (j1.certificate,)
    leaf = _leaf(j2, Role.WALLET_PROVIDER)
    chain = j2.chain_for(leaf)
    assert len(chain) == 3
    assert validate_chain(chain, [root.certificate], role=Role.WALLET_PROVIDER, now=NOW) == leaf


def test_rejects_unknown_anchor(issuing_cas: CAs) -> None:
    ca = issuing_cas[Role.REGISTRAR]
    chain = ca.chain_for(_leaf(ca, Role.REGISTRAR))
    other = create_root_ca("Other registrar root", Role.REGISTRAR, now=NOW)  # same names, other key
    assert _code(lambda: validate_chain(chain, [other.certificate], role=Role.REGISTRAR, now=NOW)) == \
        "untrusted_chain"
    assert _code(lambda: validate_chain(chain, [], role=Role.REGISTRAR, now=NOW)) == "untrusted_chain"


def test_rejects_missing_intermediate(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    leaf = _leaf(ca, Role.PID_PROVIDER)
    assert _code(lambda: validate_chain([leaf], [roots[Role.PID_PROVIDER].certificate], role=Role.PID_PROVIDER,
                                        now=NOW)) == "untrusted_chain"


def test_rejects_self_signed_leaf(roots: CAs) -> None:
    key = generate_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    prof = ROLE_PROFILES[Role.PID_PROVIDER]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(5)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(prof.issued_ekus)), critical=False)
        .sign(key, hashes.SHA256())
    )
    anchors = [roots[Role.PID_PROVIDER].certificate]
    assert _code(lambda: validate_chain([cert], anchors, role=Role.PID_PROVIDER, now=NOW)) == "untrusted_chain"


def test_rejects_ca_certificate_as_leaf(roots: CAs, issuing_cas: CAs) -> None:
    anchors = [roots[Role.PID_PROVIDER].certificate]
    inter = issuing_cas[Role.PID_PROVIDER].certificate
    assert _code(lambda: validate_chain([inter], anchors, role=Role.PID_PROVIDER, now=NOW)) == "leaf_is_ca"
    assert _code(lambda: validate_chain([anchors[0]], anchors, role=Role.PID_PROVIDER, now=NOW)) == "leaf_is_ca"


def test_rejects_leaf_used_as_intermediate(issuing_cas: CAs, roots: CAs) -> None:
    """An end-entity key signing another certificate does not make a CA."""
    ca = issuing_cas[Role.EID]
    key = generate_private_key()
    holder = issue_leaf(ca, "holder", key.public_key(), Role.EID, now=NOW)
    fake_ca = IssuedCertificate(holder, key)
    with pytest.raises(PKIError, match="not_a_ca"):
        issue_leaf(fake_ca, "x", generate_private_key().public_key(), Role.EID, now=NOW)
    sub_key = generate_private_key()
    sub = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sub")]))
        .issuer_name(holder.subject)
        .public_key(sub_key.public_key())
        .serial_number(3)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    chain = [sub, holder, *ca.chain_for(holder)[1:]]
    assert _code(lambda: validate_chain(chain, [roots[Role.EID].certificate], role=Role.EID, now=NOW)) == \
        "untrusted_chain"


def test_rejects_wrong_key_usage(roots: CAs) -> None:
    root = roots[Role.EID]
    key = generate_private_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ke")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(12)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, True, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    assert _code(lambda: validate_chain([cert], [root.certificate], role=Role.EID, now=NOW)) == "wrong_key_usage"


def test_rejects_any_extended_key_usage(roots: CAs) -> None:
    root = roots[Role.PID_PROVIDER]
    key = generate_private_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "any")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(13)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    assert _code(lambda: validate_chain([cert], [root.certificate], role=Role.PID_PROVIDER, now=NOW)) == \
        "wrong_extended_key_usage"


def test_rejects_unknown_critical_extension(roots: CAs) -> None:
    root = roots[Role.PID_PROVIDER]
    key = generate_private_key()
    prof = ROLE_PROFILES[Role.PID_PROVIDER]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crit")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(14)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(prof.issued_ekus)), critical=False)
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"),
                       critical=True)
        .sign(root.key, hashes.SHA256())
    )
    assert _code(lambda: validate_chain([cert], [root.certificate], role=Role.PID_PROVIDER, now=NOW)) == \
        "unsupported_critical_extension"


def test_rejects_tampered_leaf_signature(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    leaf = _leaf(ca, Role.PID_PROVIDER)
    der = bytearray(cert_to_der(leaf))
    der[-3] ^= 0x01  # inside the signature value
    validator = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER)
    chain = [bytes(der), cert_to_der(ca.certificate)]
    with pytest.raises(PKIError) as err:
        validator.validate(chain, now=NOW)
    assert err.value.code in {"untrusted_chain", "malformed_certificate"}


def test_ed25519_leaf_under_ecdsa_ca(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.EID]
    leaf = issue_leaf(ca, "ed", generate_private_key("EdDSA").public_key(), Role.EID, now=NOW)
    assert validate_chain(ca.chain_for(leaf), [roots[Role.EID].certificate], role=Role.EID, now=NOW) == leaf


def test_ed25519_ca_key_refused() -> None:
    assert _code(lambda: create_root_ca("r", Role.EID, now=NOW, key=generate_private_key("EdDSA"))) == \
        "unsupported_alg"


def test_p384_ca() -> None:
    root = create_root_ca("r384", Role.IACA, now=NOW, key=generate_private_key("ES384"))
    assert isinstance(root.certificate.signature_hash_algorithm, hashes.SHA384)
    leaf = _leaf(root, Role.IACA)
    assert validate_chain([leaf], [root.certificate], role=Role.IACA, now=NOW) == leaf


def test_naive_now_refused(roots: CAs) -> None:
    from datetime import datetime

    assert _code(lambda: create_root_ca("r", Role.EID, now=datetime(2026, 1, 1))) == "naive_datetime"
    assert _code(lambda: validate_chain([roots[Role.EID].certificate], [], role=Role.EID,
                                        now=datetime(2026, 1, 1))) == "naive_datetime"


# -- the cached validator ---------------------------------------------------------------------------------------

def test_cache_hit(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = [cert_to_der(c) for c in ca.chain_for(_leaf(ca, Role.PID_PROVIDER))]
    v = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER)
    first = v.validate(chain, now=NOW)
    second = v.validate(list(chain), now=NOW + timedelta(days=1))
    assert first == second
    assert v.hits == 1
    assert v.misses == 1


def test_cache_hit_still_refuses_expired(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = [cert_to_der(c) for c in ca.chain_for(_leaf(ca, Role.PID_PROVIDER, validity_days=3))]
    v = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER)
    v.validate(chain, now=NOW)
    with pytest.raises(PKIError) as err:
        v.validate(chain, now=NOW + timedelta(days=3, seconds=1))
    assert err.value.code == "certificate_expired"
    assert v.hits == 0  # the refusal came from the cache entry, not a rebuild
    assert v.misses == 1
    with pytest.raises(PKIError, match="certificate_not_yet_valid"):
        v.validate(chain, now=NOW - timedelta(seconds=1))


def test_cache_not_shared_across_anchor_sets(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = [cert_to_der(c) for c in ca.chain_for(_leaf(ca, Role.PID_PROVIDER))]
    good = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER)
    good.validate(chain, now=NOW)
    other = ChainValidator([roots[Role.EID].certificate], Role.PID_PROVIDER)
    assert other.anchor_digest != good.anchor_digest
    with pytest.raises(PKIError, match="untrusted_chain"):
        other.validate(chain, now=NOW)


def test_failures_are_not_cached(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    chain = [cert_to_der(c) for c in ca.chain_for(_leaf(ca, Role.PID_PROVIDER))]
    v = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER)
    with pytest.raises(PKIError, match="certificate_not_yet_valid"):
        v.validate(chain, now=NOW - timedelta(days=1))
    assert v.validate(chain, now=NOW)
    assert v.misses == 2


def test_cache_is_bounded(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    v = ChainValidator([roots[Role.PID_PROVIDER].certificate], Role.PID_PROVIDER, cache_size=2)
    chains = [[cert_to_der(c) for c in ca.chain_for(_leaf(ca, Role.PID_PROVIDER))] for _ in range(3)]
    for chain in chains:
        v.validate(chain, now=NOW)
    v.validate(chains[0], now=NOW)  # evicted: rebuilt
    assert v.misses == 4
    assert v.hits == 0
    v.validate(chains[0], now=NOW)
    assert v.hits == 1


@pytest.mark.parametrize("bad", [[], b"abc", "abc", [b""], [b"\x30\x03\x02\x01\x01"], ["MII="], [b"x"] * 9, None])
def test_rejects_malformed_chain_input(bad: object, roots: CAs) -> None:
    v = ChainValidator([roots[Role.EID].certificate], Role.EID)
    with pytest.raises(PKIError) as err:
        v.validate(bad, now=NOW)  # type: ignore[arg-type]
    assert err.value.code in {"malformed_certificate", "chain_too_long"}


# -- encodings --------------------------------------------------------------------------------------------------

def test_pem_der_x5c_round_trips(issuing_cas: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    leaf = _leaf(ca, Role.PID_PROVIDER)
    assert cert_from_pem(cert_to_pem(leaf)) == leaf
    assert certs_from_pem(cert_to_pem(leaf) + cert_to_pem(ca.certificate)) == [leaf, ca.certificate]
    assert cert_from_b64der(cert_to_b64der(leaf)) == leaf
    assert certs_from_x5c(certs_to_x5c([leaf, ca.certificate])) == [leaf, ca.certificate]
    with pytest.raises(PKIError, match="malformed_certificate"):
        cert_from_pem(cert_to_pem(leaf) + cert_to_pem(ca.certificate))
    with pytest.raises(PKIError, match="malformed_certificate"):
        cert_from_b64der(cert_to_b64der(leaf).replace("+", "-").replace("/", "_") + "-")
    with pytest.raises(PKIError, match="malformed_certificate"):
        certs_from_x5c([])
    with pytest.raises(PKIError, match="malformed_certificate"):
        certs_from_x5c("abc")


def test_leaf_serial_and_validity(issuing_cas: CAs) -> None:
    ca = issuing_cas[Role.PID_PROVIDER]
    leaf = _leaf(ca, Role.PID_PROVIDER, serial=4242)
    assert leaf.serial_number == 4242
    assert _code(lambda: _leaf(ca, Role.PID_PROVIDER, serial=0)) == "invalid_serial"
    assert _code(lambda: _leaf(ca, Role.PID_PROVIDER, serial=1 << 160)) == "invalid_serial"
    random_serial = _leaf(ca, Role.PID_PROVIDER).serial_number
    assert 0 < random_serial < 1 << 159
    assert random_serial.bit_length() > 64
    assert leaf.not_valid_before_utc == NOW


def test_rejects_non_positive_serial(roots: CAs) -> None:
    """RFC 5280 §4.1.2.2: serial numbers are positive; cryptography only warns, we refuse."""
    root = roots[Role.EID]
    key = generate_private_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "neg")]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(root.key, hashes.SHA256())
    )
    der = bytearray(cert_to_der(cert))
    # The serial INTEGER 02 01 01 follows the [0] version field; make it 0.
    pos = der.find(b"\xa0\x03\x02\x01\x02\x02\x01\x01")
    assert pos > 0
    der[pos + 7] = 0
    with pytest.raises(PKIError, match="malformed_certificate"):
        cert_from_der(bytes(der))


def _signer_cert(fixture: str) -> x509.Certificate:
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "fixtures" / fixture).read_text(encoding="utf-8")
    sig = text.index("<ds:Signature")
    m = re.search(r"X509Certificate>([^<]+)<", text[sig:])
    assert m is not None
    return cert_from_b64der("".join(m.group(1).split()))


def test_real_bg_trusted_list_signer_fits_tsl_operator_profile() -> None:
    """The Bulgarian TSL signer certificate (tests/fixtures/TSL_BG.xml) carries id-tsl-kp-tslSigning and
    digitalSignature + nonRepudiation: our TSL operator profile accepts it and no other role does."""
    cert = _signer_cert("TSL_BG.xml")
    check_leaf_profile(cert, Role.TSL_OPERATOR)
    for role in Role:
        if role is not Role.TSL_OPERATOR:
            assert _code(lambda role=role: check_leaf_profile(cert, role)) in {
                "wrong_extended_key_usage", "wrong_key_usage", "missing_san"}


def test_eu_lotl_signer_lacks_tsl_signing_eku() -> None:
    """The LOTL signer certificate has EKU clientAuth + emailProtection, not id-tsl-kp-tslSigning: it is trusted
    by pinning (certificates published in the Official Journal), not through the TSL operator profile."""
    cert = _signer_cert("eu-lotl.xml")
    assert _code(lambda: check_leaf_profile(cert, Role.TSL_OPERATOR)) == "wrong_extended_key_usage"


def test_cert_sha256_b64url(issuing_cas: CAs) -> None:
    import base64
    import hashlib

    cert = issuing_cas[Role.RP_ACCESS].certificate
    expected = base64.urlsafe_b64encode(hashlib.sha256(cert_to_der(cert)).digest()).rstrip(b"=").decode()
    assert cert_sha256_b64url(cert) == expected
    assert len(expected) == 43


def test_rejects_non_positive_validity(roots: CAs) -> None:
    assert _code(lambda: create_root_ca("r", Role.EID, now=NOW, validity_days=0)) == "invalid_validity"
    assert _code(lambda: create_intermediate_ca(roots[Role.EID], "i", Role.EID, now=NOW, validity_days=-1)) == \
        "invalid_validity"
    assert _code(lambda: _leaf(roots[Role.EID], Role.EID, validity_days=0)) == "invalid_validity"


def test_rejects_invalid_x509_version_in_pem(issuing_cas: CAs) -> None:
    """Found by fuzzing: cryptography raises InvalidVersion (not a ValueError) for a v2 certificate in PEM."""
    import base64

    der = bytearray(cert_to_der(issuing_cas[Role.EID].certificate))
    pos = der.find(b"\xa0\x03\x02\x01\x02")
    der[pos + 4] = 1
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der)) + b"-----END CERTIFICATE-----\n"
    with pytest.raises(PKIError, match="malformed_certificate"):
        certs_from_pem(pem)
    with pytest.raises(PKIError, match="malformed_certificate"):
        cert_from_der(bytes(der))


def test_rejects_name_constraint_violation(roots: CAs) -> None:
    """An access CA constrained to example.bg (RFC 5280 §4.2.1.10) cannot vouch for another domain."""
    root = roots[Role.RP_ACCESS]
    ikey = generate_private_key()
    inter = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "constrained access CA")]))
        .issuer_name(root.certificate.subject)
        .public_key(ikey.public_key())
        .serial_number(77)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.bg")], excluded_subtrees=None),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ikey.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
                       critical=False)
        .sign(root.key, hashes.SHA256())
    )
    ca = IssuedCertificate(inter, ikey)
    ok = _leaf(ca, Role.RP_ACCESS, san_dns=["rp.example.bg"], san_uris=[])
    assert validate_chain([ok, inter], [root.certificate], role=Role.RP_ACCESS, now=NOW) == ok
    bad = _leaf(ca, Role.RP_ACCESS, san_dns=["evil.example.com"], san_uris=[])
    assert _code(lambda: validate_chain([bad, inter], [root.certificate], role=Role.RP_ACCESS, now=NOW)) == \
        "untrusted_chain"


def test_subject_attributes_and_crl_distribution_point(issuing_cas: CAs, roots: CAs) -> None:
    ca = issuing_cas[Role.RP_ACCESS]
    org_id = x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRBG-175074752")
    leaf = _leaf(ca, Role.RP_ACCESS, subject_attributes=[org_id], crl_uri="https://ca.example.bg/access.crl")
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == "NTRBG-175074752"
    assert leaf.subject.rfc4514_string().startswith("CN=")  # CN stays the last RDN
    dp = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name == [x509.UniformResourceIdentifier("https://ca.example.bg/access.crl")]
    assert validate_chain(ca.chain_for(leaf), [roots[Role.RP_ACCESS].certificate], role=Role.RP_ACCESS,
                          now=NOW) == leaf
    iaca = create_root_ca("IACA crl", Role.IACA, now=NOW, crl_uri="https://iaca.example.bg/iaca.crl")
    assert iaca.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert _code(lambda: _leaf(ca, Role.RP_ACCESS, subject_attributes=["CN=x"])) == "invalid_name"
