"""The PKCS#11 keystore against SoftHSM2 (Debian package softhsm2); skipped with a reason when absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from portfeil.pki.ca import create_root_ca
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import generate_private_key, public_jwk, sign, verify
from portfeil.pki.keystore import KeyStore
from portfeil.pki.keystore_pkcs11 import HAVE_PKCS11, HSMPrivateKey, PKCS11KeyStore
from portfeil.pki.roles import Role

from .conftest import NOW

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "5678"

if not HAVE_PKCS11:  # pragma: no cover
    pytest.skip("python-pkcs11 missing: install the 'hsm' extra", allow_module_level=True)
if not os.path.exists(SOFTHSM_LIB) or shutil.which("softhsm2-util") is None:
    pytest.skip(f"softhsm2 missing: apt-get install softhsm2 ({SOFTHSM_LIB})", allow_module_level=True)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SoftHSM2 token in a temporary directory (SOFTHSM2_CONF is read when the module loads)."""
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"portfeil-{base.name}"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "1234", "--pin", PIN],
        check=True, capture_output=True,
    )
    yield label
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:  # pragma: no cover
        os.environ["SOFTHSM2_CONF"] = old


@pytest.fixture(scope="module")
def store(token: str) -> PKCS11KeyStore:
    return PKCS11KeyStore(SOFTHSM_LIB, token, PIN)


@pytest.mark.parametrize("alg", ["ES256", "ES384"])
def test_generate_on_token_and_sign(store: PKCS11KeyStore, alg: str) -> None:
    key = store.get_or_create_key(f"gen-{alg}", alg)
    assert isinstance(store, KeyStore)
    sig = sign(key, alg, b"message")
    verify(key.public_key(), alg, sig, b"message")
    with pytest.raises(PKIError, match="bad_signature"):
        verify(key.public_key(), alg, sig, b"other")
    again = store.get_or_create_key(f"gen-{alg}", alg)
    assert public_jwk(again) == public_jwk(key)


def test_private_key_not_extractable(store: PKCS11KeyStore) -> None:
    key = store.get_or_create_key("secret")
    assert isinstance(key, HSMPrivateKey)
    with pytest.raises(PKIError, match="key_not_extractable"):
        key.private_numbers()


def test_import_software_key(store: PKCS11KeyStore) -> None:
    soft = generate_private_key("ES256")
    store.put_key("imported", soft)
    hsm = store.get_key("imported")
    assert hsm is not None
    assert public_jwk(hsm) == public_jwk(soft)
    verify(soft.public_key(), "ES256", sign(hsm, "ES256", b"m"), b"m")
    with pytest.raises(PKIError, match="unsupported_alg"):
        store.put_key("ed", generate_private_key("EdDSA"))


def test_certificates_and_names(store: PKCS11KeyStore) -> None:
    a = create_root_ca("a", Role.PID_PROVIDER, now=NOW).certificate
    b = create_root_ca("b", Role.EID, now=NOW).certificate
    assert store.get_certificates("chain") == []
    store.put_certificates("chain", [a, b])
    assert store.get_certificates("chain") == [a, b]
    store.put_certificates("chain", [b])
    assert store.get_certificates("chain") == [b]
    assert "chain" in store.names()
    assert store.get_key("absent") is None


def test_rejects_wrong_pin(token: str, store: PKCS11KeyStore) -> None:
    with pytest.raises(PKIError) as err:
        PKCS11KeyStore(SOFTHSM_LIB, token, "0000")
    assert err.value.code == "keystore_locked"


def test_rejects_unknown_token(store: PKCS11KeyStore) -> None:
    with pytest.raises(PKIError, match="keystore_token_missing"):
        PKCS11KeyStore(SOFTHSM_LIB, "no-such-token", PIN)


def test_rejects_bad_names(store: PKCS11KeyStore) -> None:
    with pytest.raises(PKIError, match="invalid_key_name"):
        store.get_or_create_key("../x")


