"""Fuzz the DCQL parser and matcher: only FormatError may escape the parser; a parsed query always matches
without error; to_dict() round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.dcql import CandidateCredential, DcqlQuery, match_query, select_json_claims

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.sampled_from(["a", "b", "pid", "", "dc+sd-jwt", "mso_mdoc", "vc+sd-jwt", "aki", "etsi_tl", "x y"])
)
json_values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "id", "path", "x"]), c, max_size=4),
    max_leaves=25,
)
ids = st.sampled_from(["a", "b", "c", "pid", "mdl"])
path_component = st.none() | st.integers(0, 3) | st.sampled_from(["a", "b", "ns", "x"])
claims_q = st.fixed_dictionaries(
    {"path": st.lists(path_component, min_size=1, max_size=3)},
    optional={
        "id": ids,
        "values": st.lists(st.sampled_from(["a", "b", 1, 2, True, False]), min_size=1, max_size=3),
        "intent_to_retain": st.booleans(),
    },
)
credential_q = st.fixed_dictionaries(
    {
        "id": ids,
        "format": st.sampled_from(["dc+sd-jwt", "vc+sd-jwt", "mso_mdoc", "jwt_vc_json"]),
        "meta": st.sampled_from(
            [{"vct_values": ["urn:a"]}, {"vct_values": ["urn:b", "urn:a"]}, {"doctype_value": "d"}, {}]
        ),
    },
    optional={
        "multiple": st.booleans(),
        "require_cryptographic_holder_binding": st.booleans(),
        "claims": st.lists(claims_q, min_size=1, max_size=4),
        "claim_sets": st.lists(st.lists(ids, min_size=1, max_size=3), min_size=1, max_size=3),
        "trusted_authorities": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["aki", "etsi_tl", "openid_federation", "x"]),
                    "values": st.lists(st.sampled_from(["AQI", "t1", "f1"]), min_size=1, max_size=2),
                }
            ),
            min_size=1,
            max_size=2,
        ),
    },
)
query_docs = st.fixed_dictionaries(
    {"credentials": st.lists(credential_q, min_size=1, max_size=3)},
    optional={
        "credential_sets": st.lists(
            st.fixed_dictionaries(
                {"options": st.lists(st.lists(ids, min_size=1, max_size=2), min_size=1, max_size=3)},
                optional={"required": st.booleans()},
            ),
            min_size=1,
            max_size=2,
        )
    },
)
credential_claims = st.recursive(
    st.none() | st.booleans() | st.integers(0, 2) | st.sampled_from(["a", "b"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "ns", "x"]), c, max_size=3),
    max_leaves=12,
)
candidates = st.lists(
    st.builds(
        CandidateCredential,
        id=st.sampled_from(["c1", "c2", "c3"]),
        format=st.sampled_from(["dc+sd-jwt", "mso_mdoc"]),
        claims=st.dictionaries(st.sampled_from(["a", "b", "ns", "x"]), credential_claims, max_size=3),
        vct=st.sampled_from(["urn:a", "urn:b", None]),
        doctype=st.sampled_from(["d", None]),
        authority_key_identifiers=st.sampled_from([frozenset(), frozenset({b"\x01\x02"})]),
        trusted_lists=st.sampled_from([frozenset(), frozenset({"t1"})]),
        cryptographic_holder_binding=st.booleans(),
    ),
    max_size=3,
)


def _parse(doc: Any, strict: bool = True) -> DcqlQuery | None:
    try:
        return DcqlQuery.parse(doc, strict=strict)
    except FormatError:
        return None


@FUZZ
@given(json_values)
def test_fuzz_parser_arbitrary_json(doc: Any) -> None:
    _parse(doc)
    _parse({"credentials": [doc]})
    _parse({"credentials": doc})


@FUZZ
@given(query_docs, candidates, st.booleans())
def test_fuzz_structured_queries_match_without_errors(
    doc: dict[str, Any], creds: list[CandidateCredential], strict: bool
) -> None:
    q = _parse(doc, strict)
    if q is None:
        return
    assert DcqlQuery.parse(q.to_dict(), strict=strict) == q
    result = match_query(q, creds)
    selected = result.selected_query_ids()
    if result.can_be_satisfied:
        assert all(result.credentials[qid].satisfied for qid in selected)
        if q.credential_sets is None:
            assert set(selected) == {c.id for c in q.credentials}
    else:
        assert selected == ()
    for r in result.credentials.values():
        assert len(r.matches) + len(r.rejected) <= len(creds)


@FUZZ
@given(credential_claims, st.lists(path_component, min_size=1, max_size=4))
def test_fuzz_claims_path_processing(claims: Any, path: list[Any]) -> None:
    try:
        selected = select_json_claims({"root": claims}, ["root", *path])
    except FormatError:
        return
    assert selected
    for concrete, _ in selected:
        assert None not in concrete
        assert len(concrete) == len(path) + 1
