"""OpenID4VP 1.0 client: request by reference (``request_uri`` GET, or POST with ``wallet_nonce``, §5.10), signed
request objects with ``x509_san_dns`` / ``x509_hash`` checked against the wallet's rp-access anchors, unsigned
``redirect_uri`` requests only when enabled (shown unverified); the registration certificate (ETSI TS 119 475,
``rc-wrp+jwt``) checked against the registrar anchors and the request compared with it (Art. 5a(5)(d)); DCQL
matching with minimal disclosure, a choice among credentials, per-claim selection; SD-JWT KB-JWT or mdoc device
signature; ``direct_post`` or ``direct_post.jwt``. Each presentation uses an unused one-time credential; nothing
contacts the issuer."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from portfeil.errors import PortfeilError
from portfeil.formats.dcql import DcqlQuery, match_query
from portfeil.formats.jws import parse_compact, verify_parsed
from portfeil.formats.mdoc import Mdoc, encode_vp_token, openid4vp_session_transcript
from portfeil.formats.sdjwt import present as sd_present
from portfeil.pki.keys import jwk_thumbprint
from portfeil.pki.roles import Role
from portfeil.protocols import oid4vp
from portfeil.wallet.core import Wallet, _private
from portfeil.wallet.errors import WalletError

__all__ = ["PendingPresentation", "load_request", "respond"]

RC_TYP = "rc-wrp+jwt"


@dataclass
class PendingPresentation:
    """A checked request, with what the consent screen shows."""

    request: oid4vp.AuthorizationRequest
    party: dict[str, Any]
    purpose: dict[str, str]
    registration: dict[str, Any]
    options: dict[str, list[dict[str, Any]]]
    """Per credential query id: the matching credentials (id, name, claims to disclose)."""
    satisfiable: bool
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def within_registration(self) -> bool:
        return bool(self.registration.get("within"))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "party": self.party, "purpose": self.purpose, "registration": self.registration,
                "verified": self.request.verified, "response_mode": self.request.response_mode,
                "satisfiable": self.satisfiable, "options": self.options}


def _org_name(cert: x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return None


def _registered_paths(rc: dict[str, Any]) -> list[tuple[str, str, list[list[Any]]]]:
    out = []
    for c in rc.get("credentials", []) if isinstance(rc.get("credentials"), list) else []:
        if not isinstance(c, dict):
            continue
        meta = c.get("meta") or {}
        types = list(meta.get("vct_values") or []) + ([meta["doctype_value"]] if meta.get("doctype_value") else [])
        claims = c.get("claim") or c.get("claims") or []
        paths = [list(x.get("path", [])) for x in claims if isinstance(x, dict)]
        for t in types:
            out.append((str(c.get("format")), str(t), paths))
    return out


def _check_registration(wallet: Wallet, req: oid4vp.AuthorizationRequest, query: DcqlQuery) -> dict[str, Any]:
    """Verify the registration certificate (registrar anchors) and compare the request with what it registers:
    every requested claim path of every credential query must be among the registered paths of that type."""
    tokens = [i["data"] for i in req.verifier_info if i.get("format") == "registration_cert"
              and isinstance(i.get("data"), str)]
    if not tokens:
        return {"present": False, "verified": False, "within": False, "beyond": ["no registration certificate"]}
    try:
        parsed = parse_compact(tokens[0], typ=RC_TYP)
        verify_parsed(parsed, trust=wallet.anchors.validator(Role.REGISTRAR), now=wallet.clock.now())
    except PortfeilError as exc:
        return {"present": True, "verified": False, "within": False, "beyond": [f"certificate invalid: {exc.code}"]}
    rc = parsed.payload
    exp = rc.get("exp")
    if isinstance(exp, int) and exp < wallet.clock.timestamp():
        return {"present": True, "verified": False, "within": False, "beyond": ["certificate expired"]}
    registered = _registered_paths(rc)
    beyond: list[str] = []
    for q in query.credentials:
        types = list(q.vct_values or ()) if q.is_sd_jwt_vc else [q.doctype_value or ""]
        allowed = [paths for _fmt, t, paths in registered if t in types]
        if not allowed:
            beyond.append(f"{q.id}: credential type not registered")
            continue
        for c in q.claims or ():
            want = list(c.path)
            if not any(want == p or (len(p) < len(want) and want[:len(p)] == p) for ps in allowed for p in ps):
                beyond.append(f"{q.id}: {'/'.join(str(x) for x in want)}")
    purpose = {p.get("lang"): p.get("value") for p in rc.get("purpose", []) if isinstance(p, dict)}
    return {"present": True, "verified": True, "within": not beyond, "beyond": beyond, "name": rc.get("name"),
            "legal_name": rc.get("sub_ln"), "subject": rc.get("sub"), "purpose": purpose,
            "registry_uri": rc.get("registry_uri")}


async def _fetch_request(wallet: Wallet, link: oid4vp.RequestLink) -> tuple[str, str | None]:
    assert link.request_uri is not None
    try:
        if link.request_uri_method == "post":
            wallet_nonce = secrets.token_urlsafe(16)
            body = oid4vp.request_uri_post_body(wallet_nonce=wallet_nonce,
                                                wallet_metadata=oid4vp.build_wallet_metadata())
            resp = await wallet.http.post(link.request_uri, data=body,
                                          headers={"Accept": "application/oauth-authz-req+jwt"})
        else:
            wallet_nonce = None
            resp = await wallet.http.get(link.request_uri, headers={"Accept": "application/oauth-authz-req+jwt"})
    except httpx.HTTPError as exc:
        raise WalletError("network_error", "the verifier could not be reached") from exc
    if resp.status_code != 200:
        raise WalletError("request_unavailable", f"the verifier did not give the request ({resp.status_code})")
    return resp.text.strip(), wallet_nonce


async def load_request(wallet: Wallet, request_link: str) -> PendingPresentation:
    """Fetch and check a presentation request; match it against the wallet's unused credentials."""
    try:
        link = oid4vp.parse_request_link(request_link.strip(), allow_http_localhost=wallet.allow_http_localhost)
        if link.request_uri is not None or link.request is not None:
            if link.request is not None:
                token, nonce = link.request, None
            else:
                token, nonce = await _fetch_request(wallet, link)
            req = oid4vp.verify_request_object(token, trust=wallet.anchors.validator(Role.RP_ACCESS),
                                               now=wallet.clock.now(), url_client_id=link.client_id,
                                               expected_wallet_nonce=nonce,
                                               allow_http_localhost=wallet.allow_http_localhost)
        else:
            req = oid4vp.unsigned_request(link.params, allow_unsigned=bool(wallet.meta.get("allow_unsigned_requests")),
                                          allow_http_localhost=wallet.allow_http_localhost)
        query = DcqlQuery.parse(req.dcql_query)
    except WalletError:
        raise
    except PortfeilError as exc:
        raise WalletError(exc.code, exc.message) from exc
    registration = _check_registration(wallet, req, query) if req.verified else {
        "present": False, "verified": False, "within": False, "beyond": ["unsigned request"]}
    name = registration.get("name") or _org_name(req.leaf) or req.client_identifier
    party = {"id": req.client_id, "name": name, "access_certificate_name": _org_name(req.leaf),
             "verified": req.verified, "client_id_prefix": req.client_id_prefix}
    raw_purpose = registration.get("purpose")
    purpose: dict[str, str] = {str(k): str(v) for k, v in raw_purpose.items()} if isinstance(raw_purpose, dict) else {}
    cands = wallet.candidates()
    by_id = {c.id: rec for c, rec in cands}
    result = match_query(query, [c for c, _ in cands])
    options: dict[str, list[dict[str, Any]]] = {}
    for qid in result.selected_query_ids():
        options[qid] = [{"credential_id": m.credential_id, "name": _name(by_id[m.credential_id]),
                         "format": by_id[m.credential_id]["format"],
                         "claims": [list(p) for p in m.disclose]}
                        for m in result.credentials[qid].matches]
    return PendingPresentation(req, party, purpose, registration, options, result.can_be_satisfied)


def _name(rec: dict[str, Any], lang: str = "bg") -> str:
    for d in rec.get("display") or []:
        if isinstance(d, dict) and str(d.get("locale", "")).startswith(lang) and d.get("name"):
            return str(d["name"])
    return str(rec.get("vct") or rec.get("doctype") or rec.get("configuration_id"))


def _label(path: list[Any]) -> str:
    return "/".join(str(p) for p in path)


async def respond(wallet: Wallet, pending: PendingPresentation, *, choices: dict[str, str] | None = None,
                  only: list[str] | None = None, allow_beyond_registration: bool = False) -> dict[str, Any]:
    """Answer with consent. ``choices``: query id -> credential id (default: the first match); ``only``: claim
    names or paths (``address/locality``) to keep, everything else requested is withheld."""
    req = pending.request
    now = wallet.clock.now()
    if not pending.satisfiable:
        raise WalletError("no_matching_credential", "the wallet holds no credential that answers this request")
    if req.verified and not pending.within_registration and not allow_beyond_registration \
            and wallet.meta.get("refuse_beyond_registration", True):
        wallet.log.append("presentation_refused", now=now, party=pending.party,
                          purpose=pending.purpose.get("bg") or pending.purpose.get("en"), outcome="beyond_registration",
                          beyond=pending.registration.get("beyond", []))
        raise WalletError("beyond_registration",
                          "the request asks for more than the party registered (Art. 5a(5)(d)); refused")
    vp_token: dict[str, list[str]] = {}
    sent: list[dict[str, Any]] = []
    thumb = None
    if req.response_mode == "direct_post.jwt":
        jwk = oid4vp._select_encryption_jwk(req.client_metadata, "invalid_request")
        thumb = jwk_thumbprint({k: jwk[k] for k in ("kty", "crv", "x", "y")})
    for qid, opts in pending.options.items():
        chosen = (choices or {}).get(qid)
        opt = next((o for o in opts if o["credential_id"] == chosen), None) if chosen else opts[0]
        if opt is None:
            raise WalletError("invalid_choice", "the chosen credential does not answer this request")
        paths = [p for p in opt["claims"] if not only or _label(p) in only or _label(p[-1:]) in only
                 or str(p[0]) in only]
        rec = wallet.credential(opt["credential_id"])
        inst = next((i for i in rec["instances"] if not i.get("used")), None)
        if inst is None:
            raise WalletError("no_unused_credential", "every one-time credential of this batch has been used")
        key = _private(inst["key"])
        try:
            if rec["format"] == "mso_mdoc":
                mdoc = Mdoc.parse(inst["credential"])
                disclose: dict[str, list[str]] = {}
                for p in paths:
                    disclose.setdefault(str(p[0]), []).append(str(p[1]))
                transcript = openid4vp_session_transcript(req.client_id, req.nonce, thumb, req.response_uri)
                vp = encode_vp_token(mdoc.present(disclose, device_key=key, session_transcript=transcript))
            else:
                vp = sd_present(inst["credential"], [tuple(p) for p in paths], holder_key=key, aud=req.client_id,
                                nonce=req.nonce, now=now)
        except PortfeilError as exc:
            raise WalletError("presentation_failed", f"the presentation could not be built ({exc.code})") from exc
        vp_token[qid] = [vp]
        inst["used"] = True
        wallet.save_credential(rec)  # used before sending: a one-time credential is never shown twice
        sent.append({"query": qid, "credential_id": rec["id"], "claims": paths})
    try:
        form = oid4vp.build_authorization_response(req, vp_token)
        resp = await wallet.http.post(req.response_uri, data=form)
    except httpx.HTTPError as exc:
        raise WalletError("network_error", "the verifier could not be reached") from exc
    except PortfeilError as exc:
        raise WalletError(exc.code, exc.message) from exc
    redirect = None
    try:
        body = resp.json()
        redirect = body.get("redirect_uri") if isinstance(body, dict) else None
    except ValueError:
        pass
    ok = resp.status_code == 200
    claims = [p for s in sent for p in s["claims"]]
    wallet.log.append("presentation", now=now, party=pending.party,
                      purpose=pending.purpose.get("bg") or pending.purpose.get("en"), claims=claims,
                      credential_id=sent[0]["credential_id"] if sent else None,
                      outcome="ok" if ok else f"verifier_error_{resp.status_code}",
                      within_registration=pending.within_registration, response_mode=req.response_mode)
    if not ok:
        raise WalletError("verifier_refused", f"the verifier refused the presentation ({resp.status_code})")
    return {"party": pending.party, "sent": sent, "redirect_uri": redirect}
