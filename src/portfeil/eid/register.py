"""The public register of eID administrators and eID centres (applications, registration, changes, measures,
termination with reasons), as the Act's registers are kept by the eID authority.

Lifecycle of an entry: ``applied`` -> ``registered`` (or ``refused``); ``registered`` <-> ``suspended`` (an
enforcement measure, lifted by ``reinstate``); ``registered``/``suspended`` -> ``terminated``. A ``warning`` is a
measure that leaves the status unchanged. Every step writes an ``eid_register_events`` row with reason, legal
ground and actor. The public views (JSON, CSV, HTML) show registered, suspended and terminated entries with their
measures; pending and refused applications are not published.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portfeil.bg.identifiers import IdKind, classify
from portfeil.clock import Clock
from portfeil.db import Database, new_id
from portfeil.eid.errors import EidError
from portfeil.eid.models import RegisterEntry, RegisterEvent

KINDS = ("administrator", "centre")
#: documents an application must carry (Regulation for the application of the Act, as understood: see docs/eid.md)
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "administrator": ("application", "security_policy", "conformity_assessment", "insurance"),
    "centre": ("application", "security_policy", "conformity_assessment"),
}
MEASURES = ("warning", "suspension")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
LEGAL = {
    "administrator": "ЗЕИ, глава четвърта (администратори на електронна идентичност)",
    "centre": "ЗЕИ, глава пета (центрове за електронна идентификация)",
}


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Document:
    name: str
    sha256: str


@dataclass(frozen=True)
class EntryView:
    id: str
    kind: str
    name: str
    eik: str
    address: str
    administrator_id: str | None
    is_state_body: bool
    status: str
    documents: tuple[Document, ...]
    applied_at: datetime
    registered_at: datetime | None
    updated_at: datetime
    events: tuple[dict[str, Any], ...] = ()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "name": self.name, "eik": self.eik, "address": self.address,
            "administrator_id": self.administrator_id, "is_state_body": self.is_state_body, "status": self.status,
            "registered_at": self.registered_at.isoformat() if self.registered_at else None,
            "updated_at": self.updated_at.isoformat(),
            "documents": [{"name": d.name, "sha256": d.sha256} for d in self.documents],
            "history": list(self.events),
        }


def _check_eik(eik: str) -> str:
    c = classify(eik)
    if IdKind.EIK not in c.kinds and IdKind.EIK13 not in c.kinds:
        raise EidError("invalid_eik", "not a valid ЕИК/BULSTAT")
    return eik


def _check_documents(kind: str, documents: Sequence[Document]) -> list[dict[str, str]]:
    names = {d.name for d in documents}
    for d in documents:
        if not d.name or len(d.name) > 100 or not isinstance(d.sha256, str) or not _SHA256.fullmatch(d.sha256):
            raise EidError("invalid_document", "each document has a name and a SHA-256 hex digest")
    missing = [n for n in REQUIRED_DOCUMENTS[kind] if n not in names]
    if missing:
        raise EidError("missing_documents", "the application lacks required documents", missing=missing)
    return [{"name": d.name, "sha256": d.sha256} for d in documents]


def _view(e: RegisterEntry, events: Sequence[RegisterEvent] = ()) -> EntryView:
    return EntryView(
        e.id, e.kind, e.name, e.eik, e.address, e.administrator_id, e.is_state_body, e.status,
        tuple(Document(d["name"], d["sha256"]) for d in e.documents), e.applied_at, e.registered_at, e.updated_at,
        tuple(
            {"at": ev.at.isoformat(), "action": ev.action, "reason": ev.reason, "legal_ground": ev.legal_ground}
            for ev in events
        ),
    )


class Register:
    """Use cases of the public register."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def apply(
        self, kind: str, *, name: str, eik: str, address: str, documents: Sequence[Document],
        administrator_id: str | None = None, is_state_body: bool = False, actor: str = "applicant",
    ) -> EntryView:
        """File an application with its documents (names and SHA-256 digests of the filed files)."""
        if kind not in KINDS:
            raise EidError("invalid_kind", "kind is 'administrator' or 'centre'")
        if not name.strip() or len(name) > 200 or not address.strip() or len(address) > 300:
            raise EidError("invalid_application", "name and address are required")
        docs = _check_documents(kind, documents)
        now = self.clock.now()
        async with self.db.transaction() as s:
            if administrator_id is not None:
                adm = await s.get(RegisterEntry, administrator_id)
                if adm is None or adm.kind != "administrator":
                    raise EidError("register_entry_not_found", "no such administrator")
            entry = RegisterEntry(
                id=new_id(), kind=kind, name=name.strip(), eik=_check_eik(eik), address=address.strip(),
                administrator_id=administrator_id, is_state_body=is_state_body, status="applied", documents=docs,
                applied_at=now, updated_at=now,
            )
            s.add(entry)
            s.add(RegisterEvent(entry_id=entry.id, at=now, action="applied", reason=None, legal_ground=LEGAL[kind],
                                actor=actor, details={"documents": [d["name"] for d in docs]}))
        return _view(entry)

    async def _change(
        self, entry_id: str, action: str, allowed_from: tuple[str, ...], to: str | None, *, reason: str | None,
        legal_ground: str | None, actor: str, details: dict[str, Any] | None = None,
    ) -> tuple[EntryView, str | None]:
        now = self.clock.now()
        key: str | None = None
        async with self.db.transaction() as s:
            entry = await s.get(RegisterEntry, entry_id, with_for_update=True)
            if entry is None:
                raise EidError("register_entry_not_found", "no such register entry")
            if entry.status not in allowed_from:
                raise EidError("invalid_transition", f"cannot {action} an entry that is {entry.status}",
                               status=entry.status)
            if to is not None:
                entry.status = to
            if action == "registered":
                entry.registered_at = now
                if entry.kind == "administrator":
                    key = "adm_" + secrets.token_urlsafe(32)
                    entry.api_key_hash = api_key_hash(key)
            if action == "terminated":
                entry.api_key_hash = None
            entry.updated_at = now
            s.add(RegisterEvent(entry_id=entry.id, at=now, action=action, reason=reason,
                                legal_ground=legal_ground or LEGAL[entry.kind], actor=actor, details=details))
        return _view(entry), key

    async def register(
        self, entry_id: str, *, actor: str, legal_ground: str | None = None
    ) -> tuple[EntryView, str | None]:
        """Register an applicant; an administrator gets its issuance-desk API key (returned once, only hashed here)."""
        return await self._change(entry_id, "registered", ("applied",), "registered", reason=None,
                                  legal_ground=legal_ground, actor=actor)

    async def refuse(self, entry_id: str, *, reason: str, actor: str) -> EntryView:
        return (await self._change(entry_id, "refused", ("applied",), "refused", reason=reason, legal_ground=None,
                                   actor=actor))[0]

    async def change(self, entry_id: str, *, actor: str, reason: str, name: str | None = None,
                     address: str | None = None, documents: Sequence[Document] = ()) -> EntryView:
        """Record a change of a registered entry's data (name, address, new documents)."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            entry = await s.get(RegisterEntry, entry_id, with_for_update=True)
            if entry is None:
                raise EidError("register_entry_not_found", "no such register entry")
            if entry.status not in ("registered", "suspended"):
                raise EidError("invalid_transition", f"cannot change an entry that is {entry.status}",
                               status=entry.status)
            old = {"name": entry.name, "address": entry.address}
            if name:
                entry.name = name.strip()
            if address:
                entry.address = address.strip()
            if documents:
                for d in documents:
                    if not _SHA256.fullmatch(d.sha256) or not d.name:
                        raise EidError("invalid_document", "each document has a name and a SHA-256 hex digest")
                added = [{"name": d.name, "sha256": d.sha256} for d in documents]
                entry.documents = [*entry.documents, *added]
            entry.updated_at = now
            s.add(RegisterEvent(entry_id=entry.id, at=now, action="changed", reason=reason,
                                legal_ground=LEGAL[entry.kind], actor=actor,
                                details={"old": old, "new": {"name": entry.name, "address": entry.address}}))
        return _view(entry)

    async def measure(self, entry_id: str, measure: str, *, reason: str, actor: str,
                      legal_ground: str = "ЗЕИ, принудителни административни мерки") -> EntryView:
        """An enforcement measure: ``warning`` (status unchanged) or ``suspension`` (no issuance until reinstated)."""
        if measure not in MEASURES:
            raise EidError("invalid_measure", "a measure is 'warning' or 'suspension'")
        if not reason.strip():
            raise EidError("reason_required", "a measure states its reason")
        to = "suspended" if measure == "suspension" else None
        allowed = ("registered",) if measure == "suspension" else ("registered", "suspended")
        return (await self._change(entry_id, f"measure_{measure}", allowed, to, reason=reason,
                                   legal_ground=legal_ground, actor=actor))[0]

    async def reinstate(self, entry_id: str, *, reason: str, actor: str) -> EntryView:
        return (await self._change(entry_id, "reinstated", ("suspended",), "registered", reason=reason,
                                   legal_ground=None, actor=actor))[0]

    async def terminate(self, entry_id: str, *, reason: str, actor: str) -> EntryView:
        if not reason.strip():
            raise EidError("reason_required", "a termination states its reason")
        return (await self._change(entry_id, "terminated", ("registered", "suspended"), "terminated",
                                   reason=reason, legal_ground=None, actor=actor))[0]

    async def get(self, entry_id: str) -> EntryView:
        async with self.db.session() as s:
            entry = await s.get(RegisterEntry, entry_id)
            if entry is None:
                raise EidError("register_entry_not_found", "no such register entry")
            events = (await s.execute(select(RegisterEvent).where(RegisterEvent.entry_id == entry_id)
                                      .order_by(RegisterEvent.at))).scalars().all()
            return _view(entry, events)

    async def by_api_key(self, key: str) -> EntryView | None:
        async with self.db.session() as s:
            entry = (await s.execute(select(RegisterEntry).where(
                RegisterEntry.api_key_hash == api_key_hash(key)))).scalar_one_or_none()
            return None if entry is None else _view(entry)

    async def entries(self, kind: str | None = None, *, public: bool = False) -> list[EntryView]:
        async with self.db.session() as s:
            stmt = select(RegisterEntry).order_by(RegisterEntry.kind, RegisterEntry.name, RegisterEntry.id)
            if kind is not None:
                stmt = stmt.where(RegisterEntry.kind == kind)
            if public:
                stmt = stmt.where(RegisterEntry.status.in_(("registered", "suspended", "terminated")))
            entries = (await s.execute(stmt)).scalars().all()
            ids = [e.id for e in entries]
            events: dict[str, list[RegisterEvent]] = {i: [] for i in ids}
            if ids:
                for ev in (await s.execute(select(RegisterEvent).where(RegisterEvent.entry_id.in_(ids))
                                           .order_by(RegisterEvent.at))).scalars():
                    events[ev.entry_id].append(ev)
            return [_view(e, events[e.id]) for e in entries]


CSV_COLUMNS = ("id", "kind", "name", "eik", "address", "administrator_id", "is_state_body", "status",
               "registered_at", "updated_at", "documents", "measures")


def to_csv(entries: Sequence[EntryView]) -> str:
    """RFC 4180 CSV of public entries (documents as ``name:sha256`` joined by ``;``, measures likewise)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        p = e.public()
        measures = [f"{ev['at']} {ev['action']}: {ev['reason'] or ''}" for ev in e.events
                    if ev["action"].startswith("measure_") or ev["action"] == "terminated"]
        w.writerow([p["id"], p["kind"], p["name"], p["eik"], p["address"], p["administrator_id"] or "",
                    "true" if p["is_state_body"] else "false", p["status"], p["registered_at"] or "", p["updated_at"],
                    ";".join(f"{d['name']}:{d['sha256']}" for d in p["documents"]), ";".join(measures)])
    return out.getvalue()
