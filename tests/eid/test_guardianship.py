"""Issuance for an adult under judicial disability (ЗЕИ: the application of a person under guardianship is co-signed
by the guardian, who also appeared; Persons and Family Act, Art. 5): the same path as a minor's, read from the
population register's court-appointed guardian or trustee. Lifting the disability makes the adult sign alone."""

from __future__ import annotations

from datetime import date

import pytest

from portfeil.context import AppContext
from portfeil.eid.demo import DemoSetup, IssuedToHolder, issue_to_person
from portfeil.eid.errors import EidError
from portfeil.eid.holder import generate_key, make_csr, sign_challenge
from portfeil.eid.models import Certificate
from portfeil.eid.registry import EidRegistry, IssueRequest
from portfeil.sources import registry as population
from tests.eid.conftest import ELENA, IVAN, make_person

DOC = "700000001"
DECISION = "СРС, гр. д. 1234/2026"


def _req(desk: DemoSetup, personal_number: str, **kw: object) -> IssueRequest:
    return IssueRequest(personal_number=personal_number, csr=make_csr(generate_key()),
                        administrator_id=desk.administrator.id, officer="officer A", document_number=DOC,
                        centre_id=desk.centre.id, **kw)  # type: ignore[arg-type]


async def _ward(ctx: AppContext, capacity: str = "none") -> str:
    """An adult (born 1990) placed under judicial disability with Иван as guardian (or trustee)."""
    egn = await make_person(ctx, date(1990, 3, 4), doc=DOC)
    await population.place_under_guardianship(ctx.db, egn, IVAN, capacity=capacity,  # type: ignore[arg-type]
                                              since=date(2026, 10, 1), court_decision=DECISION, clock=ctx.clock)
    return egn


async def test_rejects_ward_without_co_signer(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    ward = await _ward(ctx)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, ward))
    assert e.value.code == "co_signer_required"


async def test_rejects_ward_co_signer_who_is_not_their_guardian(reg: EidRegistry, desk: DemoSetup,
                                                                ctx: AppContext) -> None:
    ward = await _ward(ctx)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, ward, co_signer_personal_number=ELENA, co_signer_appeared=True))
    assert e.value.code == "co_signer_not_representative"


async def test_rejects_ward_guardian_who_did_not_appear(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    ward = await _ward(ctx)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, ward, co_signer_personal_number=IVAN, co_signer_appeared=False))
    assert e.value.code == "co_signer_appearance_required"


@pytest.mark.parametrize(("capacity", "kind"), [("none", "guardian"), ("limited", "trustee")])
async def test_accepts_ward_with_guardian_who_appeared(reg: EidRegistry, desk: DemoSetup, ctx: AppContext,
                                                       capacity: str, kind: str) -> None:
    ward = await _ward(ctx, capacity)
    cert = await reg.issue(_req(desk, ward, co_signer_personal_number=IVAN, co_signer_appeared=True))
    assert cert.status == "active"
    ivan = await population.get_person_by_number(ctx.db, IVAN, clock=ctx.clock)
    async with reg.db.session() as s:
        row = await s.get(Certificate, cert.serial)
    assert row is not None
    assert row.co_signer is not None
    assert (row.co_signer["person_id"], row.co_signer["kind"]) == (ivan.id, kind)


async def test_rejects_former_guardian_after_a_new_decision(reg: EidRegistry, desk: DemoSetup,
                                                            ctx: AppContext) -> None:
    ward = await _ward(ctx)
    await population.place_under_guardianship(ctx.db, ward, ELENA, capacity="limited", since=date(2026, 11, 1),
                                              court_decision="СГС 5/2026", clock=ctx.clock)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, ward, co_signer_personal_number=IVAN, co_signer_appeared=True))
    assert e.value.code == "co_signer_not_representative"
    cert = await reg.issue(_req(desk, ward, co_signer_personal_number=ELENA, co_signer_appeared=True))
    assert cert.status == "active"


async def test_lifting_guardianship_adult_signs_alone(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    ward = await _ward(ctx)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, ward))
    assert e.value.code == "co_signer_required"
    await population.lift_guardianship(ctx.db, ward, on=date(2026, 11, 20), court_decision="СРС 99/2026",
                                       clock=ctx.clock)
    cert = await reg.issue(_req(desk, ward))
    async with reg.db.session() as s:
        row = await s.get(Certificate, cert.serial)
    assert row is not None
    assert row.co_signer is None


async def test_renewal_refused_online_for_ward(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    ward = await _ward(ctx)
    holder: IssuedToHolder = await issue_to_person(reg, ward, setup=desk, co_signer=IVAN)
    ctx.clock.advance(days=5 * 365 - 30)  # type: ignore[attr-defined]
    ch = await reg.new_challenge()
    with pytest.raises(EidError) as e:
        await reg.renew(holder.certificate.serial, make_csr(generate_key()), ch.challenge,
                        sign_challenge(holder.holder.key, ch.challenge))
    assert e.value.code == "co_signer_required"
