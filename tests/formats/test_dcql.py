"""DCQL (OpenID4VP 1.0 §6) and claims path pointers (§7): the spec's examples and hand-made cases."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography import x509

from portfeil.formats import FormatError
from portfeil.formats.dcql import (
    CandidateCredential,
    CredentialMatch,
    DcqlQuery,
    match_credential,
    match_query,
    select_json_claims,
    select_mdoc_claim,
)

# --- spec examples (OpenID4VP 1.0 §6.5 and Appendix D "Examples for DCQL Queries") ---------------------------------

SIMPLE: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["family_name"]},
                {"path": ["given_name"]},
                {"path": ["address", "street_address"]},
            ],
        }
    ]
}

SIMPLE_MDOC: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "org.iso.7367.1.mVRC"},
            "claims": [
                {"path": ["org.iso.7367.1", "vehicle_holder"]},
                {"path": ["org.iso.18013.5.1", "given_name"]},
            ],
        }
    ]
}

MULTI_CREDENTIALS: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["given_name"]},
                {"path": ["family_name"]},
                {"path": ["address", "street_address"]},
            ],
        },
        {
            "id": "mdl",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "org.iso.7367.1.mVRC"},
            "claims": [
                {"path": ["org.iso.7367.1", "vehicle_holder"]},
                {"path": ["org.iso.18013.5.1", "given_name"]},
            ],
        },
    ]
}


def _sd(cid: str, vct: str, claims: list[str]) -> dict[str, Any]:
    return {
        "id": cid,
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [vct]},
        "claims": [{"path": c.split(".")} for c in claims],
    }


CREDENTIALS_ALTERNATIVES: dict[str, Any] = {
    "credentials": [
        _sd(
            "pid",
            "https://credentials.example.com/identity_credential",
            ["given_name", "family_name", "address.street_address"],
        ),
        _sd(
            "other_pid", "https://othercredentials.example/pid", ["given_name", "family_name", "address.street_address"]
        ),
        _sd(
            "pid_reduced_cred_1",
            "https://credentials.example.com/reduced_identity_credential",
            ["family_name", "given_name"],
        ),
        _sd("pid_reduced_cred_2", "https://cred.example/residence_credential", ["postal_code", "locality", "region"]),
        _sd("nice_to_have", "https://company.example/company_rewards", ["rewards_number"]),
    ],
    "credential_sets": [
        {"options": [["pid"], ["other_pid"], ["pid_reduced_cred_1", "pid_reduced_cred_2"]]},
        {"required": False, "options": [["nice_to_have"]]},
    ],
}


def _mdoc_q(cid: str, doctype: str, elements: list[str]) -> dict[str, Any]:
    return {
        "id": cid,
        "format": "mso_mdoc",
        "meta": {"doctype_value": doctype},
        "claims": [{"id": e, "path": ["org.iso.18013.5.1", e]} for e in elements],
    }


COMPLEX_MDOC: dict[str, Any] = {
    "credentials": [
        _mdoc_q("mdl-id", "org.iso.18013.5.1.mDL", ["given_name", "family_name", "portrait"]),
        _mdoc_q("mdl-address", "org.iso.18013.5.1.mDL", ["resident_address", "resident_country"]),
        _mdoc_q("photo_card-id", "org.iso.23220.photoid.1", ["given_name", "family_name", "portrait"]),
        _mdoc_q("photo_card-address", "org.iso.23220.photoid.1", ["resident_address", "resident_country"]),
    ],
    "credential_sets": [
        {"options": [["mdl-id"], ["photo_card-id"]]},
        {"required": False, "options": [["mdl-address"], ["photo_card-address"]]},
    ],
}

CLAIMS_ALTERNATIVES: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"id": "a", "path": ["last_name"]},
                {"id": "b", "path": ["postal_code"]},
                {"id": "c", "path": ["locality"]},
                {"id": "d", "path": ["region"]},
                {"id": "e", "path": ["date_of_birth"]},
            ],
            "claim_sets": [["a", "c", "d", "e"], ["a", "b", "e"]],
        }
    ]
}

VALUE_MATCHING: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["family_name"], "values": ["Doe"]},
                {"path": ["given_name"]},
                {"path": ["address", "street_address"]},
                {"path": ["postal_code"], "values": ["90210", "90211"]},
            ],
        }
    ]
}

ALL_EXAMPLES = [SIMPLE, SIMPLE_MDOC, MULTI_CREDENTIALS, CREDENTIALS_ALTERNATIVES, COMPLEX_MDOC]
ALL_EXAMPLES += [CLAIMS_ALTERNATIVES, VALUE_MATCHING]

ID_VCT = "https://credentials.example.com/identity_credential"


def sd(cid: str, vct: str, claims: dict[str, Any], **kw: Any) -> CandidateCredential:
    return CandidateCredential(id=cid, format="dc+sd-jwt", vct=vct, claims=claims, **kw)


def mdoc(cid: str, doctype: str, namespaces: dict[str, dict[str, Any]], **kw: Any) -> CandidateCredential:
    return CandidateCredential(id=cid, format="mso_mdoc", doctype=doctype, claims=namespaces, **kw)


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_spec_examples_parse_and_roundtrip(example: dict[str, Any]) -> None:
    q = DcqlQuery.parse(example)
    assert DcqlQuery.parse(q.to_dict()) == q
    assert [c.id for c in q.credentials] == [c["id"] for c in example["credentials"]]


def test_simple_example_matches_sd_jwt_pid() -> None:
    q = DcqlQuery.parse(SIMPLE)
    good = sd("c1", ID_VCT, {"family_name": "Doe", "given_name": "John", "address": {"street_address": "x", "c": 1}})
    other_type = sd(
        "c2", "urn:eudi:pid:1", {"family_name": "Doe", "given_name": "John", "address": {"street_address": "x"}}
    )
    missing = sd("c3", ID_VCT, {"family_name": "Doe", "given_name": "John"})
    result = match_query(q, [good, other_type, missing])
    assert result.can_be_satisfied
    r = result.credentials["my_credential"]
    assert [m.credential_id for m in r.matches] == ["c1"]
    assert r.matches[0].disclose == (("family_name",), ("given_name",), ("address", "street_address"))
    assert r.rejected == {"c2": "vct_mismatch", "c3": "claims_unsatisfied"}
    assert result.selected_query_ids() == ("my_credential",)


def test_simple_mdoc_example() -> None:
    q = DcqlQuery.parse(SIMPLE_MDOC)
    ns: dict[str, dict[str, Any]] = {
        "org.iso.7367.1": {"vehicle_holder": "Ivan"},
        "org.iso.18013.5.1": {"given_name": "Ivan", "x": 1},
    }
    result = match_query(q, [mdoc("m1", "org.iso.7367.1.mVRC", ns), mdoc("m2", "org.iso.18013.5.1.mDL", ns)])
    m = result.credentials["my_credential"]
    assert [x.credential_id for x in m.matches] == ["m1"]
    assert m.matches[0].disclose == (("org.iso.7367.1", "vehicle_holder"), ("org.iso.18013.5.1", "given_name"))
    assert m.rejected == {"m2": "doctype_mismatch"}


def test_multi_credentials_example_needs_both() -> None:
    q = DcqlQuery.parse(MULTI_CREDENTIALS)
    pid = sd("p", ID_VCT, {"given_name": "a", "family_name": "b", "address": {"street_address": "c"}})
    mvrc = mdoc(
        "m",
        "org.iso.7367.1.mVRC",
        {"org.iso.7367.1": {"vehicle_holder": "a"}, "org.iso.18013.5.1": {"given_name": "a"}},
    )
    assert match_query(q, [pid, mvrc]).can_be_satisfied
    only_pid = match_query(q, [pid])
    assert not only_pid.can_be_satisfied
    assert only_pid.selected_query_ids() == ()
    assert only_pid.credentials["mdl"].rejected == {"p": "format_mismatch"}


def _cred(cid: str, vct: str, names: list[str]) -> CandidateCredential:
    claims: dict[str, Any] = {}
    for n in names:
        parts = n.split(".")
        target = claims
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = "v"
    return sd(cid, vct, claims)


def test_credentials_alternatives_example() -> None:
    q = DcqlQuery.parse(CREDENTIALS_ALTERNATIVES)
    reduced1 = _cred("r1", "https://credentials.example.com/reduced_identity_credential", ["family_name", "given_name"])
    reduced2 = _cred("r2", "https://cred.example/residence_credential", ["postal_code", "locality", "region"])
    other = _cred("o", "https://othercredentials.example/pid", ["given_name", "family_name", "address.street_address"])
    rewards = _cred("n", "https://company.example/company_rewards", ["rewards_number"])

    only_reduced1 = match_query(q, [reduced1])
    assert not only_reduced1.can_be_satisfied
    assert only_reduced1.credential_sets is not None
    assert only_reduced1.credential_sets[0].satisfiable_options == ()

    both_reduced = match_query(q, [reduced1, reduced2])
    assert both_reduced.can_be_satisfied
    assert both_reduced.credential_sets is not None
    assert both_reduced.credential_sets[0].satisfiable_options == (("pid_reduced_cred_1", "pid_reduced_cred_2"),)
    assert not both_reduced.credential_sets[1].satisfied  # optional, may stay unsatisfied
    assert both_reduced.selected_query_ids() == ("pid_reduced_cred_1", "pid_reduced_cred_2")

    everything = match_query(q, [reduced1, reduced2, other, rewards])
    assert everything.credential_sets is not None
    assert everything.credential_sets[0].satisfiable_options == (
        ("other_pid",),
        ("pid_reduced_cred_1", "pid_reduced_cred_2"),
    )
    assert everything.selected_query_ids() == ("other_pid", "nice_to_have")


def test_complex_mdoc_example() -> None:
    q = DcqlQuery.parse(COMPLEX_MDOC)
    photo = mdoc(
        "photo",
        "org.iso.23220.photoid.1",
        {"org.iso.18013.5.1": {"given_name": "a", "family_name": "b", "portrait": b"\xff\xd8"}},
    )
    r = match_query(q, [photo])
    assert r.can_be_satisfied
    assert r.credential_sets is not None
    assert r.credential_sets[0].satisfiable_options == (("photo_card-id",),)
    assert r.credential_sets[1].satisfiable_options == ()
    assert r.selected_query_ids() == ("photo_card-id",)


def test_claims_alternatives_example_takes_first_satisfiable_claim_set() -> None:
    q = DcqlQuery.parse(CLAIMS_ALTERNATIVES)
    full = sd(
        "f", ID_VCT, {"last_name": "x", "postal_code": "1000", "locality": "Sofia", "region": "S", "date_of_birth": "d"}
    )
    m = match_credential(q.credentials[0], full)
    assert isinstance(m, CredentialMatch)
    assert m.claim_set_index == 0
    assert m.disclose == (("last_name",), ("locality",), ("region",), ("date_of_birth",))
    no_region = sd("n", ID_VCT, {"last_name": "x", "postal_code": "1000", "locality": "Sofia", "date_of_birth": "d"})
    m2 = match_credential(q.credentials[0], no_region)
    assert isinstance(m2, CredentialMatch)
    assert m2.claim_set_index == 1
    assert m2.disclose == (("last_name",), ("postal_code",), ("date_of_birth",))
    assert match_credential(q.credentials[0], sd("z", ID_VCT, {"last_name": "x", "date_of_birth": "d"})) == (
        "claims_unsatisfied"
    )


def test_value_matching_example() -> None:
    q = DcqlQuery.parse(VALUE_MATCHING)
    base = {"family_name": "Doe", "given_name": "J", "address": {"street_address": "s"}, "postal_code": "90211"}
    assert match_query(q, [sd("a", ID_VCT, base)]).can_be_satisfied
    assert not match_query(q, [sd("b", ID_VCT, base | {"family_name": "Roe"})]).can_be_satisfied
    assert not match_query(q, [sd("c", ID_VCT, base | {"postal_code": 90211})]).can_be_satisfied  # type must match


def test_encrypted_response_example_query_parses() -> None:
    """The inline ``dcql_query`` of the §8.3 (encrypted responses) example."""
    q = DcqlQuery.parse(
        {
            "credentials": [
                {
                    "id": "my_credential",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [ID_VCT]},
                    "claims": [{"path": ["last_name"]}, {"path": ["first_name"]}, {"path": ["address", "postal_code"]}],
                }
            ]
        }
    )
    assert q.credentials[0].claims is not None
    assert q.credentials[0].claims[2].path == ("address", "postal_code")


# --- §7 claims path pointers ------------------------------------------------------------------------------------

ARTHUR: dict[str, Any] = {
    "name": "Arthur Dent",
    "address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
    "degrees": [
        {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
        {"type": "Master of Science", "university": "University of Betelgeuse"},
    ],
    "nationalities": ["British", "Betelgeusian"],
}


def test_section_7_3_claims_path_pointer_examples() -> None:
    assert select_json_claims(ARTHUR, ["name"]) == [(("name",), "Arthur Dent")]
    assert select_json_claims(ARTHUR, ["address"]) == [(("address",), ARTHUR["address"])]
    assert select_json_claims(ARTHUR, ["address", "street_address"]) == [
        (("address", "street_address"), "42 Market Street")
    ]
    assert select_json_claims(ARTHUR, ["degrees", None, "type"]) == [
        (("degrees", 0, "type"), "Bachelor of Science"),
        (("degrees", 1, "type"), "Master of Science"),
    ]
    assert select_json_claims(ARTHUR, ["nationalities", 1]) == [(("nationalities", 1), "Betelgeusian")]


@pytest.mark.parametrize(
    "path",
    [
        ["missing"],
        ["name", "x"],  # key on a string
        ["address", None],  # null on an object
        ["address", 0],  # index on an object
        ["nationalities", 5],  # index past the end: selection empties
        ["degrees", "type"],  # key on an array
    ],
)
def test_claims_path_processing_errors(path: list[Any]) -> None:
    with pytest.raises(FormatError) as err:
        select_json_claims(ARTHUR, path)
    assert err.value.code == "dcql_claims_path_error"


def test_null_wildcard_drops_elements_without_the_key() -> None:
    data = {"items": [{"k": 1}, {"other": 2}, {"k": 3}]}
    assert select_json_claims(data, ["items", None, "k"]) == [(("items", 0, "k"), 1), (("items", 2, "k"), 3)]


def test_claim_present_with_null_value_is_selected() -> None:
    assert select_json_claims({"a": None}, ["a"]) == [(("a",), None)]


def test_null_wildcard_on_empty_array_selects_nothing() -> None:
    with pytest.raises(FormatError):
        select_json_claims({"a": []}, ["a", None])


def test_mdoc_path_processing() -> None:
    ns = {"eu.europa.ec.eudi.pid.1": {"family_name": "Иванов"}}
    assert select_mdoc_claim(ns, ["eu.europa.ec.eudi.pid.1", "family_name"]) == "Иванов"
    for bad in (["eu.europa.ec.eudi.pid.1"], ["x", "family_name"], ["eu.europa.ec.eudi.pid.1", "given_name"], [1, 2]):
        with pytest.raises(FormatError):
            select_mdoc_claim(ns, bad)


# --- matching: hand-made cases -----------------------------------------------------------------------------------

PID_VCT = "urn:eudi:pid:1"
PID_NS = "eu.europa.ec.eudi.pid.1"


def _q(**credential: Any) -> DcqlQuery:
    base: dict[str, Any] = {"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}}
    base.update(credential)
    return DcqlQuery.parse({"credentials": [base]})


def test_no_claims_means_disclose_nothing_selectively() -> None:
    """§6.4.1 first rule: without ``claims`` only mandatory-to-present parts go out (not "all claims")."""
    r = match_query(_q(), [sd("c", PID_VCT, {"given_name": "Иван"})])
    assert r.can_be_satisfied
    assert r.credentials["q"].matches[0].disclose == ()
    assert r.credentials["q"].matches[0].claim_set_index is None


def test_values_filter_discloses_only_matching_array_elements() -> None:
    q = _q(claims=[{"path": ["nationalities", None], "values": ["BG"]}])
    r = match_query(q, [sd("c", PID_VCT, {"nationalities": ["DE", "BG", "FR"]})])
    assert r.credentials["q"].matches[0].disclose == (("nationalities", 1),)
    assert not match_query(q, [sd("d", PID_VCT, {"nationalities": ["DE"]})]).can_be_satisfied


def test_values_distinguish_bool_int_and_string() -> None:
    q = _q(claims=[{"path": ["age_over_18"], "values": [True]}])
    assert match_query(q, [sd("a", PID_VCT, {"age_over_18": True})]).can_be_satisfied
    for v in (1, "true", False):
        assert not match_query(q, [sd("b", PID_VCT, {"age_over_18": v})]).can_be_satisfied
    q1 = _q(claims=[{"path": ["n"], "values": [1]}])
    assert match_query(q1, [sd("a", PID_VCT, {"n": 1})]).can_be_satisfied
    assert not match_query(q1, [sd("b", PID_VCT, {"n": True})]).can_be_satisfied
    assert not match_query(q1, [sd("c", PID_VCT, {"n": 1.0})]).can_be_satisfied


def test_holder_binding_required_by_default() -> None:
    unbound = sd("c", PID_VCT, {}, cryptographic_holder_binding=False)
    r = match_query(_q(), [unbound])
    assert r.credentials["q"].rejected == {"c": "holder_binding_missing"}
    assert match_query(_q(require_cryptographic_holder_binding=False), [unbound]).can_be_satisfied


def test_legacy_vc_sd_jwt_format_is_accepted() -> None:
    q = _q(format="vc+sd-jwt")
    assert q.credentials[0].is_sd_jwt_vc
    assert match_query(q, [sd("c", PID_VCT, {})]).can_be_satisfied
    legacy = CandidateCredential(id="l", format="vc+sd-jwt", vct=PID_VCT, claims={})
    assert match_query(_q(), [legacy]).can_be_satisfied


def test_vct_inheritance() -> None:
    national = sd("bg", "urn:eudi:pid:bg:1", {}, vct_extends=(PID_VCT,))
    assert match_query(_q(), [national]).can_be_satisfied
    assert not match_query(_q(), [sd("x", "urn:eudi:pid:bg:1", {})]).can_be_satisfied


def test_trusted_authorities_aki() -> None:
    aki = bytes.fromhex("b3db48a4f9a1c5d8ae3641cc1163696226bc4bc6")
    value = base64.urlsafe_b64encode(aki).rstrip(b"=").decode()
    q = _q(trusted_authorities=[{"type": "aki", "values": [value]}])
    good = sd("g", PID_VCT, {}, authority_key_identifiers=frozenset({aki}))
    bad = sd("b", PID_VCT, {}, authority_key_identifiers=frozenset({b"other"}))
    r = match_query(q, [good, bad])
    assert [m.credential_id for m in r.credentials["q"].matches] == ["g"]
    assert r.credentials["q"].rejected == {"b": "untrusted_authority"}


def test_trusted_authorities_etsi_tl_and_federation() -> None:
    q = _q(
        trusted_authorities=[
            {"type": "etsi_tl", "values": ["https://lotl.example.com"]},
            {"type": "openid_federation", "values": ["https://trustanchor.example.com"]},
        ]
    )
    tl = sd("tl", PID_VCT, {}, trusted_lists=frozenset({"https://lotl.example.com"}))
    fed = sd("fed", PID_VCT, {}, federation_entities=frozenset({"https://trustanchor.example.com"}))
    none = sd("none", PID_VCT, {})
    r = match_query(q, [tl, fed, none])
    assert [m.credential_id for m in r.credentials["q"].matches] == ["tl", "fed"]


def test_unknown_trusted_authority_type_parses_but_never_matches() -> None:
    q = _q(trusted_authorities=[{"type": "x_future", "values": ["anything"]}])
    assert not match_query(q, [sd("c", PID_VCT, {}, trusted_lists=frozenset({"anything"}))]).can_be_satisfied


def test_mdoc_values_are_compared_as_json() -> None:
    q = DcqlQuery.parse(
        {
            "credentials": [
                {
                    "id": "pid",
                    "format": "mso_mdoc",
                    "meta": {"doctype_value": PID_NS},
                    "claims": [
                        {"path": [PID_NS, "birth_date"], "values": ["1985-06-25"], "intent_to_retain": False},
                        {"path": [PID_NS, "issuing_country"], "values": ["BG"]},
                    ],
                }
            ]
        }
    )
    cred = mdoc("m", PID_NS, {PID_NS: {"birth_date": date(1985, 6, 25), "issuing_country": "BG"}})
    r = match_query(q, [cred])
    assert r.can_be_satisfied
    assert r.credentials["pid"].matches[0].claims[0].intent_to_retain is False
    other = mdoc("o", PID_NS, {PID_NS: {"birth_date": date(1990, 1, 1), "issuing_country": "BG"}})
    assert not match_query(q, [other]).can_be_satisfied


def test_mdoc_datetime_and_bytes_conversion() -> None:
    q = DcqlQuery.parse(
        {
            "credentials": [
                {
                    "id": "x",
                    "format": "mso_mdoc",
                    "meta": {"doctype_value": "d"},
                    "claims": [
                        {"path": ["ns", "t"], "values": ["2024-10-01T13:30:02Z"]},
                        {"path": ["ns", "b"], "values": ["AQI"]},
                    ],
                }
            ]
        }
    )
    cred = mdoc("m", "d", {"ns": {"t": datetime(2024, 10, 1, 13, 30, 2, tzinfo=UTC), "b": b"\x01\x02"}})
    assert match_query(q, [cred]).can_be_satisfied


def test_multiple_lists_every_matching_credential() -> None:
    q = _q(multiple=True)
    r = match_query(q, [sd("a", PID_VCT, {}), sd("b", PID_VCT, {})])
    assert q.credentials[0].multiple
    assert [m.credential_id for m in r.credentials["q"].matches] == ["a", "b"]


def test_same_credential_may_serve_several_queries() -> None:
    q = DcqlQuery.parse(
        {
            "credentials": [
                {"id": "one", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}, "claims": [{"path": ["a"]}]},
                {"id": "two", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}, "claims": [{"path": ["b"]}]},
            ]
        }
    )
    r = match_query(q, [sd("c", PID_VCT, {"a": 1, "b": 2})])
    assert r.selected_query_ids() == ("one", "two")


def test_required_set_unsatisfied_means_nothing_returned() -> None:
    q = DcqlQuery.parse(
        {
            "credentials": [
                {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}},
                {"id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"}},
            ],
            "credential_sets": [{"options": [["mdl"]]}, {"options": [["pid"]], "required": False}],
        }
    )
    r = match_query(q, [sd("p", PID_VCT, {})])
    assert not r.can_be_satisfied
    assert r.selected_query_ids() == ()


def test_credential_query_not_in_any_set_is_not_required() -> None:
    q = DcqlQuery.parse(
        {
            "credentials": [
                {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}},
                {"id": "spare", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:other"]}},
            ],
            "credential_sets": [{"options": [["pid"]]}],
        }
    )
    r = match_query(q, [sd("p", PID_VCT, {})])
    assert r.can_be_satisfied
    assert r.selected_query_ids() == ("pid",)


def test_unknown_format_parses_and_never_matches() -> None:
    q = DcqlQuery.parse({"credentials": [{"id": "w3c", "format": "jwt_vc_json", "meta": {"type_values": [["x"]]}}]})
    r = match_query(q, [sd("c", PID_VCT, {})])
    assert r.credentials["w3c"].rejected == {"c": "format_mismatch"}


def test_unknown_properties_are_ignored() -> None:
    doc = copy.deepcopy(SIMPLE)
    doc["future"] = {"x": 1}
    doc["credentials"][0]["future"] = True
    doc["credentials"][0]["claims"][0]["future"] = [1]
    assert DcqlQuery.parse(doc) == DcqlQuery.parse(SIMPLE)


# --- parser: named rejections -------------------------------------------------------------------------------------


def _with(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CLAIMS_ALTERNATIVES)
    mutate(doc)
    return doc


REJECTIONS = [
    ([], "dcql_invalid_query"),
    ({}, "dcql_invalid_query"),
    ({"credentials": []}, "dcql_invalid_query"),
    ({"credentials": ["x"]}, "dcql_invalid_query"),
    (_with(lambda d: d["credentials"][0].update(id="has space")), "dcql_invalid_id"),
    (_with(lambda d: d["credentials"][0].update(id="")), "dcql_invalid_id"),
    (_with(lambda d: d["credentials"][0].pop("id")), "dcql_invalid_id"),
    (_with(lambda d: d["credentials"].append(copy.deepcopy(d["credentials"][0]))), "dcql_duplicate_id"),
    (_with(lambda d: d["credentials"][0].pop("format")), "dcql_invalid_format"),
    (_with(lambda d: d["credentials"][0].pop("meta")), "dcql_invalid_meta"),
    (_with(lambda d: d["credentials"][0].update(meta={})), "dcql_invalid_meta"),
    (_with(lambda d: d["credentials"][0].update(meta={"vct_values": []})), "dcql_invalid_meta"),
    (_with(lambda d: d["credentials"][0].update(meta={"vct_values": "urn:x"})), "dcql_invalid_meta"),
    (_with(lambda d: d["credentials"][0].update(multiple="yes")), "dcql_invalid_query"),
    (_with(lambda d: d["credentials"][0].update(require_cryptographic_holder_binding=0)), "dcql_invalid_query"),
    (_with(lambda d: d["credentials"][0].update(claims=[])), "dcql_invalid_claims"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(path=[])), "dcql_invalid_claims_path"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(path=["a", -1])), "dcql_invalid_claims_path"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(path=["a", True])), "dcql_invalid_claims_path"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(path=["a", 1.5])), "dcql_invalid_claims_path"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(path="a")), "dcql_invalid_claims_path"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(values=[])), "dcql_invalid_claim_values"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(values=[1.5])), "dcql_invalid_claim_values"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(values=[None])), "dcql_invalid_claim_values"),
    (_with(lambda d: d["credentials"][0]["claims"][0].update(values=[{"a": 1}])), "dcql_invalid_claim_values"),
    (_with(lambda d: d["credentials"][0]["claims"][1].update(id="a")), "dcql_duplicate_claim_id"),
    (_with(lambda d: d["credentials"][0]["claims"][1].pop("id")), "dcql_missing_claim_id"),
    (_with(lambda d: d["credentials"][0].update(claim_sets=[["a", "zz"]])), "dcql_unknown_claim_id"),
    (_with(lambda d: d["credentials"][0].update(claim_sets=[])), "dcql_invalid_claim_sets"),
    (_with(lambda d: d["credentials"][0].update(claim_sets=[[]])), "dcql_invalid_claim_sets"),
    (_with(lambda d: d["credentials"][0].pop("claims")), "dcql_claim_sets_without_claims"),
    (_with(lambda d: d["credentials"][0].update(trusted_authorities=[])), "dcql_invalid_trusted_authorities"),
    (
        _with(lambda d: d["credentials"][0].update(trusted_authorities=[{"type": "aki", "values": []}])),
        "dcql_invalid_trusted_authorities",
    ),
    (
        _with(lambda d: d["credentials"][0].update(trusted_authorities=[{"type": "aki", "values": ["a+b/"]}])),
        "dcql_invalid_trusted_authorities",
    ),
    (
        _with(lambda d: d["credentials"][0].update(trusted_authorities=[{"values": ["x"]}])),
        "dcql_invalid_trusted_authorities",
    ),
    (_with(lambda d: d.update(credential_sets=[])), "dcql_invalid_credential_sets"),
    (_with(lambda d: d.update(credential_sets=[{"options": []}])), "dcql_invalid_credential_sets"),
    (_with(lambda d: d.update(credential_sets=[{"options": [[]]}])), "dcql_invalid_credential_sets"),
    (
        _with(lambda d: d.update(credential_sets=[{"options": [["pid"]], "required": "no"}])),
        "dcql_invalid_credential_sets",
    ),
    (_with(lambda d: d.update(credential_sets=[{"options": [["nope"]]}])), "dcql_unknown_credential_id"),
]


@pytest.mark.parametrize(("doc", "code"), REJECTIONS)
def test_parser_rejects_with_named_code(doc: Any, code: str) -> None:
    with pytest.raises(FormatError) as err:
        DcqlQuery.parse(doc)
    assert err.value.code == code


def test_mdoc_path_must_be_namespace_and_element() -> None:
    for path in (["ns"], ["ns", "a", "b"], ["ns", 0], ["ns", None]):
        doc = {
            "credentials": [
                {"id": "m", "format": "mso_mdoc", "meta": {"doctype_value": "d"}, "claims": [{"path": path}]}
            ]
        }
        with pytest.raises(FormatError) as err:
            DcqlQuery.parse(doc)
        assert err.value.code == "dcql_invalid_claims_path"


def test_mdoc_requires_doctype_value() -> None:
    with pytest.raises(FormatError) as err:
        DcqlQuery.parse({"credentials": [{"id": "m", "format": "mso_mdoc", "meta": {}}]})
    assert err.value.code == "dcql_invalid_meta"


def test_lenient_mode_accepts_missing_meta_as_no_constraint() -> None:
    q = DcqlQuery.parse({"credentials": [{"id": "a", "format": "dc+sd-jwt"}]}, strict=False)
    assert q.credentials[0].vct_values is None
    assert match_query(q, [sd("c", "urn:anything", {})]).can_be_satisfied


def test_builder_side_to_dict_is_spec_shaped() -> None:
    q = DcqlQuery.parse(COMPLEX_MDOC)
    out = q.to_dict()
    assert out["credential_sets"][1] == {"options": [["mdl-address"], ["photo_card-address"]], "required": False}
    assert out["credentials"][0]["claims"][0] == {"id": "given_name", "path": ["org.iso.18013.5.1", "given_name"]}


def test_aki_query_against_a_real_issuer_chain() -> None:
    """§6.1.1 ``aki``: the value is the base64url AKI keyIdentifier of a certificate in the credential's chain."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from portfeil.formats.dcql import authority_key_identifiers
    from portfeil.pki.ca import create_root_ca, issue_leaf
    from portfeil.pki.roles import Role

    now = datetime(2026, 11, 23, tzinfo=UTC)
    root = create_root_ca("PID Root", Role.PID_PROVIDER, now=now)
    leaf = issue_leaf(
        root, "PID Issuer", ec.generate_private_key(ec.SECP256R1()).public_key(), Role.PID_PROVIDER, now=now
    )
    akis = authority_key_identifiers([leaf, root.certificate])
    root_ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert root_ski in akis
    value = base64.urlsafe_b64encode(root_ski).rstrip(b"=").decode()
    q = _q(trusted_authorities=[{"type": "aki", "values": [value]}])
    cred = sd("pid", PID_VCT, {}, authority_key_identifiers=akis)
    assert match_query(q, [cred]).can_be_satisfied
    other_root = create_root_ca("Other Root", Role.PID_PROVIDER, now=now)
    other_ski = other_root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    q_other = _q(
        trusted_authorities=[{"type": "aki", "values": [base64.urlsafe_b64encode(other_ski).decode().rstrip("=")]}]
    )
    assert not match_query(q_other, [cred]).can_be_satisfied


# --- verifier side: check_response (§8.1 + §6.4) -----------------------------------------------------------------


def test_check_response_accepts_a_correct_answer() -> None:
    from portfeil.formats.dcql import check_response

    q = DcqlQuery.parse(CREDENTIALS_ALTERNATIVES)
    presented = {
        "other_pid": [
            _cred("x", "https://othercredentials.example/pid", ["given_name", "family_name", "address.street_address"])
        ]
    }
    result = check_response(q, presented)
    assert result.can_be_satisfied
    assert result.credentials["other_pid"].matches[0].credential_id == "x"


@pytest.mark.parametrize(
    ("presented", "code"),
    [
        ({"nope": ["cred"]}, "dcql_unknown_credential_id"),
        ({"my_credential": []}, "dcql_empty_presentation"),
        ({"my_credential": ["cred", "cred"]}, "dcql_too_many_presentations"),
        ({"my_credential": ["missing_claim"]}, "dcql_presentation_mismatch"),
        ({"my_credential": ["wrong_vct"]}, "dcql_presentation_mismatch"),
        ({"my_credential": ["unbound"]}, "dcql_presentation_mismatch"),
        ({}, "dcql_query_not_satisfied"),
    ],
)
def test_check_response_rejects(presented: dict[str, list[str]], code: str) -> None:
    from portfeil.formats.dcql import check_response

    claims = {"family_name": "Doe", "given_name": "John", "address": {"street_address": "x"}}
    creds = {
        "cred": sd("c", ID_VCT, claims),
        "missing_claim": sd("m", ID_VCT, {"family_name": "Doe"}),
        "wrong_vct": sd("w", PID_VCT, claims),
        "unbound": sd("u", ID_VCT, claims, cryptographic_holder_binding=False),
    }
    q = DcqlQuery.parse(SIMPLE)
    with pytest.raises(FormatError) as err:
        check_response(q, {k: [creds[n] for n in v] for k, v in presented.items()})
    assert err.value.code == code


def test_check_response_does_not_rely_on_values() -> None:
    """§6.4.1: values are best effort; the Verifier does not reject a presentation for a different value."""
    from portfeil.formats.dcql import check_response

    q = DcqlQuery.parse(VALUE_MATCHING)
    cred = sd(
        "c",
        ID_VCT,
        {"family_name": "Roe", "given_name": "J", "address": {"street_address": "s"}, "postal_code": "1000"},
    )
    assert check_response(q, {"my_credential": [cred]}).can_be_satisfied


def test_check_response_required_credential_set() -> None:
    from portfeil.formats.dcql import check_response

    q = DcqlQuery.parse(CREDENTIALS_ALTERNATIVES)
    rewards = _cred("n", "https://company.example/company_rewards", ["rewards_number"])
    with pytest.raises(FormatError) as err:
        check_response(q, {"nice_to_have": [rewards]})  # only the optional set answered
    assert err.value.code == "dcql_query_not_satisfied"
