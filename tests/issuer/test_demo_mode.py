"""``portfeil demo`` (the issuer/demo-mode marker): status lists with a short ttl, so that a revocation (e.g. after
a death recorded in the population register) reaches the demo verifiers within seconds."""

from __future__ import annotations

from portfeil.context import AppContext
from portfeil.issuer.flows import DEMO_STATUS_LIST_TTL, PidIssuer


async def test_demo_mode_short_status_ttl(ctx: AppContext) -> None:
    marker = ctx.settings.data_dir / "issuer" / "demo-mode"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("demo\n")
    assert PidIssuer(ctx).settings.status_list_ttl_seconds == DEMO_STATUS_LIST_TTL


async def test_normal_mode_keeps_configured_ttl(ctx: AppContext) -> None:
    assert PidIssuer(ctx).settings.status_list_ttl_seconds == 300
