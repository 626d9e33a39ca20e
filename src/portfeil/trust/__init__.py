"""The trust registry: ecosystem PKI, trusted lists, relying-party registrar, wallet provider (docs/trust.md).

Other services resolve trust only through :class:`portfeil.trust.registry.TrustRegistry`::

    registry = await TrustRegistry.of(ctx)
    await registry.anchors(Role.PID_PROVIDER)              # our root + external anchors of a role
    await registry.validator(Role.RP_ACCESS)               # cached ChainValidator, rebuilt when anchors change
    await registry.issue_pid_provider_certificate(pub, uri=issuer_url)   # x5c for SD-JWT VC (iss = SAN URI)
    await registry.issue_document_signer(pub)              # mdoc DS under the IACA
    await registry.add_anchor(role, cert)                  # trust an external CA
    registry.registrar / registry.wallet_provider / registry.consumer / registry.publisher

Modules: :mod:`~portfeil.trust.anchors` (roots and signers), :mod:`~portfeil.trust.lists` (TS 119 612 / 119 602
publishing and consuming), :mod:`~portfeil.trust.registrar` (Art. 5b), :mod:`~portfeil.trust.wallet_provider`
(wallet units, attestations, breaches), :mod:`~portfeil.trust.status` (status lists, CRL), :mod:`~portfeil.trust.api`
and :mod:`~portfeil.trust.pages` (HTTP), :mod:`~portfeil.trust.cli`.
One error type: :class:`~portfeil.trust.errors.TrustError`.
"""
