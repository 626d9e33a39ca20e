"""Relying-party registrar: validation of registrations, the state machine, registration certificates (WRPRC),
access certificates, and revocation visible in the CRL, the status list and the validation service."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from portfeil.clock import FrozenClock
from portfeil.formats.jws import verify_compact
from portfeil.formats.status_list import INVALID, SUSPENDED, VALID, parse_status_claim, verify_status_list_jwt
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.certs import san_dns_names
from portfeil.pki.roles import Role
from portfeil.trust.errors import TrustError
from portfeil.trust.registrar import REGISTRATION_CERTIFICATE_TYP, parse_intended_uses
from portfeil.trust.registry import TrustRegistry
from tests.trust.conftest import PID_USE, new_key, registration


async def _approved(registry: TrustRegistry, **overrides: Any) -> dict[str, Any]:
    rp = await registry.registrar.register(registration(**overrides))
    return await registry.registrar.approve(rp["id"])


async def _rp_status_bit(registry: TrustRegistry, idx: int) -> int:
    signer = registry.signer(Role.REGISTRAR)
    uri = registry.ctx.url("/trust/status/rp")
    token = await registry.status_lists.token("rp", uri=uri, signer=signer.issued, x5c=list(signer.chain),
                                              now=registry.clock.now())
    verified = verify_status_list_jwt(token, uri=uri, now=registry.clock.now(),
                                      chain_validator=await registry.validator(Role.REGISTRAR))
    return verified.status_of(idx)


async def _crl_serials(registry: TrustRegistry) -> dict[int, x509.ReasonFlags | None]:
    crl = x509.load_der_x509_crl(await registry.registrar.crl())
    assert crl.is_signature_valid(registry.root_certificate(Role.RP_ACCESS).public_key())  # type: ignore[arg-type]
    out: dict[int, x509.ReasonFlags | None] = {}
    for entry in crl:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        out[entry.serial_number] = reason
    return out


async def test_registration_is_pending_and_not_public(registry: TrustRegistry) -> None:
    rp = await registry.registrar.register(registration())
    assert rp["status"] == "pending"
    assert rp["identifier"] == "NTRBG-175074752"
    assert rp["supervisory_authority"]["uri"] == "https://www.cpdp.bg"  # КЗЛД by default
    assert await registry.registrar.list_parties(public=True) == []
    with pytest.raises(TrustError) as err:
        await registry.registrar.get(rp["id"], public=True)
    assert err.value.code == "relying_party_not_found"


@pytest.mark.parametrize("eik", ["175074751", "12345", "17507475A", "1213961230343"])
async def test_rejects_bad_eik(registry: TrustRegistry, eik: str) -> None:
    with pytest.raises(TrustError) as err:
        await registry.registrar.register(registration(eik=eik))
    assert err.value.code == "invalid_eik"


async def test_accepts_13_digit_eik(registry: TrustRegistry) -> None:
    assert (await registry.registrar.register(registration(eik="1213961230342")))["eik"] == "1213961230342"


@pytest.mark.parametrize(
    "bad_use",
    [
        {"purpose": {"bg": "x"}, "credentials": PID_USE["credentials"]},  # English missing
        {"purpose": PID_USE["purpose"], "credentials": []},
        {"purpose": PID_USE["purpose"], "credentials": [{"format": "dc+sd-jwt", "claims": [["given_name"]]}]},
        {"purpose": PID_USE["purpose"],
         "credentials": [{"format": "mso_mdoc", "doctype": "eu.europa.ec.eudi.pid.1", "claims": [["given_name"]]}]},
        {"purpose": PID_USE["purpose"],
         "credentials": [{"format": "dc+sd-jwt", "vct": "urn:eudi:pid:1", "claims": [["address", None]]}]},
        {"purpose": PID_USE["purpose"],
         "credentials": [{"format": "ldp_vc", "vct": "urn:eudi:pid:1", "claims": [["given_name"]]}]},
    ],
)
async def test_rejects_invalid_intended_use(registry: TrustRegistry, bad_use: dict[str, Any]) -> None:
    with pytest.raises(TrustError) as err:
        await registry.registrar.register(registration(intended_uses=[bad_use]))
    assert err.value.code == "invalid_relying_party"
    with pytest.raises(TrustError) as err2:
        parse_intended_uses([bad_use])
    assert err2.value.code == "invalid_intended_use"


@pytest.mark.parametrize(("field", "value"), [("dns", "not a host"), ("privacy_policy_url", "ftp://x"),
                                               ("legal_name", "")])
async def test_rejects_invalid_registration_fields(registry: TrustRegistry, field: str, value: str) -> None:
    with pytest.raises(TrustError) as err:
        await registry.registrar.register(registration(**{field: value}))
    assert err.value.code == "invalid_relying_party"
    assert any(field in f for f in err.value.details["fields"])


async def test_state_machine_and_refused_transitions(registry: TrustRegistry) -> None:
    rp = await registry.registrar.register(registration())
    rid = rp["id"]
    for action in ("suspend", "reinstate"):
        with pytest.raises(TrustError) as err:
            await getattr(registry.registrar, action)(rid, "because")
        assert err.value.code == "invalid_transition"
        assert err.value.status == 409
    assert (await registry.registrar.approve(rid))["status"] == "approved"
    with pytest.raises(TrustError) as err:
        await registry.registrar.approve(rid)
    assert err.value.code == "invalid_transition"
    with pytest.raises(TrustError) as err:
        await registry.registrar.suspend(rid, "  ")
    assert err.value.code == "reason_required"
    assert (await registry.registrar.suspend(rid, "complaint under review"))["status"] == "suspended"
    assert (await registry.registrar.reinstate(rid, "complaint resolved"))["status"] == "approved"
    assert (await registry.registrar.deregister(rid, "ceased trading"))["status"] == "deregistered"
    with pytest.raises(TrustError) as err:
        await registry.registrar.approve(rid)
    assert err.value.code == "invalid_transition"
    for action in ("suspend", "reinstate", "deregister"):
        with pytest.raises(TrustError) as err:
            await getattr(registry.registrar, action)(rid, "again")
        assert err.value.code == "invalid_transition"
    history = await registry.registrar.events(rid)
    assert [e["to"] for e in history] == ["pending", "approved", "suspended", "approved", "deregistered"]
    assert history[-1]["reason"] == "ceased trading"


async def test_rejects_transition_of_unknown_party(registry: TrustRegistry) -> None:
    with pytest.raises(TrustError) as err:
        await registry.registrar.approve("00000000-0000-0000-0000-000000000000")
    assert err.value.code == "relying_party_not_found"


async def test_registration_certificate_verifies_and_lists_uses(registry: TrustRegistry) -> None:
    rp = await _approved(registry)
    rcs = await registry.registrar.registration_certificates(rp["id"])
    assert len(rcs) == 2  # one per intended use
    validator = await registry.validator(Role.REGISTRAR)
    payloads = []
    for rc in rcs:
        verified = verify_compact(rc["jwt"], trust=validator, now=registry.clock.now(),
                                  typ=REGISTRATION_CERTIFICATE_TYP)
        payloads.append(verified.payload)
    by_use = {p["intended_use_id"]: p for p in payloads}
    age = next(p for p in payloads if p["purpose"][1]["value"] == "Age verification")
    assert age["sub"] == "NTRBG-175074752"
    assert age["sub_ln"] == "Магазин ЕООД"
    assert age["country"] == "BG"
    assert age["entitlements"] == ["https://uri.etsi.org/19475/Entitlement/Service_Provider"]
    assert age["credentials"][0] == {"format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
                                     "claim": [{"path": ["age_equal_or_over", "18"]}]}
    assert age["credentials"][1]["meta"] == {"doctype_value": "eu.europa.ec.eudi.pid.1"}
    assert age["exp"] - age["iat"] <= 366 * 86400
    ref = parse_status_claim(age["status"])
    assert ref.uri == registry.ctx.url("/trust/status/rp")
    assert len(by_use) == 2
    assert len({p["status"]["status_list"]["idx"] for p in payloads}) == 2


async def test_rejects_forged_registration_certificate(registry: TrustRegistry) -> None:
    rp = await _approved(registry)
    jwt = (await registry.registrar.registration_certificates(rp["id"]))[0]["jwt"]
    head, body, sig = jwt.split(".")
    forged = head + "." + body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB") + "." + sig
    from portfeil.formats.errors import FormatError

    with pytest.raises(FormatError):
        verify_compact(forged, trust=await registry.validator(Role.REGISTRAR), now=registry.clock.now())


async def test_access_certificate_chains_to_rp_access_root_with_san_dns(registry: TrustRegistry) -> None:
    rp = await _approved(registry)
    issued = await registry.registrar.issue_access_certificate(rp["id"], generate=True)
    assert issued.private_key is not None
    leaf = issued.chain[0]
    assert leaf.public_key() == issued.private_key.public_key()
    assert san_dns_names(leaf) == ["shop.example"]
    validator = await registry.validator(Role.RP_ACCESS)
    assert validator.validate_certs(issued.chain, now=registry.clock.now()) == leaf
    # from a public key: nothing private comes back
    key = new_key()
    from_pub = await registry.registrar.issue_access_certificate(rp["id"], public_key=key.public_key())
    assert from_pub.private_key is None
    assert from_pub.chain[0].public_key() == key.public_key()


async def test_access_certificate_from_csr(registry: TrustRegistry) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    rp = await _approved(registry)
    key = new_key()
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop")]))
           .sign(key, hashes.SHA256()))
    issued = await registry.registrar.issue_access_certificate(rp["id"], csr_pem=csr.public_bytes(Encoding.PEM))
    assert issued.chain[0].public_key() == key.public_key()


async def test_rejects_csr_with_bad_signature(registry: TrustRegistry) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    rp = await _approved(registry)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop")]))
           .sign(new_key(), hashes.SHA256()))
    der = bytearray(csr.public_bytes(Encoding.DER))
    der[-5] ^= 0x01  # corrupt the signature
    with pytest.raises(TrustError) as err:
        await registry.registrar.issue_access_certificate(rp["id"], csr_pem=bytes(der))
    assert err.value.code == "invalid_csr"


async def test_rejects_access_certificate_for_unapproved_party(registry: TrustRegistry) -> None:
    rp = await registry.registrar.register(registration())
    with pytest.raises(TrustError) as err:
        await registry.registrar.issue_access_certificate(rp["id"], generate=True)
    assert err.value.code == "relying_party_not_approved"
    with pytest.raises(TrustError) as err:
        await registry.registrar.issue_access_certificate(rp["id"], generate=True, public_key=new_key().public_key())
    assert err.value.code == "invalid_certificate_request"


async def test_suspension_and_deregistration_visible_in_crl_status_list_and_validation(
    registry: TrustRegistry, clock: FrozenClock
) -> None:
    rp = await _approved(registry)
    rid = rp["id"]
    other = await _approved(registry, legal_name="Друг ООД", eik="177480148", dns="other.example")
    issued = await registry.registrar.issue_access_certificate(rid, generate=True)
    other_cert = await registry.registrar.issue_access_certificate(other["id"], generate=True)
    serial = issued.chain[0].serial_number
    signer_key = registry.signer(Role.REGISTRAR).certificate.public_key()
    rcs = await registry.registrar.registration_certificates(rid)
    idxs = [int(verify_compact(rc["jwt"], key=signer_key).payload["status"]["status_list"]["idx"])  # type: ignore[arg-type]
            for rc in rcs]
    assert serial not in await _crl_serials(registry)
    assert [await _rp_status_bit(registry, i) for i in idxs] == [VALID, VALID]
    answer = await registry.registrar.validate_access_certificate(issued.chain)
    assert answer["registered"] is True
    assert answer["chain_valid"] is True
    assert answer["relying_party"]["identifier"] == "NTRBG-175074752"
    assert [u["purpose"]["en"] for u in answer["intended_uses"]] == ["Age verification", "Account login"]

    await registry.registrar.suspend(rid, "under investigation")
    assert (await _crl_serials(registry))[serial] == x509.ReasonFlags.certificate_hold
    assert [await _rp_status_bit(registry, i) for i in idxs] == [SUSPENDED, SUSPENDED]
    answer = await registry.registrar.validate_access_certificate(issued.chain)
    assert answer["registered"] is False
    assert answer["certificate_status"] == "suspended"
    assert (await registry.registrar.status(rid))["status"] == "suspended"

    await registry.registrar.reinstate(rid, "cleared")
    assert serial not in await _crl_serials(registry)
    assert [await _rp_status_bit(registry, i) for i in idxs] == [VALID, VALID]

    crl_before = x509.load_der_x509_crl(await registry.registrar.crl())
    await registry.registrar.deregister(rid, "stopped the service")
    crl_after = x509.load_der_x509_crl(await registry.registrar.crl())
    assert (await _crl_serials(registry))[serial] == x509.ReasonFlags.cessation_of_operation
    number = crl_after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > crl_before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert [await _rp_status_bit(registry, i) for i in idxs] == [INVALID, INVALID]
    answer = await registry.registrar.validate_access_certificate(issued.chain)
    assert answer["registered"] is False
    assert answer["certificate_status"] == "revoked"
    assert answer["relying_party"]["status"] == "deregistered"
    # the other party is untouched
    assert (await registry.registrar.validate_access_certificate(other_cert.chain))["registered"] is True
    assert other_cert.chain[0].serial_number not in await _crl_serials(registry)


async def test_validation_of_foreign_certificate(registry: TrustRegistry) -> None:
    now = registry.clock.now()
    foreign = create_root_ca("foreign access CA", Role.RP_ACCESS, now=now)
    leaf = issue_leaf(foreign, "foreign rp", new_key().public_key(), Role.RP_ACCESS, now=now, san_dns=["x.example"])
    answer = await registry.registrar.validate_access_certificate([leaf])
    assert answer["chain_valid"] is False
    assert answer["chain_error"] == "untrusted_chain"
    assert answer["registered"] is False
    assert answer["certificate_status"] == "not_issued_by_this_registry"
