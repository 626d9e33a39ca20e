"""Sector identifiers (Art. 4): stable, different across sectors, not derivable without the key, rotation-safe."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfeil.eid import sectors
from portfeil.eid.demo import IssuedToHolder
from portfeil.eid.errors import EidError
from portfeil.eid.registry import EidRegistry
from portfeil.pki.keystore import MemoryKeyStore


async def test_stable_and_different_across_sectors(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    await reg.add_sector("health", "Здравеопазване", "Health")
    await reg.add_sector("finance", "Финанси", "Finance")
    eid = ivan.certificate.electronic_id
    h1 = await reg.sector_id(eid, "health")
    assert h1 == await reg.sector_id(eid, "health")
    f1 = await reg.sector_id(eid, "finance")
    assert h1 != f1
    assert h1.startswith("v1.")
    assert eid.lower() not in h1
    assert eid not in h1


async def test_not_derivable_without_the_key(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    await reg.add_sector("health", "Здравеопазване", "Health")
    eid = ivan.certificate.electronic_id
    sid = await reg.sector_id(eid, "health")
    body = sid.split(".", 1)[1]
    # the obvious unkeyed guesses do not give the identifier
    for guess in (hashlib.sha256(eid.encode()).digest(), hashlib.sha256(f"health|{eid}".encode()).digest(),
                  hmac.new(b"health", eid.encode(), hashlib.sha256).digest()):
        assert sectors.derive(guess, "health", 1, eid).split(".", 1)[1] != body
    other = MemoryKeyStore()
    assert sectors.derive(sectors.sector_key(other, "health", 1, create=True), "health", 1, eid) != sid


async def test_rotation_keeps_existing_identifiers(reg: EidRegistry, ivan: IssuedToHolder, desk: object) -> None:
    from portfeil.eid.demo import issue_to_person

    await reg.add_sector("health", "Здравеопазване", "Health")
    eid = ivan.certificate.electronic_id
    before = await reg.sector_id(eid, "health")
    assert await reg.rotate_sector_key("health") == 2
    assert await reg.sector_id(eid, "health") == before, "a holder keeps the version recorded at first derivation"
    newcomer = await issue_to_person(reg, "8709304914", setup=desk)  # type: ignore[arg-type]
    sid = await reg.sector_id(newcomer.certificate.electronic_id, "health")
    assert sid.startswith("v2.")
    assert sectors.version_of(sid) == 2


async def test_rejects_unknown_sector(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    with pytest.raises(EidError) as e:
        await reg.sector_id(ivan.certificate.electronic_id, "nosuch")
    assert e.value.code == "sector_not_found"


def test_rejects_bad_sector_code() -> None:
    for bad in ("", "A", "x", "../etc", "health sector"):
        with pytest.raises(EidError) as e:
            sectors.check_sector_code(bad)
        assert e.value.code == "invalid_sector_code"


def test_rejects_weak_key() -> None:
    with pytest.raises(EidError) as e:
        sectors.derive(b"short", "health", 1, "EID")
    assert e.value.code == "weak_sector_key"


@given(st.text(max_size=80))
def test_version_of_fuzz(value: str) -> None:
    ok = sectors._SECTOR_ID.fullmatch(value) is not None
    if ok:
        assert sectors.version_of(value) >= 1
    else:
        with pytest.raises(EidError, match="invalid_sector_id"):
            sectors.version_of(value)
