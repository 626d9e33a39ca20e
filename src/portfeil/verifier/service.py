"""The relying-party verifier as a service of the application (``/verifier``, demo services under ``/demo``)."""

from __future__ import annotations

from fastapi import APIRouter

from portfeil.context import AppContext
from portfeil.web.service import Service


def _routers(_ctx: AppContext) -> list[APIRouter]:
    from portfeil.verifier.api import build_router
    from portfeil.verifier.pages import build_pages

    return [build_router(), build_pages()]


async def setup(ctx: AppContext) -> None:
    """Create the verifier; deliver signed webhooks through the outbox (retried until accepted)."""
    from portfeil.verifier.transactions import WEBHOOK_TOPIC, Verifier

    verifier = await Verifier.of(ctx)
    ctx.outbox.subscribe("verifier.webhooks", {WEBHOOK_TOPIC}, verifier.on_webhook_event)


async def demo_seed(ctx: AppContext) -> None:
    """Register the two demo relying parties with the trust registry (idempotent)."""
    from portfeil.verifier.pages import DEMOS
    from portfeil.verifier.transactions import Verifier

    verifier = await Verifier.of(ctx)
    for demo in DEMOS.values():
        await verifier.ensure_party(demo.party_slug, name=demo.party_name, eik=demo.eik, templates=(demo.template,))


SERVICE = Service(
    name="verifier",
    title="Relying-party verifier / Проверяваща страна",
    routers=_routers,
    setup=setup,
    demo_seed=demo_seed,
    links=(("e-Gov login demo", "/demo/egov/"), ("Age check demo", "/demo/age/")),
)
