"""Revocation and suspension of issued PIDs: by an operator, and automatically from outbox events.

Rules (docs/issuer.md explains the reasoning):

* ``population.person_died`` -> every PID of the person is **revoked** (INVALID, final).
* ``population.person_changed`` naming a field a PID was issued on (names, birth data, nationalities, addresses,
  personal number, sex) -> those PIDs are **revoked**: the attested data are no longer true, and a suspension
  could never be lifted (the old values do not come back); the citizen asks for a new PID.
* ``population.document_invalidated`` -> no effect: the PID is issued from the population register, not from the
  identity card.
* ``eid.certificate_suspended`` -> PIDs obtained by authenticating with that certificate are **suspended**
  (someone else may have used a lost card); ``eid.certificate_resumed`` lifts exactly those suspensions.
* ``eid.certificate_terminated``: reasons ``compromise`` and ``false_data`` -> those PIDs are **revoked** (they
  may have been obtained by someone else or on false data); a PID still suspended because of that certificate is
  revoked too (it can no longer be resumed); other reasons (expiry, renewal, holder request, data change, death)
  leave the PID valid - the PID attests identity data, the eID was only the means of authentication at issuance,
  and its expiry says nothing about the person (death and data changes arrive through the population events).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from portfeil.context import AppContext
from portfeil.issuer.errors import IssuerError, IssuerNotFound
from portfeil.issuer.models import IssCredential
from portfeil.issuer.status import change_status
from portfeil.outbox import Event
from portfeil.sources import registry as population

log = logging.getLogger("portfeil.issuer")

TOPIC_DIED = "population.person_died"
TOPIC_CHANGED = "population.person_changed"
TOPIC_EID_TERMINATED = "eid.certificate_terminated"
TOPIC_EID_SUSPENDED = "eid.certificate_suspended"
TOPIC_EID_RESUMED = "eid.certificate_resumed"
POPULATION_TOPICS = frozenset({TOPIC_DIED, TOPIC_CHANGED})
EID_TOPICS = frozenset({TOPIC_EID_TERMINATED, TOPIC_EID_SUSPENDED, TOPIC_EID_RESUMED})
EID_REVOKING_REASONS = frozenset({"compromise", "false_data"})
OPERATOR_REASONS = frozenset({"operator", "holder_request", "compromised", "false_data", "holder_death",
                              "data_changed", "legal_order"})
_EID_SUSPENSION = "eid_suspended"


def _event_fields(payload: dict[str, Any]) -> set[str]:
    fields = payload.get("fields")
    if not isinstance(fields, list):
        return set()
    out = {f for f in fields if isinstance(f, str)}
    if "names" in out:  # a registration-level change names the group
        out |= {"given_name", "middle_name", "family_name", "given_name_latin", "middle_name_latin",
                "family_name_latin"}
    return out


async def on_population_event(ctx: AppContext, s: Any, event: Event) -> None:
    """Outbox consumer ``issuer.population`` (in the delivery transaction: idempotent with it)."""
    person_id = event.payload.get("person_id")
    if not isinstance(person_id, str):
        return
    rows = (await s.execute(select(IssCredential).where(IssCredential.person_id == person_id,
                                                        IssCredential.status != "revoked"))).scalars().all()
    now = ctx.clock.now()
    if event.topic == TOPIC_DIED:
        n = await change_status(s, rows, "revoked", "holder_death", now)
    elif event.topic == TOPIC_CHANGED:
        if event.payload.get("change") == "registered":
            return
        changed = _event_fields(event.payload)
        hit = [c for c in rows if changed & set(c.source_fields)]
        n = await change_status(s, hit, "revoked", "data_changed", now)
    else:
        return
    if n:
        log.info("PIDs revoked", extra={"event": "issuer_auto_revoked", "topic": event.topic, "count": n})


async def on_eid_event(ctx: AppContext, s: Any, event: Event) -> None:
    """Outbox consumer ``issuer.eid``: suspension, resumption and termination of the eID certificate used."""
    serial = event.payload.get("certificate_serial")
    if not isinstance(serial, str):
        return
    rows = (await s.execute(select(IssCredential).where(IssCredential.eid_serial == serial,
                                                        IssCredential.status != "revoked"))).scalars().all()
    now = ctx.clock.now()
    reason = event.payload.get("reason")
    n = 0
    if event.topic == TOPIC_EID_SUSPENDED:
        n = await change_status(s, rows, "suspended", _EID_SUSPENSION, now, only_from=("valid",))
    elif event.topic == TOPIC_EID_RESUMED:
        mine = [c for c in rows if c.status == "suspended" and c.status_reason == _EID_SUSPENSION]
        n = await change_status(s, mine, "valid", "eid_resumed", now, only_from=("suspended",))
    elif event.topic == TOPIC_EID_TERMINATED:
        if reason in EID_REVOKING_REASONS:
            n = await change_status(s, rows, "revoked", f"eid_{reason}", now)
        else:
            mine = [c for c in rows if c.status == "suspended" and c.status_reason == _EID_SUSPENSION]
            n = await change_status(s, mine, "revoked", "eid_terminated", now)
    if n:
        log.info("PIDs changed by eID event", extra={"event": "issuer_auto_status", "topic": event.topic,
                                                      "count": n})


async def set_status(
    ctx: AppContext, *, person_ref: str | None = None, credential_id: str | None = None, status: str = "revoked",
    reason: str = "operator",
) -> dict[str, Any]:
    """Operator: revoke (or suspend / reinstate) the PIDs of a person, or one credential."""
    if (person_ref is None) == (credential_id is None):
        raise IssuerError("invalid_request", "give exactly one of a person and a credential")
    if reason not in OPERATOR_REASONS:
        raise IssuerError("invalid_reason", "unknown reason", reasons=sorted(OPERATOR_REASONS))
    person_id = None
    if person_ref is not None:
        person_id = (await population.find_person(ctx.db, person_ref, clock=ctx.clock)).id
    async with ctx.db.transaction() as s:
        stmt = select(IssCredential)
        stmt = stmt.where(IssCredential.person_id == person_id) if person_id else stmt.where(
            IssCredential.id == credential_id)
        rows = (await s.execute(stmt)).scalars().all()
        if credential_id is not None and not rows:
            raise IssuerNotFound("credential_not_found", "no such credential")
        only_from = ("suspended",) if status == "valid" else ("valid", "suspended")
        n = await change_status(s, rows, status, reason, ctx.clock.now(), only_from=only_from)
        ids = [r.id for r in rows]
    log.info("PID status changed by operator", extra={"event": "issuer_operator_status", "status": status,
                                                       "count": n})
    return {"changed": n, "status": status, "reason": reason, "credentials": ids}


async def credentials_of(ctx: AppContext, person_ref: str) -> list[dict[str, Any]]:
    person = await population.find_person(ctx.db, person_ref, clock=ctx.clock)
    async with ctx.db.session() as s:
        rows = (await s.execute(select(IssCredential).where(IssCredential.person_id == person.id)
                                .order_by(IssCredential.issued_at))).scalars().all()
    return [{"id": r.id, "configuration": r.config_id, "format": r.format, "status": r.status,
             "reason": r.status_reason, "status_list": r.status_list_id, "idx": r.status_idx,
             "issued_at": r.issued_at.isoformat(), "expires_at": r.expires_at.isoformat(),
             "notification_event": r.notification_event} for r in rows]
