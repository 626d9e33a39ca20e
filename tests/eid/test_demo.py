"""The demo seed: administrator, centre, sectors, PID provider with its service, and the demo adult's PKCS#12."""

from __future__ import annotations

import json

from portfeil.context import AppContext
from portfeil.eid.demo import DEMO_P12_PASSPHRASE, demo_p12_path, demo_seed
from portfeil.eid.holder import authentication, load_p12
from portfeil.eid.registry import EidRegistry
from portfeil.eid.service import CONSUMER, setup


async def test_demo_seed_is_idempotent_and_usable(ctx: AppContext, reg: EidRegistry, people: dict[str, str]) -> None:
    await demo_seed(ctx)
    await demo_seed(ctx)
    holder = load_p12(demo_p12_path(ctx.settings.data_dir), DEMO_P12_PASSPHRASE)
    assert holder.certificate is not None
    assert len(await reg.certificates(status="active")) == 1
    keys = json.loads((ctx.settings.data_dir / "eid" / "demo-keys.json").read_text())
    provider = await reg.provider_by_key(keys["pid_provider_api_key"])
    assert provider is not None
    assert provider.is_state_body
    ch = await reg.new_challenge()
    vid = await reg.verify_authentication(keys["pid_service_id"], **authentication(holder, ch.challenge),
                                          provider_id=provider.id)
    assert vid.personal_number == "8506258485"
    assert vid.attributes["family_name"] == "Иванов"
    assert await reg.billing() == [], "state bodies verify free of charge"
    assert {s["code"] for s in await reg.sectors()} == {"health", "finance"}
    public = await reg.register.entries(public=True)
    assert {e.kind for e in public} == {"administrator", "centre"}


async def test_setup_subscribes_once(ctx: AppContext, reg: EidRegistry) -> None:
    await setup(ctx)
    await setup(ctx)
    assert [s.consumer for s in ctx.outbox.subscriptions].count(CONSUMER) == 1
