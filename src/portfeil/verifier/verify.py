"""Verification of a ``vp_token`` (OpenID4VP 1.0 §8.1, §8.6; HAIP 1.0 §5) against the request it answers.

For each presentation under each DCQL credential query id:

* the format the query named: SD-JWT VC (``dc+sd-jwt``) through :func:`portfeil.formats.sdjwt.verify_sd_jwt_vc`
  with the PID-provider :class:`~portfeil.pki.chains.ChainValidator` (issuer trust), a Key Binding JWT whose
  ``aud`` is the client id, ``nonce`` the transaction's nonce and ``iat`` fresh (RFC 9901 §7.3, OpenID4VP §B.3.6);
  mdoc (``mso_mdoc``) through :class:`portfeil.formats.mdoc.MdocVerifier` with the IACA validator and the
  SessionTranscript of OpenID4VP 1.0 Annex B.2.6.1 built from (client_id, nonce, JWK thumbprint of the
  response-encryption key or null, response_uri): the device signature proves holder binding and freshness;
* the credential's Token Status List entry (draft-ietf-oauth-status-list-13 §8.3), fetched through a
  :class:`StatusListCache` (ttl/exp caching, size and time limits): anything but VALID fails;
* data minimisation: nothing disclosed beyond the query (an SD-JWT Disclosure or an mdoc element that no claims
  query of the credential query asks for fails with ``extra_claims_disclosed``; see docs/verifier.md).

Then :func:`portfeil.formats.dcql.check_response` checks that the verified presentations answer the query
(§6.4, §8.1). Per credential the outcome is either the verified claims or the list of failures (stable codes).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import cbor2
import httpx

from portfeil.errors import PortfeilError
from portfeil.formats.dcql import CandidateCredential, ClaimPath, CredentialQuery, DcqlQuery, check_response
from portfeil.formats.jws import ChainValidatorLike
from portfeil.formats.mdoc import MdocVerifier, openid4vp_session_transcript
from portfeil.formats.sdjwt import verify_sd_jwt_vc
from portfeil.formats.status_list import VALID, StatusListToken, StatusReference, verify_status_list_token

__all__ = [
    "MAX_PRESENTATIONS",
    "CredentialOutcome",
    "Failure",
    "PresentationVerifier",
    "StatusFetcher",
    "StatusListCache",
    "VerificationResult",
    "httpx_fetcher",
]

MAX_PRESENTATIONS: Final = 16
MAX_STATUS_LIST_BYTES: Final = 1024 * 1024
STATUS_FETCH_TIMEOUT: Final = 5.0

StatusFetcher = Callable[[str], Awaitable[tuple[bytes, str]]]
"""Fetch a Status List Token: ``uri -> (body, content type)``. Raise on failure."""

# Codes of the lower layers restated so a service sees one name per cause (the original stays in ``cause``).
_RESTATE: Final[Mapping[str, str]] = {
    "mdoc_untrusted_issuer": "untrusted_issuer",
    "key_binding_required": "missing_key_binding",
    "kb_aud_mismatch": "wrong_audience",
    "kb_nonce_mismatch": "wrong_nonce",
    "kb_stale": "stale_key_binding",
    "kb_iat_in_future": "stale_key_binding",
    "mdoc_device_signature_invalid": "holder_binding_failed",
}


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str
    cause: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.cause is not None and self.cause != self.code:
            out["cause"] = self.cause
        return out


@dataclass(slots=True)
class CredentialOutcome:
    """One presentation: ``claims`` (verified) when ``ok``, else ``failures``."""

    query_id: str
    format: str
    ok: bool = False
    claims: dict[str, Any] | None = None
    failures: list[Failure] = field(default_factory=list)
    issuer: str | None = None
    candidate: CandidateCredential | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query_id": self.query_id, "format": self.format, "verified": self.ok}
        if self.ok:
            out["claims"] = self.claims
            if self.issuer is not None:
                out["issuer"] = self.issuer
        else:
            out["failures"] = [f.to_dict() for f in self.failures]
        return out


@dataclass(slots=True)
class VerificationResult:
    ok: bool
    credentials: list[CredentialOutcome]
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.ok,
            "credentials": [c.to_dict() for c in self.credentials],
            "failures": [f.to_dict() for f in self.failures],
        }

    def claims(self) -> dict[str, dict[str, Any]]:
        """The verified claims per credential query id (first presentation of each)."""
        out: dict[str, dict[str, Any]] = {}
        for c in self.credentials:
            if c.ok and c.claims is not None:
                out.setdefault(c.query_id, c.claims)
        return out


_EXTRA: Final = Failure("extra_claims_disclosed", "the wallet disclosed claims that were not asked for")


def _fail(exc: PortfeilError) -> Failure:
    code = _RESTATE.get(exc.code, exc.code)
    return Failure(code, exc.message, exc.code)


def _json_safe(value: Any) -> Any:
    """mdoc element values as JSON: dates ISO 8601, byte strings base64url, tags by their content."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.urlsafe_b64encode(bytes(value)).rstrip(b"=").decode()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return _json_safe(value.value)
    return value


def _path_allowed(disclosed: ClaimPath, requested: Sequence[ClaimPath]) -> bool:
    """A disclosed path is asked for when it lies on the way to a requested path or inside one (``None`` in a
    requested path stands for every array element, OpenID4VP 1.0 §7)."""
    for req in requested:
        n = min(len(disclosed), len(req))
        if all((r is None and isinstance(d, int)) or r == d for d, r in zip(disclosed[:n], req[:n], strict=True)):
            return True
    return False


def _requested_paths(query: CredentialQuery) -> list[ClaimPath]:
    return [c.path for c in query.claims or ()]


# --------------------------------------------------------------------------------------------- status lists


async def httpx_fetcher(
    uri: str, *, timeout: float = STATUS_FETCH_TIMEOUT, max_bytes: int = MAX_STATUS_LIST_BYTES,  # noqa: ASYNC109
) -> tuple[bytes, str]:
    """Fetch ``uri`` with httpx: https (or http to localhost), a timeout and a body size cap, no redirects."""
    if not (uri.startswith("https://") or uri.startswith(("http://localhost", "http://127.0.0.1"))):
        raise PortfeilError("status_list_unavailable", "status list URI must be https")
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client, client.stream(
        "GET", uri, headers={"Accept": "application/statuslist+jwt"}
    ) as resp:
        if resp.status_code != 200:
            raise PortfeilError("status_list_unavailable", "status list endpoint did not answer 200")
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise PortfeilError("status_list_unavailable", "status list token too large")
        return bytes(body), resp.headers.get("content-type", "")


class StatusListCache:
    """Status List Tokens by URI, verified once and kept until :meth:`StatusListToken.refresh_at` (§13.7)."""

    def __init__(self, fetcher: StatusFetcher | None = None, *, max_entries: int = 1024) -> None:
        self.fetcher: StatusFetcher = fetcher or httpx_fetcher
        self.max_entries = max_entries
        self._tokens: dict[str, tuple[StatusListToken, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    def clear(self) -> None:
        self._tokens.clear()

    async def token(self, uri: str, *, trust: ChainValidatorLike, now: datetime) -> StatusListToken:
        cached = self._tokens.get(uri)
        if cached is not None and cached[1] > now.timestamp():
            return cached[0]
        lock = self._locks.setdefault(uri, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(uri)
            if cached is not None and cached[1] > now.timestamp():
                return cached[0]
            try:
                body, ctype = await self.fetcher(uri)
            except PortfeilError:
                raise
            except Exception as exc:
                raise PortfeilError("status_list_unavailable", "status list could not be fetched") from exc
            self.fetches += 1
            token: str | bytes = body if "cwt" in ctype else body.decode("ascii", "replace").strip()
            verified = verify_status_list_token(token, uri=uri, now=now, chain_validator=trust)
            if len(self._tokens) >= self.max_entries:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[uri] = (verified, verified.refresh_at(now, min_ttl=1).timestamp())
            return verified

    async def status(self, ref: StatusReference, *, trust: ChainValidatorLike, now: datetime) -> int:
        token = await self.token(ref.uri, trust=trust, now=now)
        return token.status_of_reference(ref)


# ------------------------------------------------------------------------------------------------ verifier


class PresentationVerifier:
    """Verifies the presentations of one response. ``pid_trust`` validates SD-JWT VC issuers and status list
    signers (role pid-provider), ``mdoc`` holds the IACA validator (None: mdoc presentations fail with
    ``mdoc_not_accepted``; for responses known to hold none)."""

    def __init__(
        self,
        *,
        pid_trust: ChainValidatorLike,
        mdoc: MdocVerifier | None,
        status: StatusListCache,
        kb_max_age: timedelta = timedelta(minutes=5),
        check_status: bool = True,
    ) -> None:
        self.pid_trust = pid_trust
        self.mdoc = mdoc
        self.status = status
        self.kb_max_age = kb_max_age
        self.check_status = check_status

    async def verify(
        self,
        vp_token: Mapping[str, Sequence[Any]],
        *,
        query: DcqlQuery,
        client_id: str,
        nonce: str,
        response_uri: str,
        enc_thumbprint: str | None,
        now: datetime,
    ) -> VerificationResult:
        outcomes: list[CredentialOutcome] = []
        transcript: bytes | None = None
        count = sum(len(v) for v in vp_token.values())
        if count > MAX_PRESENTATIONS:
            return VerificationResult(False, [], [Failure("too_many_presentations", "the response holds too many "
                                                                                      "presentations")])
        for qid, items in vp_token.items():
            try:
                cq = query.credential(qid)
            except PortfeilError:
                outcomes.append(CredentialOutcome(qid, "unknown", failures=[Failure(
                    "unrequested_credential", "the response answers a query that was not asked")]))
                continue
            for item in items:
                if cq.is_mdoc and transcript is None:
                    transcript = openid4vp_session_transcript(client_id, nonce, enc_thumbprint, response_uri)
                outcomes.append(await self._one(cq, item, client_id=client_id, nonce=nonce, transcript=transcript,
                                                now=now))
        failures: list[Failure] = []
        ok = bool(outcomes) and all(o.ok for o in outcomes)
        if ok:
            presented: dict[str, list[CandidateCredential]] = {}
            for o in outcomes:
                assert o.candidate is not None
                presented.setdefault(o.query_id, []).append(o.candidate)
            try:
                check_response(query, presented)
            except PortfeilError as exc:
                failures.append(Failure(exc.code, exc.message, str(exc.details.get("reason") or exc.code)))
                ok = False
        elif not outcomes:
            failures.append(Failure("empty_vp_token", "the response holds no presentation"))
        return VerificationResult(ok, outcomes, failures)

    async def _one(self, cq: CredentialQuery, item: Any, *, client_id: str, nonce: str, transcript: bytes | None,
                   now: datetime) -> CredentialOutcome:
        out = CredentialOutcome(cq.id, cq.format)
        if not isinstance(item, str):
            out.failures.append(Failure("malformed_presentation", "a presentation must be a string"))
            return out
        try:
            if cq.is_sd_jwt_vc:
                ref = self._sd_jwt(cq, item, out, client_id=client_id, nonce=nonce, now=now)
            elif cq.is_mdoc:
                assert transcript is not None
                ref = self._mdoc(cq, item, out, transcript=transcript, now=now)
            else:
                out.failures.append(Failure("unsupported_format", "the credential format is not supported"))
                return out
        except PortfeilError as exc:
            out.failures.append(_fail(exc))
            return out
        if out.failures:
            return out
        if self.check_status and ref is not None:
            try:
                value = await self.status.status(ref, trust=self.pid_trust, now=now)
            except PortfeilError as exc:
                out.failures.append(_fail(exc) if exc.code.startswith("status_") else
                                    Failure("status_list_unavailable", exc.message, exc.code))
                return out
            if value != VALID:
                code = "credential_suspended" if value == 2 else "credential_revoked"
                out.failures.append(Failure(code, "the issuer has revoked or suspended the credential"))
                return out
        out.ok = True
        return out

    def _sd_jwt(self, cq: CredentialQuery, token: str, out: CredentialOutcome, *, client_id: str, nonce: str,
                now: datetime) -> StatusReference | None:
        v = verify_sd_jwt_vc(
            token, now=now, trust=self.pid_trust, aud=client_id, nonce=nonce, vct=cq.vct_values,
            require_key_binding=True if cq.require_cryptographic_holder_binding else None,
            kb_max_age=self.kb_max_age,
        )
        requested = _requested_paths(cq)
        extra = [p for p in v.disclosed_paths if not _path_allowed(p, requested)]
        if extra:
            out.failures.append(_EXTRA)
            return None
        hidden = {"cnf", "status", "_sd_alg"}
        out.claims = {k: val for k, val in v.claims.items() if k not in hidden}
        out.issuer = v.iss
        out.candidate = CandidateCredential(id=f"{cq.id}", format=cq.format, claims=v.claims, vct=v.vct,
                                            cryptographic_holder_binding=v.key_binding is not None)
        return StatusReference(v.status.idx, v.status.uri) if v.status is not None else None

    def _mdoc(self, cq: CredentialQuery, token: str, out: CredentialOutcome, *, transcript: bytes, now: datetime,
              ) -> StatusReference | None:
        if self.mdoc is None:
            raise PortfeilError("mdoc_not_accepted", "this verifier was set up without mdoc trust anchors")
        wanted = [cq.doctype_value] if cq.doctype_value else None
        docs = self.mdoc.verify_device_response(token, session_transcript=transcript, now=now,
                                                expected_doctypes=wanted)
        if len(docs) != 1:
            out.failures.append(Failure("mdoc_document_count", "one presentation must hold exactly one document"))
            return None
        doc = docs[0]
        requested = _requested_paths(cq)
        extra = [(ns, e) for ns, els in doc.namespaces.items() for e in els if not _path_allowed((ns, e), requested)]
        if extra:
            out.failures.append(_EXTRA)
            return None
        out.claims = {"doctype": doc.doctype, **{ns: _json_safe(dict(els)) for ns, els in doc.namespaces.items()}}
        out.issuer = doc.ds_certificate.subject.rfc4514_string()
        out.candidate = CandidateCredential(id=cq.id, format=cq.format, doctype=doc.doctype,
                                            claims={ns: dict(els) for ns, els in doc.namespaces.items()},
                                            cryptographic_holder_binding=True)
        return StatusReference(doc.status.idx, doc.status.uri) if doc.status is not None else None
