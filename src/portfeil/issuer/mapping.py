"""From a population-register record to PID claims, per the PID Rulebook 1.7 (SPECS.md §2).

Every PID attribute the register can supply, in both encodings:

* SD-JWT VC (``vct`` ``urn:eudi:pid:1``): ``family_name``, ``given_name`` as registered (Cyrillic), ``birthdate``,
  ``place_of_birth`` {country, region, locality}, ``nationalities``, ``address`` {formatted, country, region,
  locality, postal_code, street_address, house_number} (each nested claim selectively disclosable one by one,
  PID_21), ``personal_administrative_number`` (the ЕГН or ЛНЧ), ``sex`` (ISO/IEC 5218 codes, as the rulebook),
  ``age_equal_or_over`` {"14": bool, ...}, ``age_in_years``, ``age_birth_year``, metadata ``issuing_authority``,
  ``issuing_country`` BG, ``date_of_issuance``, ``date_of_expiry``, ``document_number``; plus, for the national
  type ``urn:eudi:pid:bg:1``, ``middle_name`` and the official Latin transliterations ``*_latin``.
* mdoc (doctype and namespace ``eu.europa.ec.eudi.pid.1``): the rulebook's mdoc names (``birth_date``,
  ``nationality``, ``resident_*``, ``age_over_NN``, ``issuance_date``, ``expiry_date``) with full-date values;
  the national namespace ``bg.egov.pid.1`` carries the middle name and the Latin names.

Not supplied: ``portrait`` (the register keeps no photograph; the rulebook makes it mandatory unless the user opts
out - a real deployment reads it from the identity-document register), birth names, e-mail, phone.

A configuration (:mod:`portfeil.issuer.configs`) selects among these by claims path; :func:`source_fields` tells
which register fields a selection depends on (their change revokes the credential).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from portfeil.sources.registry import AddressRecord, PersonRecord, age_on

NS_PID = "eu.europa.ec.eudi.pid.1"
NS_BG = "bg.egov.pid.1"
AGE_THRESHOLDS = (14, 16, 18, 21, 65)

#: first path element (SD-JWT name or mdoc element) -> register fields it is read from
_SOURCES: dict[str, tuple[str, ...]] = {
    "family_name": ("family_name",), "given_name": ("given_name",), "middle_name": ("middle_name",),
    "family_name_latin": ("family_name_latin", "family_name"), "given_name_latin": ("given_name_latin", "given_name"),
    "middle_name_latin": ("middle_name_latin", "middle_name"),
    "birthdate": ("birth_date",), "birth_date": ("birth_date",), "age_equal_or_over": ("birth_date",),
    "age_in_years": ("birth_date",), "age_birth_year": ("birth_date",),
    "place_of_birth": ("birth_place",), "nationalities": ("nationalities",), "nationality": ("nationalities",),
    "personal_administrative_number": ("personal_number",), "sex": ("sex",),
}
_ADDRESS_FIELDS = ("permanent_address", "current_address")


def _address(person: PersonRecord) -> AddressRecord | None:
    return person.current_address or person.permanent_address


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None and v != {}}


def sd_jwt_claims(
    person: PersonRecord, *, today: date, expiry: date, issuing_authority: str, issuing_country: str,
    document_number: str,
) -> dict[str, Any]:
    """Every SD-JWT VC PID claim the register supplies (PID Rulebook 1.7, SD-JWT VC encoding)."""
    age = age_on(person.birth_date, today)
    a = _address(person)
    place = person.birth_place
    return _clean({
        "family_name": person.names.family,
        "given_name": person.names.given,
        "middle_name": person.names.middle,
        "family_name_latin": person.names.family_latin,
        "given_name_latin": person.names.given_latin,
        "middle_name_latin": person.names.middle_latin,
        "birthdate": person.birth_date.isoformat(),
        "place_of_birth": _clean({"country": place.country, "region": place.region, "locality": place.locality}),
        "nationalities": list(person.nationalities),
        "address": None if a is None else _clean({
            "formatted": a.formatted, "country": a.country, "region": a.region, "locality": a.locality,
            "postal_code": a.postal_code, "street_address": a.street, "house_number": a.number,
        }),
        "personal_administrative_number": person.personal_number,
        "sex": person.sex,
        "age_equal_or_over": {str(n): age >= n for n in AGE_THRESHOLDS},
        "age_in_years": age,
        "age_birth_year": person.birth_date.year,
        "issuing_authority": issuing_authority,
        "issuing_country": issuing_country,
        "date_of_issuance": today.isoformat(),
        "date_of_expiry": expiry.isoformat(),
        "document_number": document_number,
    })


def mdoc_namespaces(
    person: PersonRecord, *, today: date, expiry: date, issuing_authority: str, issuing_country: str,
    document_number: str,
) -> dict[str, dict[str, Any]]:
    """Every mdoc PID element the register supplies (PID Rulebook 1.7, ISO/IEC 18013-5 encoding)."""
    age = age_on(person.birth_date, today)
    a = _address(person)
    place = person.birth_place
    pid: dict[str, Any] = {
        "family_name": person.names.family,
        "given_name": person.names.given,
        "birth_date": person.birth_date,
        "place_of_birth": _clean({"country": place.country, "region": place.region, "locality": place.locality}),
        "nationality": list(person.nationalities),
        "personal_administrative_number": person.personal_number,
        "sex": person.sex,
        "age_in_years": age,
        "age_birth_year": person.birth_date.year,
        "issuing_authority": issuing_authority,
        "issuing_country": issuing_country,
        "issuance_date": today,
        "expiry_date": expiry,
        "document_number": document_number,
    }
    for n in AGE_THRESHOLDS:
        pid[f"age_over_{n}"] = age >= n
    if a is not None:
        pid.update({
            "resident_address": a.formatted, "resident_country": a.country, "resident_state": a.region,
            "resident_city": a.locality, "resident_postal_code": a.postal_code, "resident_street": a.street,
            "resident_house_number": a.number,
        })
    bg = {
        "family_name_latin": person.names.family_latin, "given_name_latin": person.names.given_latin,
        "middle_name": person.names.middle, "middle_name_latin": person.names.middle_latin,
    }
    return {NS_PID: _clean(pid), NS_BG: _clean(bg)}


def select_claims(full: Mapping[str, Any], paths: Iterable[tuple[str, ...]]) -> dict[str, Any]:
    """Keep only the configured claims paths. A path naming an object keeps all of it unless longer paths under
    it are listed too, in which case only those children are kept."""
    paths = [tuple(p) for p in paths]
    out: dict[str, Any] = {}
    for key, value in full.items():
        mine = [p for p in paths if p and p[0] == key]
        if not mine:
            continue
        deeper = [p[1:] for p in mine if len(p) > 1]
        if deeper and isinstance(value, Mapping):
            sub = select_claims(value, deeper)
            if sub:
                out[key] = sub
        else:
            out[key] = value
    return out


def source_fields(paths: Iterable[tuple[str, ...]]) -> list[str]:
    """The register fields the given claims paths are read from (for mdoc paths the element, after the namespace)."""
    fields: set[str] = set()
    for p in paths:
        name = p[1] if len(p) > 1 and p[0] in (NS_PID, NS_BG) else p[0]
        if name == "address" or name.startswith("resident_"):
            fields.update(_ADDRESS_FIELDS)
        elif name.startswith("age_over_"):
            fields.add("birth_date")
        else:
            fields.update(_SOURCES.get(name, ()))
    return sorted(fields)
