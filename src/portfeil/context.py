"""What every service gets at run time: settings, database, clock, outbox worker, keystore."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portfeil.clock import SYSTEM_CLOCK, Clock
from portfeil.db import Database
from portfeil.outbox import OutboxWorker
from portfeil.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock = SYSTEM_CLOCK
    outbox: OutboxWorker = field(init=False)
    #: per-service singletons (keystores, caches) keyed by service name; services create them in ``setup``
    services: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outbox = OutboxWorker(self.db, clock=self.clock)

    @property
    def public_url(self) -> str:
        return self.settings.effective_public_url

    def url(self, path: str) -> str:
        return self.public_url + (path if path.startswith("/") else "/" + path)


def make_context(settings: Settings, *, clock: Clock = SYSTEM_CLOCK, database_url: str | None = None) -> AppContext:
    return AppContext(settings=settings, db=Database(database_url or settings.effective_database_url), clock=clock)
