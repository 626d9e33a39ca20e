"""Fixtures for the protocol tests: a fixed time, a wallet-provider PKI and an RP access PKI (real certificates
from portfeil.pki.ca, validated by the real ChainValidator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography import x509

from portfeil.pki.ca import IssuedCertificate, create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.keys import PrivateKey, generate_private_key
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CA_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Pki:
    root: IssuedCertificate
    leaf_key: PrivateKey
    leaf: x509.Certificate
    validator: ChainValidator

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.leaf]


class Seen:
    """An in-memory replay store with the callback shape the protocol layer expects."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def __call__(self, value: str) -> bool:
        if value in self.values:
            return True
        self.values.add(value)
        return False


def _pki(role: Role, san_dns: tuple[str, ...] = ()) -> Pki:
    root = create_root_ca(f"Test {role} CA", role, now=CA_TIME)
    key = generate_private_key("ES256")
    leaf = issue_leaf(root, f"Test {role} leaf", key.public_key(), role, now=CA_TIME, validity_days=700,
                      san_dns=san_dns)
    return Pki(root, key, leaf, ChainValidator([root.certificate], role))


@pytest.fixture(scope="session")
def wallet_provider() -> Pki:
    return _pki(Role.WALLET_PROVIDER)


@pytest.fixture(scope="session")
def rp_access() -> Pki:
    return _pki(Role.RP_ACCESS, ("verifier.example.bg",))


@pytest.fixture(scope="session")
def other_wallet_provider() -> Pki:
    return _pki(Role.WALLET_PROVIDER)


@pytest.fixture
def seen() -> Seen:
    return Seen()
