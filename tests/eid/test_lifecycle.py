"""Lifecycle (suspend, resume, terminate, expiry, renewal) with the legal reason on every transition, population
register events consumed through the outbox, and the eid.certificate_* events emitted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portfeil.context import AppContext
from portfeil.eid.demo import DemoSetup, IssuedToHolder, issue_to_person
from portfeil.eid.errors import EidError
from portfeil.eid.holder import generate_key, make_csr, sign_challenge
from portfeil.eid.registry import CertificateView, EidRegistry
from portfeil.eid.service import setup
from portfeil.outbox import OutboxEvent
from portfeil.sources import registry as population
from tests.eid.conftest import ELENA, IVAN, MARIA


async def _events(ctx: AppContext, topic: str) -> list[dict[str, object]]:
    async with ctx.db.session() as s:
        rows = (await s.execute(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.seq)))
        return [dict(r.payload) for r in rows.scalars()]


async def test_suspend_resume_terminate_with_reasons(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    serial = ivan.certificate.serial
    c = await reg.suspend(serial, "holder_request", actor="desk", identity_checked=True)
    assert c.status == "suspended"
    assert c.status_reason == "holder_request"
    c = await reg.resume(serial, actor="desk", identity_checked=True)
    assert c.status == "active"
    c2 = await reg.terminate(serial, "holder_request", actor="desk")
    assert c2 is not None
    assert c2.status == "terminated"
    steps = [(t["from"], t["to"], t["reason"]) for t in c2.transitions]
    assert steps == [(None, "active", "issued"), ("active", "suspended", "holder_request"),
                     ("suspended", "active", "holder_request"), ("active", "terminated", "holder_request")]
    assert all(t["article"].startswith("ЗЕИ") and t["actor"] and t["at"] for t in c2.transitions)
    for topic, reason in (("eid.certificate_suspended", "holder_request"), ("eid.certificate_resumed",
                                                                             "holder_request"),
                          ("eid.certificate_terminated", "holder_request")):
        ev = await _events(ctx, topic)
        assert ev == [{"certificate_serial": serial, "electronic_id": ivan.certificate.electronic_id,
                       "reason": reason}]


async def test_rejects_invalid_transitions(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    serial = ivan.certificate.serial
    with pytest.raises(EidError) as e:
        await reg.resume(serial, actor="x", identity_checked=True)
    assert e.value.code == "invalid_transition"
    assert e.value.status == 409
    await reg.suspend(serial, "authority_cause", actor="authority")
    with pytest.raises(EidError) as e:
        await reg.suspend(serial, "authority_cause", actor="authority")
    assert e.value.code == "invalid_transition"
    await reg.terminate(serial, "compromise", actor="authority")
    for call in (reg.suspend(serial, "authority_cause", actor="a"),
                 reg.resume(serial, actor="a", identity_checked=True),
                 reg.terminate(serial, "false_data", actor="a")):
        with pytest.raises(EidError) as e:
            await call
        assert e.value.code == "invalid_transition"


async def test_rejects_unknown_reason(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    with pytest.raises(EidError) as e:
        await reg.suspend(ivan.certificate.serial, "boredom", actor="a")
    assert e.value.code == "invalid_reason"
    with pytest.raises(EidError) as e:
        await reg.terminate(ivan.certificate.serial, "boredom", actor="a")
    assert e.value.code == "invalid_reason"


async def test_holder_suspension_requires_identity_check(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    with pytest.raises(EidError) as e:
        await reg.suspend(ivan.certificate.serial, "holder_request", actor="someone")
    assert e.value.code == "identity_check_required"
    with pytest.raises(EidError) as e:
        await reg.resume(ivan.certificate.serial, actor="someone")
    assert e.value.code == "identity_check_required"


async def test_misuse_report_suspends_and_notifies_holder(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    with pytest.raises(EidError) as e:
        await reg.suspend(ivan.certificate.serial, "misuse_report", actor="reporter:bank")
    assert e.value.code == "misuse_evidence_required"
    await reg.suspend(ivan.certificate.serial, "misuse_report", actor="reporter:bank", note="seen in phishing kit")
    person_id = await reg.person_of(ivan.certificate.electronic_id)
    notes = await reg.notifications(person_id)
    assert [n["kind"] for n in notes] == ["suspended_misuse_report"]


async def test_resume_refused_after_expiry(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    ctx.clock.advance(days=5 * 365 + 5)  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await reg.resume(ivan.certificate.serial, actor="x", identity_checked=True)
    assert e.value.code == "certificate_expired"


async def test_expiry_job_terminates_with_reason_expiry(reg: EidRegistry, ivan: IssuedToHolder,
                                                        ctx: AppContext) -> None:
    assert await reg.expire_due() == 0
    ctx.clock.advance(days=5 * 365 + 2)  # type: ignore[attr-defined]
    assert await reg.expire_due() == 1
    c = await reg.get(ivan.certificate.serial)
    assert c.status == "terminated"
    assert c.status_reason == "expiry"


async def test_death_terminates_all_certificates(reg: EidRegistry, desk: DemoSetup, ivan: IssuedToHolder,
                                                 ctx: AppContext) -> None:
    second = await issue_to_person(reg, IVAN, setup=desk)
    await setup(ctx)
    ctx.clock.advance(days=1)  # type: ignore[attr-defined]
    await population.record_death(ctx.db, IVAN, ctx.clock.now().date(), clock=ctx.clock)
    await ctx.outbox.drain()
    for serial in (ivan.certificate.serial, second.certificate.serial):
        c = await reg.get(serial)
        assert c.status == "terminated"
        assert c.status_reason == "death"
        assert c.transitions[-1]["actor"] == "population:population.person_died"
    assert {e["certificate_serial"] for e in await _events(ctx, "eid.certificate_terminated")} == {
        ivan.certificate.serial, second.certificate.serial}
    await ctx.outbox.drain()  # idempotent: a second drain changes nothing
    assert len(await _events(ctx, "eid.certificate_terminated")) == 2


async def test_name_change_terminates_address_change_does_not(reg: EidRegistry, ivan: IssuedToHolder,
                                                              ctx: AppContext) -> None:
    await setup(ctx)
    await population.update_person(ctx.db, IVAN, {"current_address": population.AddressRecord("BG", "Варна")},
                                   clock=ctx.clock)
    await ctx.outbox.drain()
    assert (await reg.get(ivan.certificate.serial)).status == "active"
    await population.update_person(ctx.db, IVAN, {"family_name": "Иванов-Петров"}, clock=ctx.clock)
    await ctx.outbox.drain()
    c = await reg.get(ivan.certificate.serial)
    assert c.status == "terminated"
    assert c.status_reason == "data_change"


async def test_lost_document_suspends_certificate_issued_on_it(reg: EidRegistry, ivan: IssuedToHolder,
                                                               ctx: AppContext) -> None:
    await setup(ctx)
    await population.invalidate_document(ctx.db, "381234567", clock=ctx.clock, status="lost")  # the passport
    await ctx.outbox.drain()
    assert (await reg.get(ivan.certificate.serial)).status == "active", "issued on the identity card, not this"
    await population.invalidate_document(ctx.db, "645123450", clock=ctx.clock, status="lost")
    await ctx.outbox.drain()
    c = await reg.get(ivan.certificate.serial)
    assert c.status == "suspended"
    assert c.status_reason == "document_lost"
    kinds = [n["kind"] for n in await reg.notifications(await reg.person_of(c.electronic_id))]
    assert kinds == ["suspended_document_lost"]


async def test_invalidated_document_only_notifies(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    await setup(ctx)
    await population.invalidate_document(ctx.db, "645123450", clock=ctx.clock, status="invalidated")
    await ctx.outbox.drain()
    c = await reg.get(ivan.certificate.serial)
    assert c.status == "active"
    assert [n["kind"] for n in await reg.notifications(await reg.person_of(c.electronic_id))] == [
        "document_invalidated"]


async def test_events_of_other_people_leave_certificates_alone(reg: EidRegistry, ivan: IssuedToHolder,
                                                               ctx: AppContext) -> None:
    await setup(ctx)
    await population.update_person(ctx.db, ELENA, {"family_name": "Петрова"}, clock=ctx.clock)
    await ctx.outbox.drain()
    assert (await reg.get(ivan.certificate.serial)).status == "active"


async def _renew(reg: EidRegistry, holder: IssuedToHolder, *, key: object | None = None) -> CertificateView:
    ch = await reg.new_challenge()
    new_key = generate_key()
    return await reg.renew(holder.certificate.serial, make_csr(key or new_key),  # type: ignore[arg-type]
                           ch.challenge, sign_challenge(holder.holder.key, ch.challenge))


async def test_renewal_too_early_refused(reg: EidRegistry, ivan: IssuedToHolder) -> None:
    with pytest.raises(EidError) as e:
        await _renew(reg, ivan)
    assert e.value.code == "renewal_too_early"


async def test_online_renewal_before_expiry(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    ctx.clock.advance(days=5 * 365 - 30)  # type: ignore[attr-defined]
    new = await _renew(reg, ivan)
    assert new.status == "active"
    assert new.renewed_from == ivan.certificate.serial
    assert new.electronic_id == ivan.certificate.electronic_id
    old = await reg.get(ivan.certificate.serial)
    assert old.status == "terminated"
    assert old.status_reason == "renewal"


async def test_renewal_refuses_signature_of_another_key(reg: EidRegistry, ivan: IssuedToHolder,
                                                        ctx: AppContext) -> None:
    ctx.clock.advance(days=5 * 365 - 30)  # type: ignore[attr-defined]
    ch = await reg.new_challenge()
    with pytest.raises(EidError) as e:
        await reg.renew(ivan.certificate.serial, make_csr(generate_key()), ch.challenge,
                        sign_challenge(generate_key(), ch.challenge))
    assert e.value.code == "invalid_signature"


async def test_renewal_refuses_key_reuse(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    ctx.clock.advance(days=5 * 365 - 30)  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await _renew(reg, ivan, key=ivan.holder.key)
    assert e.value.code == "key_reuse"


async def test_renewal_refused_for_suspended(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    ctx.clock.advance(days=5 * 365 - 30)  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await _renew(reg, ivan)
    assert e.value.code == "invalid_transition"


async def test_minor_certificate_after_coming_of_age_stays(reg: EidRegistry, desk: DemoSetup,
                                                            ctx: AppContext) -> None:
    maria = await issue_to_person(reg, MARIA, setup=desk, co_signer=IVAN)
    ctx.clock.set(ctx.clock.now().replace(year=2029, month=5, day=1))  # type: ignore[attr-defined]
    assert (await reg.get(maria.certificate.serial)).status == "active"
    assert date(2029, 5, 1) - date(2011, 4, 12) > timedelta(days=18 * 365)
