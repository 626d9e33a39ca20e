"""A :class:`~portfeil.pki.keystore.KeyStore` on a PKCS#11 token (HSM, smart card, SoftHSM2).

Keys are generated on the token (``CKM_EC_KEY_PAIR_GEN``, private key sensitive and not extractable) or imported
once with :meth:`PKCS11KeyStore.put_key`; they never leave it again. :meth:`get_key` returns an
:class:`HSMPrivateKey`, a :class:`cryptography` ``EllipticCurvePrivateKey`` whose :meth:`sign` runs
``CKM_ECDSA`` on the token, so :func:`portfeil.pki.keys.sign` (JOSE/COSE) works unchanged. It cannot sign
X.509 certificates through ``CertificateBuilder`` (that needs an OpenSSL key), so CA keys stay in the file
keystore. Certificates are stored as ``CKO_CERTIFICATE`` objects labelled ``<name>.cert.<index>``.

Supported: ES256 (P-256) and ES384 (P-384). Requires the optional ``python-pkcs11`` package (extra ``hsm``)
and a PKCS#11 module such as ``/usr/lib/softhsm/libsofthsm2.so`` (Debian package ``softhsm2``).
PKCS#11 v2.40 §2.3.3 (EC keys: CKA_EC_PARAMS, CKA_EC_POINT as DER OCTET STRING), §2.3.6 (CKM_ECDSA: raw r||s).

Error codes: ``pkcs11_unavailable``, ``keystore_locked`` (wrong PIN), ``keystore_token_missing``,
``keystore_error``, ``unsupported_alg``, ``key_not_extractable``, ``invalid_key_name``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.utils import Buffer

from portfeil.pki.certs import cert_from_der, cert_to_der
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import PrivateKey
from portfeil.pki.keystore import validate_key_name

__all__ = ["HAVE_PKCS11", "HSMPrivateKey", "PKCS11KeyStore"]

try:  # optional dependency
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.exceptions import NoSuchKey, PinIncorrect, PKCS11Error
    from pkcs11.util.ec import encode_named_curve_parameters

    HAVE_PKCS11 = True
except ImportError:  # pragma: no cover - exercised only without the extra
    HAVE_PKCS11 = False

_CURVES: dict[str, tuple[type[ec.EllipticCurve], str, int]] = {
    "ES256": (ec.SECP256R1, "secp256r1", 32),
    "ES384": (ec.SECP384R1, "secp384r1", 48),
}
_BY_CURVE = {cls().name: alg for alg, (cls, _, _) in _CURVES.items()}
_LIBS: dict[str, Any] = {}


def _der_octet_string(data: bytes) -> bytes:
    n = len(data)
    if n < 0x80:
        return b"\x04" + bytes([n]) + data
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x04" + bytes([0x80 | len(length)]) + length + data


def _parse_octet_string(der: bytes) -> bytes:
    if len(der) < 2 or der[0] != 0x04:
        return der  # some modules return the raw point
    n = der[1]
    if n < 0x80:
        return der[2 : 2 + n]
    k = n & 0x7F
    size = int.from_bytes(der[2 : 2 + k], "big")
    return der[2 + k : 2 + k + size]


class HSMPrivateKey(ec.EllipticCurvePrivateKey):
    """An EC private key that lives on a PKCS#11 token; only :meth:`sign` and :meth:`public_key` work."""

    def __init__(self, handle: Any, public: ec.EllipticCurvePublicKey, lock: threading.RLock) -> None:
        self._handle = handle
        self._public = public
        self._lock = lock

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """ECDSA on the token (CKM_ECDSA over the digest), returned DER-encoded like cryptography does."""
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise PKIError("unsupported_alg", "only ECDSA is supported on the token")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, utils.Prehashed):
            digest = bytes(data)
        else:
            h = hashes.Hash(algorithm)
            h.update(bytes(data))
            digest = h.finalize()
        try:
            with self._lock:
                raw = self._handle.sign(digest, mechanism=Mechanism.ECDSA)
        except PKCS11Error as exc:
            raise PKIError("keystore_error", "the token refused to sign") from exc
        n = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big"))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.curve.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise PKIError("unsupported_alg", "key agreement is not offered by this keystore")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise PKIError("key_not_extractable", "the private key never leaves the token")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise PKIError("key_not_extractable", "the private key never leaves the token")

    def __copy__(self) -> HSMPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> HSMPrivateKey:
        return self


class PKCS11KeyStore:
    """Named keys on one PKCS#11 token, logged in as user with ``user_pin``; one session, serialised."""

    def __init__(self, library_path: str, token_label: str, user_pin: str) -> None:
        if not HAVE_PKCS11:
            raise PKIError("pkcs11_unavailable", "install the 'hsm' extra (python-pkcs11) for PKCS#11 keystores")
        try:
            lib = _LIBS.get(library_path)
            if lib is None:
                lib = _LIBS[library_path] = pkcs11.lib(library_path)
            token = lib.get_token(token_label=token_label)
        except NoSuchKey as exc:  # pragma: no cover - get_token raises NoSuchToken
            raise PKIError("keystore_token_missing", "no such token") from exc
        except PKCS11Error as exc:
            raise PKIError("keystore_token_missing", "the PKCS#11 module or token is not available") from exc
        except OSError as exc:
            raise PKIError("pkcs11_unavailable", "the PKCS#11 module cannot be loaded") from exc
        try:
            self._session = token.open(rw=True, user_pin=user_pin)
        except PinIncorrect as exc:
            raise PKIError("keystore_locked", "the token PIN is wrong") from exc
        except PKCS11Error as exc:
            raise PKIError("keystore_locked", "cannot log in to the token") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._session.close()

    # -- keys -----------------------------------------------------------------------------------------------

    def _find(self, cls: Any, name: str) -> Any | None:
        objs = list(self._session.get_objects({Attribute.CLASS: cls, Attribute.LABEL: name}))
        if len(objs) > 1:
            raise PKIError("keystore_error", "more than one object with this name on the token")
        return objs[0] if objs else None

    def get_key(self, name: str) -> PrivateKey | None:
        validate_key_name(name)
        with self._lock:
            try:
                priv = self._find(ObjectClass.PRIVATE_KEY, name)
                pub = self._find(ObjectClass.PUBLIC_KEY, name)
                if priv is None:
                    return None
                if pub is None:
                    raise PKIError("keystore_error", "the token holds no public key for this private key")
                params = bytes(pub[Attribute.EC_PARAMS])
                point = _parse_octet_string(bytes(pub[Attribute.EC_POINT]))
            except PKCS11Error as exc:
                raise PKIError("keystore_error", "token read failed") from exc
        for cls, curve_name, _ in _CURVES.values():
            if params == encode_named_curve_parameters(curve_name):
                try:
                    public = ec.EllipticCurvePublicKey.from_encoded_point(cls(), point)
                except ValueError as exc:
                    raise PKIError("keystore_error", "the token's public point is invalid") from exc
                return HSMPrivateKey(priv, public, self._lock)
        raise PKIError("unsupported_alg", "the token key is on an unsupported curve")

    def get_or_create_key(self, name: str, alg: str = "ES256") -> PrivateKey:
        validate_key_name(name)
        if alg not in _CURVES:
            raise PKIError("unsupported_alg", "the PKCS#11 keystore supports ES256 and ES384")
        with self._lock:
            existing = self.get_key(name)
            if existing is not None:
                return existing
            _, curve_name, _ = _CURVES[alg]
            try:
                params = self._session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve_name)}, local=True
                )
                params.generate_keypair(
                    label=name,
                    store=True,
                    public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
                    private_template={
                        Attribute.SIGN: True, Attribute.TOKEN: True, Attribute.PRIVATE: True,
                        Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                    },
                )
            except PKCS11Error as exc:
                raise PKIError("keystore_error", "key generation on the token failed") from exc
            key = self.get_key(name)
            assert key is not None
            return key

    def put_key(self, name: str, key: PrivateKey) -> None:
        """Import a software key onto the token (replacing any key of that name); afterwards it is
        non-extractable there. Ed25519 is refused (not all tokens support CKK_EC_EDWARDS)."""
        validate_key_name(name)
        if isinstance(key, ed25519.Ed25519PrivateKey) or not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PKIError("unsupported_alg", "the PKCS#11 keystore supports ES256 and ES384")
        alg = _BY_CURVE.get(key.curve.name)
        if alg is None:
            raise PKIError("unsupported_alg", "the PKCS#11 keystore supports ES256 and ES384")
        _, curve_name, size = _CURVES[alg]
        ec_params = encode_named_curve_parameters(curve_name)
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        d = key.private_numbers().private_value.to_bytes(size, "big")
        with self._lock:
            try:
                for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                    old = self._find(cls, name)
                    if old is not None:
                        old.destroy()
                self._session.create_object({
                    Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC,
                    Attribute.EC_PARAMS: ec_params, Attribute.EC_POINT: _der_octet_string(point),
                    Attribute.LABEL: name, Attribute.TOKEN: True, Attribute.VERIFY: True,
                })
                self._session.create_object({
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC,
                    Attribute.EC_PARAMS: ec_params, Attribute.VALUE: d,
                    Attribute.LABEL: name, Attribute.TOKEN: True, Attribute.SIGN: True, Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                })
            except PKCS11Error as exc:
                raise PKIError("keystore_error", "key import to the token failed") from exc

    # -- certificates ---------------------------------------------------------------------------------------

    def _cert_objects(self, name: str) -> list[tuple[int, Any]]:
        prefix = f"{name}.cert."
        out: list[tuple[int, Any]] = []
        for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
            label = obj[Attribute.LABEL]
            if isinstance(label, str) and label.startswith(prefix) and label[len(prefix):].isdigit():
                out.append((int(label[len(prefix):]), obj))
        return sorted(out, key=lambda t: t[0])

    def get_certificates(self, name: str) -> list[x509.Certificate]:
        validate_key_name(name)
        with self._lock:
            try:
                ders = [bytes(obj[Attribute.VALUE]) for _, obj in self._cert_objects(name)]
            except PKCS11Error as exc:
                raise PKIError("keystore_error", "token read failed") from exc
        return [cert_from_der(d) for d in ders]

    def put_certificates(self, name: str, certs: Sequence[x509.Certificate]) -> None:
        validate_key_name(name)
        if not all(isinstance(c, x509.Certificate) for c in certs):
            raise PKIError("malformed_certificate", "certificates expected")
        with self._lock:
            try:
                for _, obj in self._cert_objects(name):
                    obj.destroy()
                for i, cert in enumerate(certs):
                    self._session.create_object({
                        Attribute.CLASS: ObjectClass.CERTIFICATE,
                        Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                        Attribute.LABEL: f"{name}.cert.{i}",
                        Attribute.TOKEN: True,
                        Attribute.SUBJECT: cert.subject.public_bytes(),
                        Attribute.VALUE: cert_to_der(cert),
                    })
            except PKCS11Error as exc:
                raise PKIError("keystore_error", "certificate write to the token failed") from exc

    def names(self) -> list[str]:
        found: set[str] = set()
        with self._lock:
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.CERTIFICATE):
                for obj in self._session.get_objects({Attribute.CLASS: cls}):
                    label = obj[Attribute.LABEL]
                    if not isinstance(label, str):
                        continue
                    if cls == ObjectClass.CERTIFICATE:
                        label = label.rsplit(".cert.", 1)[0]
                    try:
                        found.add(validate_key_name(label))
                    except PKIError:
                        continue
        return sorted(found)
