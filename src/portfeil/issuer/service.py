"""The PID provider as a service of the application (URL prefix ``/issuer``; metadata under ``/.well-known``)."""

from __future__ import annotations

from fastapi import APIRouter

from portfeil.context import AppContext
from portfeil.web.service import Service


def _routers(_ctx: AppContext) -> list[APIRouter]:
    from portfeil.issuer.api import build_router
    from portfeil.issuer.pages import build_pages

    return [build_router(), build_pages()]


def subscribe(ctx: AppContext) -> None:
    """Outbox consumers: deaths and data changes (population register), eID certificate life cycle."""
    from portfeil.issuer import lifecycle
    from portfeil.outbox import Event

    async def population_handler(s: object, event: Event) -> None:
        await lifecycle.on_population_event(ctx, s, event)

    async def eid_handler(s: object, event: Event) -> None:
        await lifecycle.on_eid_event(ctx, s, event)

    ctx.outbox.subscribe("issuer.population", lifecycle.POPULATION_TOPICS, population_handler)
    ctx.outbox.subscribe("issuer.eid", lifecycle.EID_TOPICS, eid_handler)


async def setup(ctx: AppContext) -> None:
    """Load or create the signing keys and certificates (through the trust registry); subscribe to events."""
    from portfeil.issuer.flows import PidIssuer

    await PidIssuer.of(ctx)
    subscribe(ctx)


async def demo_seed(ctx: AppContext) -> None:
    """``portfeil demo`` only: mark the data directory so that the authorization page offers the clearly labelled
    demo signing button (the demo person's PKCS#12 written by the eID registry's demo seed)."""
    from portfeil.issuer.pages import DEMO_MARKER

    marker = ctx.settings.data_dir / DEMO_MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("demo\n")


SERVICE = Service(
    name="issuer",
    title="PID provider / Доставчик на лични данни",
    routers=_routers,
    setup=setup,
    demo_seed=demo_seed,
    links=(("PID provider", "/issuer/"), ("Issuer metadata", "/.well-known/openid-credential-issuer/issuer")),
)
