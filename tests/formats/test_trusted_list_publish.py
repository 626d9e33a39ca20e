"""Publishing our own TS 119 612 lists: build, sign (enveloped XAdES-BES), round-trip through our verifier.

The scheme operator certificate comes from portfeil.pki (Role.TSL_OPERATOR, EKU id-tsl-kp-tslSigning); the listed
services use the ETSI TS 119 602 EUDI service types (PID providers, wallet providers, access-certificate CAs).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest
from signxml.signer import XMLSigner
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from portfeil.formats import FormatError
from portfeil.formats.trusted_list import (
    MIME_TSL_XML,
    NS_DS,
    NS_TSL,
    PORTFEIL_SCHEME_RULES,
    PORTFEIL_STATUS_DETERMINATION,
    PORTFEIL_TSL_TYPE_EUDI,
    STATUS_GRANTED,
    STATUS_WITHDRAWN,
    SVC_TYPE_PID_ISSUANCE,
    SVC_TYPE_PID_REVOCATION,
    SVC_TYPE_WALLET_ISSUANCE,
    SVC_TYPE_WRPAC_ISSUANCE,
    TSL_TYPE_EU_GENERIC,
    TSL_TYPE_EU_LOTL,
    Address,
    DigitalIdentity,
    LangText,
    OtherTSLPointer,
    PostalAddress,
    Qualification,
    SchemeInformation,
    ServiceHistoryInstance,
    TrustServiceProvider,
    TSPService,
    build_trusted_list,
    parse_trusted_list,
    sign_trusted_list,
    subject_key_identifier,
    verify_pointed_list,
    verify_trusted_list,
)
from portfeil.pki.ca import IssuedCertificate, create_root_ca, issue_leaf
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)

EN_BG = (LangText("en", "{en}"), LangText("bg", "{bg}"))


def _names(en: str, bg: str) -> tuple[LangText, ...]:
    return (LangText("en", en), LangText("bg", bg))


ADDRESS = Address(
    postal=(
        PostalAddress("en", "1 Example Str.", "Sofia", "BG", "1000"),
        PostalAddress("bg", "ул. Примерна 1", "София", "BG", "1000"),
    ),
    electronic=(LangText("en", "mailto:trust@portfeil.example"), LangText("en", "https://portfeil.example/")),
)


def _operator() -> tuple[IssuedCertificate, ec.EllipticCurvePrivateKey, x509.Certificate]:
    root = create_root_ca("Portfeil TSL Root", Role.TSL_OPERATOR, now=NOW - timedelta(days=1))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_leaf(root, "Portfeil Trusted List Operator", key.public_key(), Role.TSL_OPERATOR, now=NOW)
    return root, key, cert


OP_ROOT, OP_KEY, OP_CERT = _operator()
PID_CA = create_root_ca("Portfeil PID Provider CA", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
WALLET_CA = create_root_ca("Portfeil Wallet Provider CA", Role.WALLET_PROVIDER, now=NOW - timedelta(days=1))
ACCESS_CA = create_root_ca("Portfeil Access Certificate CA", Role.RP_ACCESS, now=NOW - timedelta(days=1))


def _service(type_uri: str, name: str, ca: IssuedCertificate, **kw: object) -> TSPService:
    ski = subject_key_identifier(ca.certificate)
    assert ski is not None
    return TSPService(
        type_identifier=type_uri,
        names=_names(name, name + " (BG)"),
        identity=DigitalIdentity(
            certificates=(ca.certificate,), subject_names=(ca.certificate.subject.rfc4514_string(),), skis=(ski,)
        ),
        status=STATUS_GRANTED,
        status_starting_time=NOW - timedelta(hours=1),
        **kw,  # type: ignore[arg-type]
    )


def sample_scheme(sequence: int = 1, tsl_type: str = PORTFEIL_TSL_TYPE_EUDI) -> SchemeInformation:
    return SchemeInformation(
        sequence_number=sequence,
        tsl_type=tsl_type,
        operator_names=_names("Portfeil Trust Registry", "Регистър на доверието Портфейл"),
        operator_address=ADDRESS,
        scheme_names=_names("BG: EUDI trusted entities (test)", "BG: доверени субекти EUDI (тест)"),
        information_uris=(LangText("en", "https://portfeil.example/trusted-list"),),
        status_determination_approach=PORTFEIL_STATUS_DETERMINATION,
        community_rules=(LangText("en", PORTFEIL_SCHEME_RULES),),
        territory="BG",
        legal_notices=_names("Test list, no legal effect.", "Тестов списък без правно действие."),
        issue_date=NOW,
        next_update=LATER,
        distribution_points=("https://portfeil.example/trusted-list/tl.xml",),
    )


def sample_tsps() -> tuple[TrustServiceProvider, ...]:
    pid = TrustServiceProvider(
        names=_names("Ministry of Interior (PID provider)", "Министерство на вътрешните работи"),
        trade_names=(LangText("en", "NTRBG-000695235"),),
        address=ADDRESS,
        information_uris=(LangText("en", "https://portfeil.example/pid"),),
        services=(
            _service(
                SVC_TYPE_PID_ISSUANCE,
                "PID issuance",
                PID_CA,
                supply_points=("https://portfeil.example/issuer",),
                definition_uris=(LangText("en", "https://portfeil.example/pid/policy"),),
                additional_information=("https://portfeil.example/trusted-list/SvcInfoExt/PID",),
                history=(
                    ServiceHistoryInstance(
                        type_identifier=SVC_TYPE_PID_ISSUANCE,
                        names=_names("PID issuance (pilot)", "Издаване на PID (пилот)"),
                        identity=DigitalIdentity(skis=(b"\x01" * 20,)),
                        status=STATUS_WITHDRAWN,
                        status_starting_time=NOW - timedelta(days=90),
                    ),
                ),
            ),
            _service(
                SVC_TYPE_PID_REVOCATION,
                "PID status list",
                PID_CA,
                qualifications=(Qualification(("https://portfeil.example/q/1",), ("1.2.3.4",), "atLeastOne"),),
            ),
        ),
    )
    wallet = TrustServiceProvider(
        names=_names("Portfeil Wallet Provider", "Доставчик на портфейл Портфейл"),
        address=ADDRESS,
        information_uris=(LangText("en", "https://portfeil.example/wallet"),),
        services=(_service(SVC_TYPE_WALLET_ISSUANCE, "Wallet unit attestations", WALLET_CA),),
    )
    access = TrustServiceProvider(
        names=_names("Portfeil Access CA", "Удостоверяващ орган за достъп"),
        address=ADDRESS,
        information_uris=(LangText("en", "https://portfeil.example/access"),),
        services=(_service(SVC_TYPE_WRPAC_ISSUANCE, "Relying party access certificates", ACCESS_CA),),
    )
    return (pid, wallet, access)


def signed_sample(sequence: int = 1) -> bytes:
    return sign_trusted_list(build_trusted_list(sample_scheme(sequence), sample_tsps()), OP_KEY, [OP_CERT], now=NOW)


SIGNED = signed_sample()


# --- round trip --------------------------------------------------------------------------------------------------


def test_build_parse_roundtrip_is_exact() -> None:
    xml = build_trusted_list(sample_scheme(), sample_tsps())
    tl = parse_trusted_list(xml)
    assert tl.scheme == sample_scheme()
    assert tl.providers == sample_tsps()
    assert tl.list_id == "TSL"


def test_sign_and_verify_roundtrip_ecdsa_p256() -> None:
    tl = verify_trusted_list(SIGNED, OP_CERT, now=NOW + timedelta(minutes=1))
    assert tl.scheme == sample_scheme()
    assert tl.providers == sample_tsps()
    assert tl.signer == OP_CERT
    assert tl.signing_time == NOW
    assert b"ecdsa-sha256" in SIGNED
    assert b"xml-exc-c14n" in SIGNED


def test_sign_and_verify_roundtrip_rsa() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RSA TSL signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    signed = sign_trusted_list(build_trusted_list(sample_scheme(), sample_tsps()), key, [cert], now=NOW)
    assert b"rsa-sha256" in signed
    tl = verify_trusted_list(signed, cert, now=NOW)
    assert tl.providers == sample_tsps()
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(signed, OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_signer_not_pinned"


def test_every_reference_names_its_canonicalisation_and_plain_signxml_verifies() -> None:
    root = etree.fromstring(SIGNED)
    refs = root.findall(f"{{{NS_DS}}}Signature/{{{NS_DS}}}SignedInfo/{{{NS_DS}}}Reference")
    assert len(refs) == 3  # the list, the SignedProperties, the KeyInfo
    for ref in refs:
        algs = [t.get("Algorithm") for t in ref.iterfind(f"{{{NS_DS}}}Transforms/{{{NS_DS}}}Transform")]
        assert CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value in algs
    # an independent verification path: signxml with its default configuration
    XAdESVerifier().verify(SIGNED, x509_cert=OP_CERT, expect_config=XAdESSignatureConfiguration(verification_time=NOW))


def test_signxml_xades_signer_fails_its_own_exclusive_c14n_signature() -> None:
    """Documents the flaw SPECS.md §6 mentions (and why sign_trusted_list patches the signer): signxml 5.x's
    XAdESSigner digests SignedProperties with exclusive C14N but writes no Transform, so its verifier (default
    C14N 1.1) rejects the result. If this starts failing, signxml fixed it and the workaround can go."""
    root = etree.fromstring(build_trusted_list(sample_scheme(), sample_tsps()))
    signer = XAdESSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = etree.tostring(signer.sign(root, key=OP_KEY, cert=[OP_CERT]))
    with pytest.raises(InvalidDigest):
        XAdESVerifier().verify(signed, x509_cert=OP_CERT, expect_config=XAdESSignatureConfiguration())


def test_published_list_queries() -> None:
    tl = verify_trusted_list(SIGNED, OP_CERT, now=NOW)
    assert tl.trust_anchors(SVC_TYPE_PID_ISSUANCE) == [PID_CA.certificate]
    assert tl.trust_anchors(SVC_TYPE_WALLET_ISSUANCE) == [WALLET_CA.certificate]
    assert tl.trust_anchors(SVC_TYPE_WRPAC_ISSUANCE) == [ACCESS_CA.certificate]
    assert tl.trust_anchors(SVC_TYPE_PID_ISSUANCE, STATUS_WITHDRAWN) == []
    svc = tl.providers[0].services[0]
    assert svc.status_at(NOW - timedelta(days=10)) == STATUS_WITHDRAWN
    assert svc.status_at(NOW) == STATUS_GRANTED
    # lookup of the service that issued a PID signing (DS) certificate
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = issue_leaf(PID_CA, "PID DS 1", ds_key.public_key(), Role.PID_PROVIDER, now=NOW)
    match = tl.find_issuer(ds)
    assert match is not None
    assert match.provider.name() == "Ministry of Interior (PID provider)"
    assert match.service.type_identifier == SVC_TYPE_PID_ISSUANCE
    assert match.signature_verified


def test_find_issuer_rejects_forged_signature() -> None:
    """Same issuer DN and AKI as a listed CA, but signed by another key: no match."""
    tl = verify_trusted_list(SIGNED, OP_CERT, now=NOW)
    ds_key = ec.generate_private_key(ec.SECP256R1())
    real = issue_leaf(PID_CA, "PID DS 1", ds_key.public_key(), Role.PID_PROVIDER, now=NOW)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    forged = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(ds_key.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
        .add_extension(real.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value, critical=False)
        .sign(rogue_key, hashes.SHA256())
    )
    assert tl.find_issuer(real) is not None
    assert tl.find_issuer(forged) is None


# --- negative tests on our own signed list -----------------------------------------------------------------------


def test_rejects_tampered_published_tsp_name() -> None:
    tampered = SIGNED.replace(b"Portfeil Wallet Provider<", b"Portfeil Wallet Providex<", 1)
    assert tampered != SIGNED
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(tampered, OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_signature_invalid"


def test_rejects_added_provider_outside_the_signature() -> None:
    root = etree.fromstring(SIGNED)
    tspl = root.find(f"{{{NS_TSL}}}TrustServiceProviderList")
    assert tspl is not None
    tspl.append(etree.fromstring(etree.tostring(tspl[0])))
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(etree.tostring(root), OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_signature_invalid"


def test_rejects_signature_covering_only_part_of_the_list() -> None:
    """A VALID signature whose reference covers only SchemeInformation must not vouch for the providers."""
    root = etree.fromstring(build_trusted_list(sample_scheme(), sample_tsps()))
    root[0].set("Id", "SI")
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = etree.tostring(signer.sign(root, key=OP_KEY, cert=[OP_CERT], reference_uri="#SI"))
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(signed, OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_signature_partial"


def test_rejects_signature_wrapping() -> None:
    """Move the genuine signed list inside an attacker's list that carries its own (fake) providers."""
    genuine = etree.fromstring(SIGNED)
    sig = genuine.find(f"{{{NS_DS}}}Signature")
    assert sig is not None
    for attacker_id in ("EVIL", "TSL"):
        fake = etree.fromstring(build_trusted_list(sample_scheme(sequence=999), sample_tsps()[:1], list_id=attacker_id))
        holder = etree.SubElement(fake[0], f"{{{NS_TSL}}}SchemeExtensions")
        inner = etree.fromstring(etree.tostring(genuine))
        inner.remove(inner.find(f"{{{NS_DS}}}Signature"))  # type: ignore[arg-type]
        holder.append(inner)
        fake.append(etree.fromstring(etree.tostring(sig)))
        with pytest.raises(FormatError) as exc:
            verify_trusted_list(etree.tostring(fake), OP_CERT, now=NOW)
        assert exc.value.code in {"trusted_list_signature_partial", "trusted_list_signature_invalid"}


def test_rejects_removed_signature_on_published_list() -> None:
    unsigned = build_trusted_list(sample_scheme(), sample_tsps())
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(unsigned, OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_unsigned"


def test_rejects_rollback_of_published_list() -> None:
    v2 = signed_sample(sequence=2)
    assert verify_trusted_list(v2, OP_CERT, now=NOW, min_sequence=2).scheme.sequence_number == 2
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(SIGNED, OP_CERT, now=NOW, min_sequence=2)
    assert exc.value.code == "trusted_list_rollback"


def test_rejects_expired_published_list() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(SIGNED, OP_CERT, now=LATER)
    assert exc.value.code == "trusted_list_expired"


def test_rejects_closed_list_without_next_update() -> None:
    scheme = sample_scheme()
    closed = SchemeInformation(**{**scheme.__dict__, "next_update": None})
    signed = sign_trusted_list(build_trusted_list(closed, ()), OP_KEY, [OP_CERT], now=NOW)
    assert parse_trusted_list(signed).scheme.next_update is None
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(signed, OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_expired"


def test_rejects_wrong_type_of_published_list() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(SIGNED, OP_CERT, now=NOW, expected_types=TSL_TYPE_EU_GENERIC)
    assert exc.value.code == "trusted_list_wrong_type"


def test_rejects_expired_signer_certificate() -> None:
    scheme = SchemeInformation(**{**sample_scheme().__dict__, "next_update": NOW + timedelta(days=800)})
    signed = sign_trusted_list(build_trusted_list(scheme, ()), OP_KEY, [OP_CERT], now=NOW)
    with pytest.raises(FormatError) as exc:  # the operator certificate lives 365 days
        verify_trusted_list(signed, OP_CERT, now=NOW + timedelta(days=400))
    assert exc.value.code == "trusted_list_signer_expired"


def test_sign_refuses_expired_or_missing_signer() -> None:
    xml = build_trusted_list(sample_scheme(), ())
    with pytest.raises(FormatError) as exc:
        sign_trusted_list(xml, OP_KEY, [OP_CERT], now=NOW + timedelta(days=400))
    assert exc.value.code == "trusted_list_signer_expired"
    with pytest.raises(FormatError) as exc:
        sign_trusted_list(xml, OP_KEY, [], now=NOW)
    assert exc.value.code == "trusted_list_signer_unknown"


def test_build_refuses_naive_times() -> None:
    scheme = SchemeInformation(**{**sample_scheme().__dict__, "issue_date": datetime(2026, 1, 1)})
    with pytest.raises(FormatError):
        build_trusted_list(scheme, ())


# --- fuzz: only FormatError escapes ------------------------------------------------------------------------------

_REAL_BG = (Path(__file__).parent.parent / "fixtures" / "TSL_BG.xml").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SIGNED) - 1), st.integers(0, 255))
def test_fuzz_byte_mutation_of_signed_list(pos: int, value: int) -> None:
    mutated = SIGNED[:pos] + bytes([value]) + SIGNED[pos + 1 :]
    with contextlib.suppress(FormatError):
        tl = verify_trusted_list(mutated, OP_CERT, now=NOW)
        # a mutation that still verifies may only have touched bytes outside the signed content's meaning
        assert tl.providers == sample_tsps()


_XML_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_element_removal_and_text_mangling(data: st.DataObject) -> None:
    root = etree.fromstring(SIGNED)
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    victim = data.draw(st.sampled_from(elements))
    action = data.draw(st.sampled_from(["remove", "text", "attr"]))
    if action == "remove":
        parent = victim.getparent()
        assert parent is not None
        parent.remove(victim)
    elif action == "text":
        victim.text = data.draw(st.text(alphabet=_XML_CHARS, max_size=30))
    else:
        victim.set("Id", data.draw(st.text(alphabet="abcTSL#", max_size=5)))
    blob = etree.tostring(root)
    with contextlib.suppress(FormatError):
        parse_trusted_list(blob)
    with contextlib.suppress(FormatError):
        verify_trusted_list(blob, OP_CERT, now=NOW)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_REAL_BG) - 1), st.binary(min_size=1, max_size=8))
def test_fuzz_real_list_splice_parse_only_format_error(pos: int, junk: bytes) -> None:
    mutated = _REAL_BG[:pos] + junk + _REAL_BG[pos + len(junk) :]
    with contextlib.suppress(FormatError):
        parse_trusted_list(mutated)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=_XML_CHARS, max_size=12))
def test_fuzz_scheme_values_only_format_error(value: str) -> None:
    base = build_trusted_list(sample_scheme(), sample_tsps())
    for field in (
        "TSLSequenceNumber",
        "ListIssueDateTime",
        "TSLVersionIdentifier",
        "HistoricalInformationPeriod",
        "StatusStartingTime",
        "X509Certificate",
        "X509SKI",
        "ServiceStatus",
        "TSLType",
    ):
        root = etree.fromstring(base)
        for el in root.iter(f"{{{NS_TSL}}}{field}"):
            el.text = value
        with contextlib.suppress(FormatError):
            parse_trusted_list(etree.tostring(root))


def test_service_with_unknown_critical_extension_is_not_a_trust_anchor() -> None:
    """TS 119 612 §5.5.9: a critical extension the reader does not understand makes the entry unusable."""
    root = etree.fromstring(build_trusted_list(sample_scheme(), sample_tsps()))
    info = root.find(f".//{{{NS_TSL}}}ServiceInformation")
    assert info is not None
    exts = info.find(f"{{{NS_TSL}}}ServiceInformationExtensions")
    assert exts is not None
    ext = etree.SubElement(exts, f"{{{NS_TSL}}}Extension", Critical="true")
    etree.SubElement(ext, "{urn:example:unknown}Surprise")
    tl = parse_trusted_list(etree.tostring(root))
    assert tl.providers[0].services[0].unrecognised_critical_extensions == ("Surprise",)
    assert tl.trust_anchors(SVC_TYPE_PID_ISSUANCE) == []
    assert tl.trust_anchors(SVC_TYPE_PID_REVOCATION) == [PID_CA.certificate]
    ext.set("Critical", "false")
    assert parse_trusted_list(etree.tostring(root)).trust_anchors(SVC_TYPE_PID_ISSUANCE) == [PID_CA.certificate]


def test_rejects_ambiguous_list_id() -> None:
    root = etree.fromstring(SIGNED)
    extra = etree.SubElement(root[0], f"{{{NS_TSL}}}SchemeExtensions")
    extra.set("ID", "TSL")
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(etree.tostring(root), OP_CERT, now=NOW)
    assert exc.value.code == "trusted_list_signature_invalid"


def test_publish_a_list_of_lists_and_follow_its_pointers() -> None:
    """Our own LOTL points to the BG EUDI list with the operator certificate; a list claiming another territory
    but signed with a certificate announced for RO is refused on territory."""
    lotl_key = ec.generate_private_key(ec.SECP256R1())
    lotl_cert = issue_leaf(OP_ROOT, "Portfeil LOTL signer", lotl_key.public_key(), Role.TSL_OPERATOR, now=NOW)
    pointers = tuple(
        OtherTSLPointer(
            location=f"https://portfeil.example/trusted-list/{t}.xml",
            certificates=(OP_CERT,),
            territory=t,
            tsl_type=PORTFEIL_TSL_TYPE_EUDI,
            mime_type=MIME_TSL_XML,
            operator_names=(LangText("en", "Portfeil Trust Registry"),),
            community_rules=(LangText("en", PORTFEIL_SCHEME_RULES),),
        )
        for t in ("BG", "RO")
    )
    scheme = SchemeInformation(
        **{**sample_scheme().__dict__, "tsl_type": TSL_TYPE_EU_LOTL, "territory": "EU", "pointers": pointers}
    )
    lotl_xml = sign_trusted_list(build_trusted_list(scheme, ()), lotl_key, [lotl_cert], now=NOW)
    lotl = verify_trusted_list(lotl_xml, lotl_cert, now=NOW, expected_types=TSL_TYPE_EU_LOTL)
    assert lotl.scheme.pointers == pointers
    bg = verify_pointed_list(lotl, "BG", SIGNED, now=NOW)
    assert bg.providers == sample_tsps()
    with pytest.raises(FormatError) as exc:
        verify_pointed_list(lotl, "RO", SIGNED, now=NOW)
    assert exc.value.code == "trusted_list_wrong_territory"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_verify_random_bytes_only_format_error(data: bytes) -> None:
    with pytest.raises(FormatError):
        verify_trusted_list(data, OP_CERT, now=NOW)


def test_rejects_naive_now() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(SIGNED, OP_CERT, now=datetime(2026, 11, 23, 12, 0))
    assert exc.value.code == "naive_datetime"


def _child_orders(root: etree._Element) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{NS_TSL}}}"):
            kids = [etree.QName(c).localname for c in el if isinstance(c.tag, str)]
            out.setdefault(etree.QName(el).localname, []).append(kids)
    return out


def test_built_list_uses_the_element_order_of_the_real_lists() -> None:
    """Without the ETSI XSD at hand: every pair of sibling elements we write comes in the order Bulgaria's list and
    the EU LOTL (both passing the EU's schema checks) use for them."""
    before: set[tuple[str, str, str]] = set()  # (container, a, b): a precedes b in a published list
    for xml in (_REAL_BG, (Path(__file__).parent.parent / "fixtures" / "eu-lotl.xml").read_bytes()):
        for container, sequences in _child_orders(etree.fromstring(xml)).items():
            for seq in sequences:
                names = list(dict.fromkeys(seq))
                before.update((container, a, b) for i, a in enumerate(names) for b in names[i + 1 :])
    checked = 0
    for xml in (signed_sample(), build_trusted_list(sample_scheme(), sample_tsps())):
        for container, sequences in _child_orders(etree.fromstring(xml)).items():
            for seq in sequences:
                names = list(dict.fromkeys(seq))
                for i, a in enumerate(names):
                    for b in names[i + 1 :]:
                        assert (container, b, a) not in before, (container, a, b)
                        checked += (container, a, b) in before
    assert checked > 100
