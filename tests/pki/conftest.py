"""Fixtures for the PKI tests: a fixed instant and small CA factories."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portfeil.pki.ca import IssuedCertificate, create_intermediate_ca, create_root_ca
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def roots() -> dict[Role, IssuedCertificate]:
    """One root CA per role."""
    return {role: create_root_ca(f"Test {role} root", role, now=NOW) for role in Role}


@pytest.fixture(scope="session")
def issuing_cas(roots: dict[Role, IssuedCertificate]) -> dict[Role, IssuedCertificate]:
    """The CA that issues leaves per role: an intermediate, except for the IACA (ISO 18013-5: no intermediates)."""
    out: dict[Role, IssuedCertificate] = {}
    for role, root in roots.items():
        out[role] = root if role is Role.IACA else create_intermediate_ca(root, f"Test {role} CA", role, now=NOW)
    return out
