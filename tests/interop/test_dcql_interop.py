"""Interop: our DCQL matcher against the independent `dcql` npm package 3.0.0 (SPECS.md §7).

Each case is a query and a wallet of credentials (in the npm package's credential shape, converted to our
:class:`CandidateCredential`); both sides must agree on: whether the query parses, ``can_be_satisfied``, per
Credential Query which credentials match and which claim set each uses first, and per credential set which
options are satisfiable. Cases where the two readings of the spec differ on purpose (documented in
``portfeil.formats.dcql``: null-valued claims, ``[..., null]`` on an empty array, unknown trusted-authority
types, mdoc paths of length 3, missing ``meta``) are left out here and pinned by unit tests instead.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portfeil.formats import FormatError
from portfeil.formats.dcql import CandidateCredential, DcqlQuery, match_query
from tests.formats.test_dcql import (
    CLAIMS_ALTERNATIVES,
    COMPLEX_MDOC,
    CREDENTIALS_ALTERNATIVES,
    MULTI_CREDENTIALS,
    SIMPLE,
    SIMPLE_MDOC,
    VALUE_MATCHING,
)

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
HELPER = NODE_DIR / "dcql_match.mjs"

ID_VCT = "https://credentials.example.com/identity_credential"
PID_VCT = "urn:eudi:pid:1"
PID_NS = "eu.europa.ec.eudi.pid.1"
AKI = bytes.fromhex("b3db48a4f9a1c5d8ae3641cc1163696226bc4bc6")
AKI_B64 = base64.urlsafe_b64encode(AKI).rstrip(b"=").decode()


def sdc(
    vct: str, claims: dict[str, Any], binding: bool = True, authority: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "credential_format": "dc+sd-jwt",
        "vct": vct,
        "claims": claims,
        "cryptographic_holder_binding": binding,
    }
    if authority:
        out["authority"] = authority
    return out


def mdc(doctype: str, namespaces: dict[str, Any], binding: bool = True) -> dict[str, Any]:
    return {
        "credential_format": "mso_mdoc",
        "doctype": doctype,
        "namespaces": namespaces,
        "cryptographic_holder_binding": binding,
    }


def _person(**extra: Any) -> dict[str, Any]:
    base = {
        "given_name": "Иван",
        "family_name": "Петров",
        "last_name": "Петров",
        "first_name": "Иван",
        "address": {"street_address": "ул. Витоша 1", "locality": "София", "postal_code": "1000"},
        "postal_code": "90210",
        "locality": "София",
        "region": "София-град",
        "date_of_birth": "1985-06-25",
        "nationalities": ["BG", "DE"],
        "age_over_18": True,
        "age_in_years": 41,
    }
    base.update(extra)
    return base


MVRC = mdc(
    "org.iso.7367.1.mVRC",
    {"org.iso.7367.1": {"vehicle_holder": "Иван Петров"}, "org.iso.18013.5.1": {"given_name": "Иван"}},
)
MDL = mdc(
    "org.iso.18013.5.1.mDL",
    {"org.iso.18013.5.1": {"given_name": "a", "family_name": "b", "portrait": "AAEC", "resident_country": "BG"}},
)
PHOTO = mdc(
    "org.iso.23220.photoid.1",
    {"org.iso.18013.5.1": {"given_name": "a", "family_name": "b", "portrait": "AAEC"}},
)


def _q(**credential: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}}
    base.update(credential)
    return {"credentials": [base]}


def _cases() -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    person = _person()
    reduced1 = sdc("https://credentials.example.com/reduced_identity_credential", person)
    reduced2 = sdc("https://cred.example/residence_credential", person)
    rewards = sdc("https://company.example/company_rewards", {"rewards_number": 7})
    cases: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
        ("simple/match", SIMPLE, [sdc(ID_VCT, person)]),
        ("simple/wrong-vct", SIMPLE, [sdc(PID_VCT, person)]),
        ("simple/missing-claim", SIMPLE, [sdc(ID_VCT, {"given_name": "x", "family_name": "y"})]),
        ("simple/two-wallet-entries", SIMPLE, [sdc(PID_VCT, person), sdc(ID_VCT, person), sdc(ID_VCT, {})]),
        ("simple/unbound", SIMPLE, [sdc(ID_VCT, person, binding=False)]),
        ("simple_mdoc/match", SIMPLE_MDOC, [MVRC, MDL]),
        ("simple_mdoc/none", SIMPLE_MDOC, [MDL, sdc(ID_VCT, person)]),
        ("multi/both", MULTI_CREDENTIALS, [sdc(ID_VCT, person), MVRC]),
        ("multi/one", MULTI_CREDENTIALS, [sdc(ID_VCT, person)]),
        ("alternatives/reduced", CREDENTIALS_ALTERNATIVES, [reduced1, reduced2]),
        ("alternatives/reduced-half", CREDENTIALS_ALTERNATIVES, [reduced1, rewards]),
        (
            "alternatives/all",
            CREDENTIALS_ALTERNATIVES,
            [sdc(ID_VCT, person), sdc("https://othercredentials.example/pid", person), reduced1, reduced2, rewards],
        ),
        ("complex_mdoc/photo", COMPLEX_MDOC, [PHOTO]),
        ("complex_mdoc/mdl", COMPLEX_MDOC, [MDL, PHOTO]),
        ("complex_mdoc/nothing", COMPLEX_MDOC, [MVRC]),
        ("claims_alternatives/first", CLAIMS_ALTERNATIVES, [sdc(ID_VCT, person)]),
        (
            "claims_alternatives/second",
            CLAIMS_ALTERNATIVES,
            [sdc(ID_VCT, {k: v for k, v in person.items() if k != "region"})],
        ),
        ("claims_alternatives/none", CLAIMS_ALTERNATIVES, [sdc(ID_VCT, {"last_name": "x"})]),
        ("values/match", VALUE_MATCHING, [sdc(ID_VCT, _person(family_name="Doe"))]),
        ("values/mismatch", VALUE_MATCHING, [sdc(ID_VCT, person)]),
        ("values/int-vs-string", VALUE_MATCHING, [sdc(ID_VCT, _person(family_name="Doe", postal_code=90210))]),
    ]
    wallet = [sdc(PID_VCT, person), sdc(PID_VCT, _person(nationalities=["FR"]), binding=False), sdc("urn:x", person)]
    hand: list[tuple[str, dict[str, Any]]] = [
        ("no-claims", _q()),
        ("no-claims/binding-optional", _q(require_cryptographic_holder_binding=False)),
        ("multiple", _q(multiple=True, require_cryptographic_holder_binding=False)),
        ("wildcard", _q(claims=[{"path": ["nationalities", None]}])),
        ("wildcard/value", _q(claims=[{"path": ["nationalities", None], "values": ["DE"]}])),
        ("index", _q(claims=[{"path": ["nationalities", 1]}])),
        ("index/past-end", _q(claims=[{"path": ["nationalities", 5]}])),
        ("nested", _q(claims=[{"path": ["address", "locality"], "values": ["София"]}])),
        ("key-on-array", _q(claims=[{"path": ["nationalities", "x"]}])),
        ("bool-value", _q(claims=[{"path": ["age_over_18"], "values": [True]}])),
        ("bool-vs-int", _q(claims=[{"path": ["age_over_18"], "values": [1]}])),
        ("int-value", _q(claims=[{"path": ["age_in_years"], "values": [41, 42]}])),
        (
            "claim_sets/fallback",
            _q(
                claims=[
                    {"id": "a", "path": ["age_over_18"], "values": [False]},
                    {"id": "b", "path": ["date_of_birth"]},
                ],
                claim_sets=[["a"], ["b"]],
            ),
        ),
        ("multi-vct", _q(meta={"vct_values": ["urn:x", PID_VCT]}, require_cryptographic_holder_binding=False)),
        (
            "sets/optional-unsatisfied",
            {
                "credentials": [
                    {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}},
                    {"id": "other", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:nope"]}},
                ],
                "credential_sets": [{"options": [["other"], ["pid"]]}, {"required": False, "options": [["other"]]}],
            },
        ),
        (
            "sets/required-unsatisfied",
            {
                "credentials": [
                    {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}},
                    {"id": "other", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:nope"]}},
                ],
                "credential_sets": [{"options": [["pid", "other"]]}],
            },
        ),
    ]
    cases += [(f"hand/{name}", q, wallet) for name, q in hand]
    trusted = [
        sdc(PID_VCT, person, authority={"type": "aki", "values": [AKI_B64]}),
        sdc(PID_VCT, person, authority={"type": "etsi_tl", "values": ["https://lotl.example.com"]}),
        sdc(PID_VCT, person, authority={"type": "openid_federation", "values": ["https://ta.example.com"]}),
        sdc(PID_VCT, person),
    ]
    for name, ta in (
        ("aki", [{"type": "aki", "values": [AKI_B64]}]),
        ("aki-other", [{"type": "aki", "values": ["AQID"]}]),
        ("etsi_tl", [{"type": "etsi_tl", "values": ["https://lotl.example.com"]}]),
        ("federation", [{"type": "openid_federation", "values": ["https://ta.example.com", "https://x.example"]}]),
        ("any-of", [{"type": "aki", "values": ["AQID"]}, {"type": "etsi_tl", "values": ["https://lotl.example.com"]}]),
    ):
        cases.append((f"trusted/{name}", _q(trusted_authorities=ta), trusted))
    pid_mdoc = [
        mdc(PID_NS, {PID_NS: {"family_name": "Петров", "issuing_country": "BG", "age_over_18": True}}),
        mdc(PID_NS, {PID_NS: {"family_name": "Petrov", "issuing_country": "DE"}}),
    ]
    mq = {
        "credentials": [
            {
                "id": "pid",
                "format": "mso_mdoc",
                "meta": {"doctype_value": PID_NS},
                "claims": [
                    {"path": [PID_NS, "issuing_country"], "values": ["BG"], "intent_to_retain": False},
                    {"path": [PID_NS, "family_name"]},
                ],
            }
        ]
    }
    cases.append(("mdoc/values", mq, pid_mdoc))
    cases.append(("mdoc/missing-namespace", SIMPLE_MDOC, [mdc("org.iso.7367.1.mVRC", {"org.iso.7367.1": {}})]))
    # queries both sides must refuse
    bad: list[tuple[str, Any]] = [
        ("duplicate-id", {"credentials": [_q()["credentials"][0], _q()["credentials"][0]]}),
        ("bad-id", _q(id="a b")),
        ("unknown-set-id", _q() | {"credential_sets": [{"options": [["zz"]]}]}),
        ("unknown-claim-id", _q(claims=[{"id": "a", "path": ["x"]}], claim_sets=[["b"]])),
        ("claim-sets-without-ids", _q(claims=[{"path": ["x"]}], claim_sets=[["b"]])),
        ("float-value", _q(claims=[{"path": ["x"], "values": [1.5]}])),
        ("empty-credentials", {"credentials": []}),
        ("empty-path", _q(claims=[{"path": []}])),
        ("negative-index", _q(claims=[{"path": ["a", -1]}])),
    ]
    cases += [(f"reject/{name}", q, []) for name, q in bad]
    return cases


def _candidate(index: int, c: dict[str, Any]) -> CandidateCredential:
    auth = c.get("authority") or {}
    aki = frozenset(
        base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) for v in auth.get("values", []) if auth["type"] == "aki"
    )
    mdoc = c["credential_format"] == "mso_mdoc"
    return CandidateCredential(
        id=str(index),
        format=c["credential_format"],
        claims=c["namespaces"] if mdoc else c["claims"],
        vct=c.get("vct"),
        doctype=c.get("doctype"),
        authority_key_identifiers=aki,
        trusted_lists=frozenset(auth.get("values", [])) if auth.get("type") == "etsi_tl" else frozenset(),
        federation_entities=(
            frozenset(auth.get("values", [])) if auth.get("type") == "openid_federation" else frozenset()
        ),
        cryptographic_holder_binding=c["cryptographic_holder_binding"],
    )


def _ours(query: Any, credentials: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        q = DcqlQuery.parse(query)
    except FormatError:
        return {"error": True}
    result = match_query(q, [_candidate(i, c) for i, c in enumerate(credentials)])
    matches = {
        qid: {
            "success": r.satisfied,
            "valid": [[int(m.credential_id), m.claim_set_index] for m in r.matches],
        }
        for qid, r in result.credentials.items()
    }
    sets = (
        None
        if result.credential_sets is None
        else [
            {"required": s.required, "matching_options": [list(o) for o in s.satisfiable_options]}
            for s in result.credential_sets
        ]
    )
    return {"can_be_satisfied": result.can_be_satisfied, "credential_matches": matches, "credential_sets": sets}


@pytest.fixture(scope="module")
def theirs() -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: install Node 20 to run DCQL interop")
    if not (NODE_DIR / "node_modules" / "dcql" / "package.json").exists():
        pytest.skip("node runtime missing: tests/interop/node/node_modules/dcql not installed (npm install)")
    cases = _cases()
    payload = json.dumps({"cases": [{"query": q, "credentials": c} for _, q, c in cases]})
    proc = subprocess.run(
        [node, str(HELPER)], input=payload, capture_output=True, text=True, cwd=NODE_DIR, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)["results"]
    return {name: r for (name, _, _), r in zip(cases, results, strict=True)}


def test_peer_version_is_pinned() -> None:
    pkg = NODE_DIR / "node_modules" / "dcql" / "package.json"
    if not pkg.exists():
        pytest.skip("node runtime missing: dcql package not installed")
    assert json.loads(pkg.read_text())["version"] == "3.0.0"


@pytest.mark.parametrize(("name", "query", "credentials"), _cases(), ids=[c[0] for c in _cases()])
def test_dcql_matches_independent_implementation(
    name: str, query: Any, credentials: list[dict[str, Any]], theirs: dict[str, dict[str, Any]]
) -> None:
    peer = copy.deepcopy(theirs[name])
    ours = _ours(query, credentials)
    if "error" in peer or "error" in ours:
        assert ("error" in peer) == ("error" in ours), (peer, ours)
        return
    assert ours == peer


def test_interop_covers_both_outcomes(theirs: dict[str, dict[str, Any]]) -> None:
    """Guard against a vacuous comparison: the case set has satisfied, unsatisfied and rejected queries."""
    outcomes = [r.get("can_be_satisfied", "error") if "error" not in r else "error" for r in theirs.values()]
    assert outcomes.count(True) >= 10
    assert outcomes.count(False) >= 8
    assert outcomes.count("error") >= 8
