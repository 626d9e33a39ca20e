"""The wallet's transaction log (Art. 5a(4)(d)(i)): every issuance and presentation, with the party, time,
purpose and exactly which claims went out. Encrypted like every other wallet file; never leaves the wallet."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal

from portfeil.wallet.store import WalletStore

__all__ = ["TransactionLog"]

_NAME = "log"
Kind = Literal["issuance", "presentation", "presentation_refused", "deletion", "registration"]


class TransactionLog:
    def __init__(self, store: WalletStore) -> None:
        self.store = store

    def entries(self) -> list[dict[str, Any]]:
        data = self.store.read_json(_NAME, [])
        return list(data) if isinstance(data, list) else []

    def append(self, kind: Kind, *, now: datetime, party: dict[str, Any], purpose: str | None = None,
               claims: list[list[Any]] | None = None, credential_id: str | None = None,
               outcome: str = "ok", **extra: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": secrets.token_hex(8), "kind": kind, "time": now.isoformat(),
                                 "party": party, "purpose": purpose, "claims": claims or [],
                                 "credential_id": credential_id, "outcome": outcome, **extra}
        entries = self.entries()
        entries.append(entry)
        self.store.write_json(_NAME, entries)
        return entry

    def parties(self) -> list[dict[str, Any]]:
        """The dashboard: every party dealt with, how often, when last, and which claims it received."""
        by: dict[str, dict[str, Any]] = {}
        for e in self.entries():
            p = e.get("party") or {}
            key = str(p.get("id") or p.get("name") or "?")
            d = by.setdefault(key, {"id": key, "name": p.get("name") or key, "role": e["kind"], "count": 0,
                                    "first": e["time"], "last": e["time"], "claims": [], "verified":
                                    p.get("verified", True)})
            d["count"] += 1
            d["last"] = e["time"]
            for c in e.get("claims") or []:
                label = "/".join(str(x) for x in c)
                if e["kind"] == "presentation" and label not in d["claims"]:
                    d["claims"].append(label)
        return sorted(by.values(), key=lambda d: d["last"], reverse=True)
