"""``portfeil issuer ...`` against an embedded database in a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import invoke

IVAN = "8506258485"





def test_offer_revoke_and_refusals(data_dir: Path) -> None:
    import asyncio

    from portfeil.clitools import with_context
    from portfeil.clock import SYSTEM_CLOCK
    from portfeil.sources.seed import seed_demo_persons

    async def seed(ctx: object) -> None:
        await seed_demo_persons(ctx.db, clock=SYSTEM_CLOCK)  # type: ignore[attr-defined]

    asyncio.run(with_context(seed))
    code, out = invoke("issuer", "offer", "--person", IVAN, "--config", "pid_sd_jwt", "--qr",
                       str(data_dir / "offer.png"), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["credential_offer_uri"].startswith("openid-credential-offer://?credential_offer=")
    assert len(data["tx_code"]) == 6
    assert (data_dir / "offer.png").read_bytes().startswith(b"\x89PNG")

    code, out = invoke("issuer", "revoke", "--person", IVAN, "--reason", "operator", "--json")
    assert code == 0, out
    assert json.loads(out)["changed"] == 0  # nothing issued yet

    code, out = invoke("issuer", "offer", "--person", "0000000000", "--json")
    assert code == 1
    assert "error" in json.loads(out)
    code, out = invoke("issuer", "revoke", "--person", IVAN, "--reason", "whim", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "invalid_reason"


def test_configs_listed(data_dir: Path) -> None:
    code, out = invoke("issuer", "configs", "--json")
    assert code == 0
    assert {c["id"] for c in json.loads(out)} >= {"pid_sd_jwt", "pid_mdoc", "pid_bg_sd_jwt"}
