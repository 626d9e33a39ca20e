"""Whatever the input, the trust registry's parsers raise only TrustError (hypothesis)."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.db import Database
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.settings import Settings
from portfeil.trust.errors import TrustError
from portfeil.trust.registrar import parse_chain, parse_intended_uses, parse_registration
from portfeil.trust.registry import TrustRegistry

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.lists(st.one_of(st.text(max_size=80),
                                    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())), max_size=12)))
def test_parse_chain_raises_only_trust_error(data: Any) -> None:
    with contextlib.suppress(TrustError):
        parse_chain(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_registration_and_uses_raise_only_trust_error(data: Any) -> None:
    for fn in (parse_registration, parse_intended_uses):
        with contextlib.suppress(TrustError):
            fn(data)


_REGISTRY = TrustRegistry(
    AppContext(settings=Settings(), db=Database("sqlite+aiosqlite:///:memory:"), clock=FrozenClock()),
    keystore=MemoryKeyStore(),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), json_values,
                 st.lists(st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
                          min_size=3, max_size=3).map(".".join)))
def test_wallet_proof_check_raises_only_trust_error(proof: Any) -> None:
    with contextlib.suppress(TrustError):
        _REGISTRY.wallet_provider._check_proof(proof)
