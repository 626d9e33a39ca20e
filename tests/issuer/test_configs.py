"""Credential configurations are data: a new file adds an attestation with no code; malformed files are refused
with IssuerError only (hypothesis); the mapping follows the PID Rulebook names."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.issuer import mapping
from portfeil.issuer.configs import CONFIG_DIR, load_settings, parse_attestation
from portfeil.issuer.errors import IssuerError
from portfeil.sources.registry import AddressRecord, Names, PersonRecord, Place


def test_new_attestation_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "age_proof.json").write_text(json.dumps({
        "id": "age_over_18_sd_jwt", "format": "dc+sd-jwt", "scope": "bg.age", "vct": "urn:bg:age:1",
        "display": {"bg": "Пълнолетие", "en": "Proof of age"},
        "claims": [{"path": ["age_equal_or_over", "18"], "display": {"bg": "18+", "en": "18+"}}]}))
    s = load_settings([CONFIG_DIR, tmp_path])
    cfg = s.configurations["age_over_18_sd_jwt"]
    md = cfg.protocol().to_dict()
    assert md["vct"] == "urn:bg:age:1"
    assert md["credential_metadata"]["claims"][0]["path"] == ["age_equal_or_over", "18"]
    assert {"pid_sd_jwt", "pid_mdoc"} <= set(s.configurations)


def test_rejects_configuration_without_bulgarian_display() -> None:
    with pytest.raises(IssuerError) as exc:
        parse_attestation({"id": "x", "format": "dc+sd-jwt", "scope": "x", "vct": "v", "display": {"en": "X"},
                           "claims": [{"path": ["a"], "display": {"bg": "a", "en": "a"}}]})
    assert exc.value.code == "invalid_configuration"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=5),
                           max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_attestation_raises_only_issuer_error(obj: object) -> None:
    with contextlib.suppress(IssuerError):
        parse_attestation(obj)


_VALID = {"id": "x", "format": "dc+sd-jwt", "scope": "x", "vct": "v", "display": {"bg": "X", "en": "X"},
          "claims": [{"path": ["a"], "display": {"bg": "a", "en": "a"}}]}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*sorted(_VALID), "validity_days", "proof_signing_alg_values_supported", "deferred"]),
       json_values)
def test_parse_attestation_mutated_field_raises_only_issuer_error(field: str, value: object) -> None:
    with contextlib.suppress(IssuerError):
        parse_attestation({**_VALID, field: value})


def _person(address: bool = True) -> PersonRecord:
    a = AddressRecord(country="BG", locality="София", region="София (столица)", postal_code="1000",
                      street="ул. Шипка", number="12")
    return PersonRecord(
        id="p1", personal_number="8506258485", number_kind="egn",
        names=Names("Иван", "Петров", "Иванов", "Ivan", "Petrov", "Ivanov"), birth_date=date(1985, 6, 25),
        birth_place=Place("BG", "София (столица)", "Столична", "София"), sex=1, nationalities=("BG",),
        permanent_address=a if address else None, current_address=None, date_of_death=None)


def test_mapping_rulebook_names() -> None:
    args = {"today": date(2026, 11, 23), "expiry": date(2027, 2, 21), "issuing_authority": "A",
            "issuing_country": "BG", "document_number": "D1"}
    sd = mapping.sd_jwt_claims(_person(), **args)  # type: ignore[arg-type]
    assert sd["birthdate"] == "1985-06-25"
    assert sd["address"]["street_address"] == "ул. Шипка"
    assert sd["address"]["house_number"] == "12"
    assert sd["age_equal_or_over"] == {"14": True, "16": True, "18": True, "21": True, "65": False}
    md = mapping.mdoc_namespaces(_person(), **args)  # type: ignore[arg-type]
    assert md["eu.europa.ec.eudi.pid.1"]["birth_date"] == date(1985, 6, 25)
    assert md["eu.europa.ec.eudi.pid.1"]["resident_city"] == "София"
    assert md["eu.europa.ec.eudi.pid.1"]["nationality"] == ["BG"]
    assert md["bg.egov.pid.1"]["family_name_latin"] == "Ivanov"
    no_addr = mapping.sd_jwt_claims(_person(address=False), **args)  # type: ignore[arg-type]
    assert "address" not in no_addr


def test_select_claims_and_source_fields() -> None:
    full = {"address": {"locality": "L", "street_address": "S"}, "given_name": "G", "x": 1}
    assert mapping.select_claims(full, [("address", "locality"), ("given_name",)]) == {
        "address": {"locality": "L"}, "given_name": "G"}
    assert mapping.select_claims(full, [("address",)]) == {"address": full["address"]}
    assert mapping.source_fields([("address", "locality"), ("age_equal_or_over", "18")]) == [
        "birth_date", "current_address", "permanent_address"]
    assert mapping.source_fields([("eu.europa.ec.eudi.pid.1", "age_over_18")]) == ["birth_date"]
