"""Status lists of the PID provider (draft-ietf-oauth-status-list-13) and the life cycle of issued credentials.

* Every credential gets a position ``(list, idx)``. Indices come from the keyed random permutation of
  :class:`~portfeil.formats.status_list.IndexAllocator` (§12.5.1: not sequential, no double allocation). A process
  reserves blocks of allocator counters in one short transaction (``SELECT ... FOR UPDATE`` on the list row) and
  hands them out from memory, so issuance does not serialise on the list row; an index reserved by a process that
  dies is simply never used (it stays VALID, §13.3).
* Lists use 2 bits: VALID, INVALID (revoked, final) and SUSPENDED (reversible).
* ``GET /issuer/status/<id>`` serves the list as ``statuslist+jwt`` or, when the Accept header asks for it,
  ``statuslist+cwt``; the token is re-signed when a status changed (``version``) or its ``ttl`` ran out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.db import Database
from portfeil.formats.status_list import (
    INVALID,
    SUSPENDED,
    AllocatorState,
    IndexAllocator,
    StatusList,
    issue_status_list_cwt,
    issue_status_list_jwt,
)
from portfeil.issuer.errors import IssuerError, IssuerNotFound
from portfeil.issuer.keys import SigningMaterial
from portfeil.issuer.models import IssCredential, IssStatusList

BITS = 2
BLOCK = 256
STATUS_VALUES = {"valid": 0, "revoked": INVALID, "suspended": SUSPENDED}


@dataclass
class _Block:
    list_id: str
    allocator: IndexAllocator
    next: int
    end: int


class StatusLists:
    """Allocation of status positions and publication of the lists, for one process."""

    def __init__(self, db: Database, *, size: int, ttl: int, uri_for: object) -> None:
        self.db = db
        self.size = size
        self.ttl = ttl
        self._uri_for = uri_for
        self._block: _Block | None = None
        self._lock = asyncio.Lock()
        self._tokens: dict[tuple[str, str], tuple[int, float, bytes | str]] = {}

    def uri(self, list_id: str) -> str:
        assert callable(self._uri_for)
        value = self._uri_for(f"/issuer/status/{list_id}")
        assert isinstance(value, str)
        return value

    async def _reserve(self, now: datetime) -> _Block:
        from portfeil.db import new_id

        async with self.db.transaction() as s:
            row = (await s.execute(
                select(IssStatusList).where(IssStatusList.active.is_(True)).order_by(IssStatusList.created_at)
                .limit(1).with_for_update()
            )).scalar_one_or_none()
            if row is not None:
                state = AllocatorState.from_dict(row.allocator)
                if state.counter >= state.size:
                    row.active = False
                    row = None
            if row is None:
                alloc = IndexAllocator(self.size)
                row = IssStatusList(id=new_id().replace("-", "")[:16], size=self.size, bits=BITS,
                                    allocator=alloc.state.to_dict(), active=True, created_at=now, version=0)
                s.add(row)
                state = alloc.state
            start = state.counter
            end = min(state.size, start + BLOCK)
            row.allocator = AllocatorState(size=state.size, key=state.key, counter=end).to_dict()
            list_id = row.id
        return _Block(list_id, IndexAllocator.from_state(state), start, end)

    async def allocate(self, count: int, now: datetime) -> list[tuple[str, int]]:
        """``count`` fresh, never-used positions (list id, index)."""
        out: list[tuple[str, int]] = []
        async with self._lock:
            while len(out) < count:
                if self._block is None or self._block.next >= self._block.end:
                    self._block = await self._reserve(now)
                b = self._block
                out.append((b.list_id, b.allocator.permute(b.next)))
                b.next += 1
        return out

    # -- publication ----------------------------------------------------------------------------------------
    async def token(self, list_id: str, *, form: str, signer: SigningMaterial, now: datetime) -> bytes | str:
        """The signed Status List Token of ``list_id`` (§5.1 JWT or §5.2 CWT), cached until changed or stale."""
        async with self.db.session() as s:
            row = await s.get(IssStatusList, list_id)
            if row is None:
                raise IssuerNotFound("unknown_status_list", "no such status list")
            version, size = row.version, row.size
            cached = self._tokens.get((list_id, form))
            if cached is not None and cached[0] == version and cached[1] > time.monotonic():
                return cached[2]
            rows = (await s.execute(
                select(IssCredential.status_idx, IssCredential.status)
                .where(IssCredential.status_list_id == list_id, IssCredential.status != "valid")
            )).all()
        sl = StatusList(size, BITS)
        for idx, status in rows:
            sl.set(idx, STATUS_VALUES[status])
        uri = self.uri(list_id)
        exp = int(now.timestamp()) + 2 * self.ttl
        token: bytes | str
        if form == "cwt":
            token = issue_status_list_cwt(sl, uri=uri, key=signer.key, now=now, exp=exp, ttl=self.ttl,
                                          x5chain=list(signer.chain))
        else:
            token = issue_status_list_jwt(sl, uri=uri, key=signer.key, now=now, exp=exp, ttl=self.ttl,
                                          x5c=list(signer.chain))
        self._tokens[(list_id, form)] = (version, time.monotonic() + self.ttl / 2, token)
        return token


async def change_status(
    s: AsyncSession, credentials: Iterable[IssCredential], status: str, reason: str, now: datetime,
    *, only_from: Sequence[str] = ("valid", "suspended"),
) -> int:
    """Set ``status`` on credentials (in the caller's transaction) and bump their lists' versions. A revoked
    credential stays revoked (INVALID is final, §7.1)."""
    if status not in STATUS_VALUES:
        raise IssuerError("invalid_status", "status must be valid, suspended or revoked")
    lists: set[str] = set()
    n = 0
    for c in credentials:
        if c.status == "revoked" or c.status not in only_from or c.status == status:
            continue
        c.status, c.status_reason, c.status_changed_at = status, reason[:40], now
        lists.add(c.status_list_id)
        n += 1
    for list_id in lists:
        await s.execute(update(IssStatusList).where(IssStatusList.id == list_id)
                        .values(version=IssStatusList.version + 1))
    return n
