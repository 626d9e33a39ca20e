from portfeil.eid.demo import DemoSetup, issue_to_person
from portfeil.eid.registry import EidRegistry


async def test_issue_and_verify(reg: EidRegistry, desk: DemoSetup) -> None:
    issued = await issue_to_person(reg, "8506258485", setup=desk)
    assert issued.certificate.status == "active"
    prov, _ = await reg.register_provider("X", "131063188", is_state_body=False)
    svc = await reg.add_service(prov.id, "s", "c1", ["given_name"])
    ch = await reg.new_challenge()
    body = issued.auth_body(ch.challenge)
    vid = await reg.verify_authentication(svc["id"], body["challenge"], body["signature"], body["chain"])
    assert vid.attributes == {"given_name": "Иван"}
