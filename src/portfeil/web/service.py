"""How a service plugs into the application.

Each service module (``portfeil.<area>.service``) defines ``SERVICE = Service(...)``; :mod:`portfeil.app` lists them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter

from portfeil.context import AppContext


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    #: builds the service's routers (API and pages) for a context
    routers: Callable[[AppContext], list[APIRouter]]
    #: called once at start-up, after migrations (create keys, load caches, subscribe to outbox topics)
    setup: Callable[[AppContext], Awaitable[None]] | None = None
    #: fills an empty database with demo data (``portfeil demo``); must be idempotent
    demo_seed: Callable[[AppContext], Awaitable[None]] | None = None
    #: pages a person would open, shown by ``portfeil demo``: (label, path)
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)
