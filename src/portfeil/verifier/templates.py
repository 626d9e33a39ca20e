"""Named DCQL queries (OpenID4VP 1.0 §6) for the common questions a relying party asks about a PID.

Each template asks for the PID either as SD-JWT VC (``vct`` ``urn:eudi:pid:1``, claim names of the SD-JWT VC
encoding) or as mdoc (doctype/namespace ``eu.europa.ec.eudi.pid.1``), as alternatives of one required credential
set (§6.2), so a wallet answers with whichever it holds. Claim names follow the PID Rulebook 1.7 (SPECS.md §2).

* ``pid-basic``: names, birth date and the personal administrative number (for Bulgaria the ЕГН): sign-in.
* ``age-over-18``: only ``age_equal_or_over.18`` (SD-JWT VC) / ``age_over_18`` (mdoc).
* ``pid-full``: every mandatory PID attribute and the common optional ones.
"""

from __future__ import annotations

from typing import Any, Final

from portfeil.formats.dcql import DcqlQuery
from portfeil.verifier.errors import VerifierError

__all__ = ["PID_DOCTYPE", "PID_NAMESPACE", "PID_VCT", "TEMPLATES", "shared_template_query", "template_query"]

PID_VCT: Final = "urn:eudi:pid:1"
PID_DOCTYPE: Final = "eu.europa.ec.eudi.pid.1"
PID_NAMESPACE: Final = PID_DOCTYPE

# (SD-JWT VC path, mdoc element identifier) pairs.
_BASIC: Final = [
    (["family_name"], "family_name"),
    (["given_name"], "given_name"),
    (["birthdate"], "birth_date"),
    (["personal_administrative_number"], "personal_administrative_number"),
]
_AGE: Final = [(["age_equal_or_over", "18"], "age_over_18")]
_FULL: Final = [
    *_BASIC,
    (["place_of_birth"], "place_of_birth"),
    (["nationalities"], "nationality"),
    (["address"], "resident_address"),
    (["sex"], "sex"),
    (["issuing_authority"], "issuing_authority"),
    (["issuing_country"], "issuing_country"),
    (["date_of_expiry"], "expiry_date"),
]


def _pid_query(pairs: list[tuple[list[str], str]]) -> dict[str, Any]:
    return {
        "credentials": [
            {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
             "claims": [{"path": list(p)} for p, _ in pairs]},
            {"id": "pid_mdoc", "format": "mso_mdoc", "meta": {"doctype_value": PID_DOCTYPE},
             "claims": [{"path": [PID_NAMESPACE, e], "intent_to_retain": False} for _, e in pairs]},
        ],
        "credential_sets": [{"options": [["pid"], ["pid_mdoc"]]}],
    }


TEMPLATES: Final[dict[str, dict[str, Any]]] = {
    "pid-basic": _pid_query(_BASIC),
    "age-over-18": _pid_query(_AGE),
    "pid-full": _pid_query(_FULL),
}


def template_query(name: str) -> dict[str, Any]:
    """A fresh copy of the DCQL query of template ``name`` (``unknown_template`` otherwise)."""
    import copy

    return copy.deepcopy(shared_template_query(name))


_CHECKED: set[str] = set()


def shared_template_query(name: str) -> dict[str, Any]:
    """The DCQL query of template ``name`` itself, not a copy (``unknown_template`` otherwise): for callers that
    only read or serialize it (creating a transaction stores it). Checked like any query, once per process."""
    query = TEMPLATES.get(name)
    if query is None:
        raise VerifierError("unknown_template", "no DCQL template of that name", known=sorted(TEMPLATES))
    if name not in _CHECKED:
        DcqlQuery.parse(query)  # templates are checked like any query
        _CHECKED.add(name)
    return query
