"""Demo and test helpers: a demo administrator and centre, a "PID provider" service provider, and an end-to-end
issuance to a seeded person (key generation + CSR + issuance at the demo administrator's desk)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from portfeil.context import AppContext
from portfeil.eid.holder import HolderKey, generate_key, make_csr, save_p12
from portfeil.eid.register import REQUIRED_DOCUMENTS, Document, EntryView
from portfeil.eid.registry import CertificateView, EidRegistry, IssueRequest
from portfeil.sources import registry as population

DEMO_ADMINISTRATOR = "Демо администратор на електронна идентичност"
DEMO_CENTRE = "Демо център за електронна идентификация"
DEMO_PROVIDER = "PID provider (portfeil)"
DEMO_HOLDER_EGN = "8506258485"
DEMO_P12_PASSPHRASE = "portfeil-demo-eid"  # noqa: S105 - documented demo passphrase
PID_ATTRIBUTES = ("personal_number", "given_name", "middle_name", "family_name", "given_name_latin",
                  "family_name_latin", "birth_date", "sex", "nationalities", "birth_place", "permanent_address")


def _docs(kind: str) -> list[Document]:
    return [Document(n, hashlib.sha256(f"demo {kind} {n}".encode()).hexdigest()) for n in REQUIRED_DOCUMENTS[kind]]


@dataclass
class DemoSetup:
    administrator: EntryView
    administrator_key: str | None
    centre: EntryView


async def demo_desk(reg: EidRegistry, *, administrator_eik: str = "175074752",
                    centre_eik: str = "177480148") -> DemoSetup:
    """A registered demo administrator (with its desk API key when newly created) and centre; idempotent."""
    existing = {(e.kind, e.name): e for e in await reg.register.entries()}
    key: str | None = None
    adm = existing.get(("administrator", DEMO_ADMINISTRATOR))
    if adm is None:
        adm = await reg.register.apply("administrator", name=DEMO_ADMINISTRATOR, eik=administrator_eik,
                                       address="София, ул. Демо 1", documents=_docs("administrator"),
                                       is_state_body=True, actor="demo-seed")
        adm, key = await reg.register.register(adm.id, actor="demo-seed")
    centre = existing.get(("centre", DEMO_CENTRE))
    if centre is None:
        centre = await reg.register.apply("centre", name=DEMO_CENTRE, eik=centre_eik, address="София, ул. Демо 2",
                                          documents=_docs("centre"), administrator_id=adm.id, actor="demo-seed")
        centre, _ = await reg.register.register(centre.id, actor="demo-seed")
    return DemoSetup(adm, key, centre)


@dataclass
class IssuedToHolder:
    holder: HolderKey
    certificate: CertificateView

    def auth_body(self, challenge: str) -> dict[str, Any]:
        from portfeil.eid.holder import authentication

        return authentication(self.holder, challenge)


async def issue_to_person(
    reg: EidRegistry, personal_number: str, *, setup: DemoSetup | None = None, officer: str = "demo officer",
    co_signer: str | None = None,
) -> IssuedToHolder:
    """Generate a key and CSR, and issue an eID certificate to a seeded person at the demo desk (end to end)."""
    setup = setup or await demo_desk(reg)
    person = await population.get_person_by_number(reg.db, personal_number, clock=reg.clock)
    doc = next(d for d in person.documents if d.valid)
    key = generate_key()
    cert = await reg.issue(IssueRequest(
        personal_number=personal_number, csr=make_csr(key), administrator_id=setup.administrator.id,
        officer=officer, document_number=doc.number, centre_id=setup.centre.id,
        co_signer_personal_number=co_signer, co_signer_appeared=co_signer is not None,
    ))
    leaf = x509.load_der_x509_certificate(cert.der)
    return IssuedToHolder(HolderKey(key, leaf, [(await reg.issuing_ca()).certificate]), cert)


async def demo_seed(ctx: AppContext) -> None:
    """Register the demo administrator, centre, sector and "PID provider" (with its service and attributes), and
    issue an eID certificate to the demo adult (ЕГН 8506258485), written as PKCS#12 to ``<data_dir>/eid/``.
    Idempotent. Keys shown once are written to ``<data_dir>/eid/demo-keys.json`` (demo only)."""
    reg = EidRegistry.for_context(ctx)
    out = ctx.settings.data_dir / "eid"
    out.mkdir(parents=True, exist_ok=True)
    setup = await demo_desk(reg)
    keys_file = out / "demo-keys.json"
    keys: dict[str, str] = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    if setup.administrator_key:
        keys["administrator_api_key"] = setup.administrator_key
        keys["administrator_id"] = setup.administrator.id
    if not await reg.sectors():
        await reg.add_sector("health", "Здравеопазване", "Health")
        await reg.add_sector("finance", "Финанси", "Finance")
    if not any(p.name == DEMO_PROVIDER for p in await reg.providers()):
        prov, pkey = await reg.register_provider(DEMO_PROVIDER, "131063188", is_state_body=True)
        svc = await reg.add_service(prov.id, "PID issuance", "eidas-pid-1", PID_ATTRIBUTES)
        keys["pid_provider_api_key"] = pkey
        keys["pid_service_id"] = svc["id"]
    keys_file.write_text(json.dumps(keys, indent=2))
    keys_file.chmod(0o600)
    p12 = out / f"{DEMO_HOLDER_EGN}.p12"
    try:
        person = await population.get_person_by_number(ctx.db, DEMO_HOLDER_EGN, clock=ctx.clock)
    except Exception:  # noqa: BLE001 - the population register may not be seeded (service run alone)
        return
    eid = await reg.electronic_id_for(person.id)
    if p12.exists() and eid and await reg.certificates(electronic_id=eid, status="active"):
        return
    issued = await issue_to_person(reg, DEMO_HOLDER_EGN, setup=setup)
    save_p12(p12, issued.holder, DEMO_P12_PASSPHRASE)


def demo_p12_path(data_dir: Path) -> Path:
    return data_dir / "eid" / f"{DEMO_HOLDER_EGN}.p12"
