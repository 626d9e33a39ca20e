"""OpenID4VCI 1.0 client: offers by value and by reference, the pre-authorized code flow (with ``tx_code``) and the
authorization code flow (PAR RFC 9126, PKCE RFC 7636, DPoP RFC 9449, attestation-based client authentication),
batches of one-time credentials (one proof per key, §8.2), encrypted credential responses (§10), deferred
issuance (§9) and notification (§11). Every message is built and checked by :mod:`portfeil.protocols`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from portfeil.errors import PortfeilError
from portfeil.formats.mdoc import Mdoc, MdocVerifier
from portfeil.formats.sdjwt import verify_sd_jwt_vc
from portfeil.pki.keys import PrivateKey, generate_private_key, private_jwk
from portfeil.pki.roles import Role
from portfeil.protocols import jwe, oauth, oid4vci
from portfeil.protocols.client_attestation import (
    CLIENT_ATTESTATION_HEADER,
    CLIENT_ATTESTATION_POP_HEADER,
    create_client_attestation_pop,
)
from portfeil.protocols.dpop import create_dpop_proof
from portfeil.protocols.pkce import code_challenge, generate_code_verifier
from portfeil.wallet.core import Wallet, jsonable
from portfeil.wallet.errors import WalletError

__all__ = ["AuthorizationStep", "OfferPreview", "accept_offer", "preview_offer"]

#: The browser step of the authorization code flow: given the authorization URL, return the URL the
#: authorization server redirected back to (with ``code`` and ``state``).
AuthorizationStep = Callable[[str], Awaitable[str]]
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"


@dataclass
class OfferPreview:
    """What the user sees before accepting an offer."""

    offer: oid4vci.CredentialOffer
    metadata: dict[str, Any]
    offer_uri: str

    @property
    def issuer(self) -> str:
        return self.offer.credential_issuer

    def display_name(self, lang: str = "bg") -> str:
        return _pick(self.metadata.get("display"), lang, self.issuer)

    def configurations(self, lang: str = "bg") -> list[dict[str, Any]]:
        cfgs = self.metadata.get("credential_configurations_supported", {})
        out = []
        for cid in self.offer.credential_configuration_ids:
            cfg = cfgs.get(cid, {})
            out.append({"id": cid, "format": cfg.get("format"),
                        "name": _pick((cfg.get("credential_metadata") or {}).get("display") or cfg.get("display"),
                                      lang, cid)})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "issuer_name": self.display_name(), "credentials": self.configurations(),
                "tx_code": self.offer.tx_code.to_dict() if self.offer.tx_code else None,
                "pre_authorized": self.offer.pre_authorized_code is not None,
                "authorization_code": self.offer.has_authorization_code_grant}


def _pick(display: object, lang: str, default: str) -> str:
    if isinstance(display, list):
        for d in display:
            if isinstance(d, dict) and str(d.get("locale", "")).startswith(lang) and isinstance(d.get("name"), str):
                return str(d["name"])
        for d in display:
            if isinstance(d, dict) and isinstance(d.get("name"), str):
                return str(d["name"])
    return default


def _well_known(url: str, suffix: str) -> list[str]:
    """OpenID4VCI §12.2.2 / RFC 8414 §3.1: the well-known segment goes between host and path; portfeil's issuer
    also serves the appended form, which some peers use."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    inserted = f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}"
    appended = f"{url.rstrip('/')}/.well-known/{suffix}"
    return [inserted] if inserted == appended else [inserted, appended]


async def _get_json(wallet: Wallet, urls: list[str]) -> Any:
    last: WalletError | None = None
    for url in urls:
        try:
            return await wallet._json("GET", url)
        except WalletError as exc:
            last = exc
    assert last is not None
    raise last


async def preview_offer(wallet: Wallet, offer_uri: str) -> OfferPreview:
    """Parse an offer link (fetching ``credential_offer_uri`` when by reference, §4.1.3) and the issuer metadata."""
    try:
        parsed = oid4vci.parse_credential_offer_uri(offer_uri.strip(), allow_http_localhost=wallet.allow_http_localhost)
        if isinstance(parsed, str):
            parsed = oid4vci.parse_credential_offer(await wallet._json("GET", parsed),
                                                    allow_http_localhost=wallet.allow_http_localhost)
        md_raw = await _get_json(wallet, _well_known(parsed.credential_issuer, "openid-credential-issuer"))
        metadata = oid4vci.parse_credential_issuer_metadata(md_raw, expected_issuer=parsed.credential_issuer,
                                                            allow_http_localhost=wallet.allow_http_localhost)
    except WalletError:
        raise
    except PortfeilError as exc:
        raise WalletError(exc.code, exc.message) from exc
    for cid in parsed.credential_configuration_ids:
        if cid not in metadata["credential_configurations_supported"]:
            raise WalletError("invalid_credential_offer", "the offer names a configuration the issuer does not have")
    return OfferPreview(parsed, metadata, offer_uri)


@dataclass
class _Session:
    wallet: Wallet
    preview: OfferPreview
    as_metadata: dict[str, Any]
    dpop_key: PrivateKey = field(default_factory=generate_private_key)
    dpop_nonces: dict[str, str] = field(default_factory=dict)
    access_token: str | None = None
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    client_id: str | None = None
    attestation: str | None = None
    code_flow: bool = False

    @property
    def issuer(self) -> str:
        return self.preview.issuer

    def _proof(self, method: str, url: str, token: str | None = None) -> str:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        return create_dpop_proof(self.dpop_key, htm=method, htu=url, now=self.wallet.clock.now(),
                                 access_token=token, nonce=self.dpop_nonces.get(origin))

    def _attest_headers(self, audience: str) -> dict[str, str]:
        if self.attestation is None or self.client_id is None:
            return {}
        pop = create_client_attestation_pop(self.wallet.instance_key, client_id=self.client_id, audience=audience,
                                            now=self.wallet.clock.now())
        return {CLIENT_ATTESTATION_HEADER: self.attestation, CLIENT_ATTESTATION_POP_HEADER: pop}

    async def post(self, url: str, *, data: dict[str, str] | None = None, body: Any = None,
                   token: str | None = None, attest: bool = False) -> httpx.Response:
        """POST with a DPoP proof, retrying once when the server asks for a DPoP nonce (RFC 9449 §8, §9)."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        resp: httpx.Response | None = None
        for _ in range(2):
            headers = {"DPoP": self._proof("POST", url, token)}
            if token:
                headers["Authorization"] = f"DPoP {token}"
            if attest:
                headers.update(self._attest_headers(self.as_metadata.get("issuer", self.issuer)))
            try:
                if body is not None:
                    headers["Content-Type"] = "application/json"
                    resp = await self.wallet.http.post(url, content=json.dumps(body), headers=headers)
                else:
                    resp = await self.wallet.http.post(url, data=data or {}, headers=headers)
            except httpx.HTTPError as exc:
                raise WalletError("network_error", "the issuer could not be reached") from exc
            if "DPoP-Nonce" in resp.headers:
                self.dpop_nonces[origin] = resp.headers["DPoP-Nonce"]
            if resp.status_code in (400, 401) and _error(resp) == "use_dpop_nonce":
                continue
            return resp
        assert resp is not None
        return resp


def _error(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _check(resp: httpx.Response, what: str) -> None:
    if resp.status_code >= 400:
        raise WalletError("issuance_failed", f"the issuer refused the {what} ({resp.status_code} {_error(resp)})",
                          remote_error=_error(resp))


async def _authorization_server(wallet: Wallet, preview: OfferPreview) -> dict[str, Any]:
    servers = preview.metadata.get("authorization_servers") or [preview.issuer]
    server = preview.offer.authorization_server or servers[0]
    raw = await _get_json(wallet, _well_known(server, "oauth-authorization-server"))
    if not wallet.allow_http_localhost or urlsplit(server).scheme == "https":
        return oauth.parse_authorization_server_metadata(raw, expected_issuer=server)
    # http://localhost (demo and tests): the protocol parser demands https; apply its other checks here
    if not isinstance(raw, dict) or raw.get("issuer") != server:
        raise WalletError("invalid_response", "authorization server metadata does not name the expected issuer")
    for name in ("token_endpoint", "pushed_authorization_request_endpoint", "authorization_endpoint"):
        value = raw.get(name)
        if value is not None and not (isinstance(value, str) and _localhost_or_https(value)):
            raise WalletError("invalid_response", f"{name} is not an https (or localhost) URL")
    if not isinstance(raw.get("token_endpoint"), str):
        raise WalletError("invalid_response", "token_endpoint missing")
    return raw


def _localhost_or_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"))


async def _token_pre_authorized(s: _Session, tx_code: str | None) -> None:
    offer = s.preview.offer
    assert offer.pre_authorized_code is not None
    if offer.tx_code is not None and not tx_code:
        raise WalletError("tx_code_required", "this offer needs the transaction code given to you separately")
    data = {"grant_type": oauth.PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": offer.pre_authorized_code}
    if tx_code:
        data["tx_code"] = tx_code
    resp = await s.post(s.as_metadata["token_endpoint"], data=data, attest=s.attestation is not None)
    _check(resp, "transaction code" if _error(resp) == "invalid_grant" and tx_code else "token request")
    _take_token(s, resp)


def _take_token(s: _Session, resp: httpx.Response) -> None:
    tok = oauth.parse_token_response(resp.text)
    s.access_token = tok.access_token
    s.identifiers = {k: list(v) for k, v in (tok.credential_identifiers or {}).items()}


async def _token_authorization_code(s: _Session, authorize: AuthorizationStep, redirect_uri: str,
                                    config_ids: tuple[str, ...]) -> None:
    """§5: PAR with PKCE and the client attestation, the browser step, then the code for a token at the token
    endpoint (PKCE verifier, DPoP, attestation again)."""
    md = s.as_metadata
    verifier = generate_code_verifier()
    state = secrets.token_urlsafe(16)
    cfgs = s.preview.metadata["credential_configurations_supported"]
    scopes = " ".join(cfgs[c]["scope"] for c in config_ids if "scope" in cfgs[c])
    form = {"client_id": s.client_id or "", "response_type": "code", "redirect_uri": redirect_uri,
            "code_challenge": code_challenge(verifier), "code_challenge_method": "S256", "state": state}
    if scopes:
        form["scope"] = scopes
    else:
        form["authorization_details"] = json.dumps([{"type": "openid_credential", "credential_configuration_id": c}
                                                    for c in config_ids])
    if s.preview.offer.issuer_state:
        form["issuer_state"] = s.preview.offer.issuer_state
    par_url = md.get("pushed_authorization_request_endpoint")
    if not par_url:
        raise WalletError("issuance_failed", "the authorization server has no PAR endpoint")
    resp = await s.post(par_url, data=form, attest=True)
    _check(resp, "pushed authorization request")
    request_uri, _exp = oauth.parse_par_response(resp.text)
    auth_url = md["authorization_endpoint"] + "?" + urlencode({"client_id": s.client_id, "request_uri": request_uri})
    back = await authorize(auth_url)
    q = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    if q.get("state") != state:
        raise WalletError("state_mismatch", "the authorization answer does not belong to this request")
    if "error" in q:
        raise WalletError("authorization_denied", "the authorization was refused or cancelled",
                          remote_error=q["error"])
    if "code" not in q:
        raise WalletError("authorization_failed", "no authorization code in the answer")
    resp = await s.post(md["token_endpoint"], data={
        "grant_type": "authorization_code", "code": q["code"], "code_verifier": verifier,
        "redirect_uri": redirect_uri, "client_id": s.client_id or ""}, attest=True)
    _check(resp, "token request")
    _take_token(s, resp)


async def _nonce(s: _Session) -> str | None:
    url = s.preview.metadata.get("nonce_endpoint")
    if not url:
        return None
    try:
        resp = await s.wallet.http.post(url)
    except httpx.HTTPError as exc:
        raise WalletError("network_error", "the issuer could not be reached") from exc
    _check(resp, "nonce request")
    return oid4vci.parse_nonce_response(resp.text)


async def _obtain(s: _Session, config_id: str, batch: int) -> dict[str, Any]:
    """One credential request (§8.2) with ``batch`` proofs: one fresh holder key per one-time credential."""
    md = s.preview.metadata
    cfg = md["credential_configurations_supported"][config_id]
    max_batch = (md.get("batch_credential_issuance") or {}).get("batch_size", 1)
    n = max(1, min(batch, int(max_batch)))
    keys = [generate_private_key("ES256") for _ in range(n)]
    nonce = await _nonce(s)
    proofs = [oid4vci.create_proof_jwt(k, audience=s.issuer, now=s.wallet.clock.now(), nonce=nonce,
                                       client_id=s.client_id if s.code_flow else None) for k in keys]
    body: dict[str, Any] = {"proofs": {"jwt": proofs}}
    ids = s.identifiers.get(config_id)
    if ids:
        body["credential_identifier"] = ids[0]
    else:
        body["credential_configuration_id"] = config_id
    enc_key: jwe.EncryptionKey | None = None
    enc_md = md.get("credential_response_encryption")
    if isinstance(enc_md, dict) and "ECDH-ES" in enc_md.get("alg_values_supported", []):
        enc_key = jwe.generate_encryption_key()
        encs = [e for e in enc_md.get("enc_values_supported", ["A128GCM"]) if e in jwe.ALLOWED_ENCS]
        body["credential_response_encryption"] = {"jwk": enc_key.jwk, "enc": encs[0] if encs else "A128GCM"}
    resp = await s.post(md["credential_endpoint"], body=body, token=s.access_token)
    _check(resp, "credential request")
    parsed = oid4vci.parse_credential_response(resp.text, decryption_key=enc_key)
    polls = 0
    while parsed.transaction_id is not None:  # §9: deferred; poll a bounded number of times
        deferred = md.get("deferred_credential_endpoint")
        if not deferred or polls >= 5:
            return {"deferred": True, "transaction_id": parsed.transaction_id, "configuration_id": config_id}
        polls += 1
        await asyncio.sleep(min(parsed.interval or 1, 5) if s.wallet.clock.__class__.__name__ != "FrozenClock" else 0)
        dbody: dict[str, Any] = {"transaction_id": parsed.transaction_id}
        if enc_key is not None:
            dbody["credential_response_encryption"] = body["credential_response_encryption"]
        resp = await s.post(deferred, body=dbody, token=s.access_token)
        if resp.status_code == 400 and _error(resp) == "issuance_pending":
            continue
        _check(resp, "deferred credential request")
        parsed = oid4vci.parse_credential_response(resp.text, decryption_key=enc_key)
    creds = [c for c in parsed.credentials if isinstance(c, str)]
    if len(creds) != len(parsed.credentials):
        raise WalletError("unsupported_credential", "the issuer sent a credential in an unsupported shape")
    rec = _verify_and_record(s, config_id, cfg, creds, keys)
    if parsed.notification_id and md.get("notification_endpoint"):
        rec["notification_id"] = parsed.notification_id
    return rec


def _verify_and_record(s: _Session, config_id: str, cfg: dict[str, Any], creds: list[str],
                       keys: list[PrivateKey]) -> dict[str, Any]:
    """Check every credential on receipt: issuer signature chains to a trusted PID/attestation provider (SD-JWT VC)
    or IACA (mdoc), the holder key is one of ours; keep issuer display metadata (§12.2.4)."""
    w = s.wallet
    now = w.clock.now()
    fmt = cfg["format"]
    instances = []
    claims: dict[str, Any] = {}
    valid_until = None
    if len(creds) > len(keys):
        raise WalletError("invalid_credential", "more credentials than proofs")
    for raw, key in zip(creds, keys, strict=False):
        try:
            if fmt in ("dc+sd-jwt", "vc+sd-jwt"):
                v = _verify_sd_jwt(w, raw, cfg)
                cnf = (v.cnf or {}).get("jwk", {})
                if cnf.get("x") != private_jwk(key)["x"]:
                    raise WalletError("invalid_credential", "the credential is not bound to the wallet's key")
                claims = {k: val for k, val in v.claims.items() if k not in ("cnf", "status", "_sd_alg")}
                exp = v.claims.get("exp")
                valid_until = exp if isinstance(exp, int) else valid_until
            elif fmt == "mso_mdoc":
                vm = _verify_mdoc(w, raw, cfg)
                mdoc = Mdoc.parse(raw)
                if mdoc.device_key != key.public_key():
                    raise WalletError("invalid_credential", "the mdoc is not bound to the wallet's key")
                claims = jsonable(vm.namespaces)
                valid_until = int(mdoc.validity.valid_until.timestamp())
            else:
                raise WalletError("unsupported_format", "unsupported credential format")
        except WalletError:
            raise
        except PortfeilError as exc:
            raise WalletError("invalid_credential", f"a received credential does not verify ({exc.code})") from exc
        instances.append({"credential": raw, "key": private_jwk(key), "used": False})
    display = (cfg.get("credential_metadata") or {}).get("display") or cfg.get("display") or []
    claims_display = (cfg.get("credential_metadata") or {}).get("claims") or cfg.get("claims") or []
    return {
        "id": w.new_credential_id(), "format": fmt, "configuration_id": config_id, "issuer": s.issuer,
        "issuer_name": s.preview.display_name(), "issuer_display": s.preview.metadata.get("display", []),
        "vct": cfg.get("vct"), "doctype": cfg.get("doctype"), "display": display,
        "claims_display": claims_display if isinstance(claims_display, list) else [],
        "claims": claims, "received_at": now.isoformat(), "valid_until": valid_until, "instances": instances,
    }


def _verify_sd_jwt(w: Wallet, raw: str, cfg: dict[str, Any]) -> Any:
    # The first real verification failure explains a refusal best; a role without anchors only when no role had any.
    failure: PortfeilError | None = None
    missing: PortfeilError | None = None
    for role in (Role.PID_PROVIDER, Role.ATTESTATION_PROVIDER):
        try:
            validator = w.anchors.validator(role)
        except WalletError as exc:
            missing = missing or exc
            continue
        try:
            return verify_sd_jwt_vc(raw, now=w.clock.now(), trust=validator, vct=cfg.get("vct"),
                                    require_key_binding=False)
        except PortfeilError as exc:
            failure = failure or exc
    error = failure or missing
    assert error is not None
    raise error


def _verify_mdoc(w: Wallet, raw: str, cfg: dict[str, Any]) -> Any:
    return MdocVerifier(w.anchors.validator(Role.IACA)).verify_issuer_signed(raw, now=w.clock.now(),
                                                                             doctype=cfg.get("doctype"))


async def accept_offer(wallet: Wallet, offer_uri: str, *, tx_code: str | None = None,
                       authorize: AuthorizationStep | None = None, redirect_uri: str = DEFAULT_REDIRECT_URI,
                       batch: int | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Accept a credential offer end to end; store every credential (a batch of one-time instances each) and log
    the issuance. Pre-authorized when the offer has a pre-authorized code, otherwise the authorization code flow
    (``authorize`` performs the browser step)."""
    preview = await preview_offer(wallet, offer_uri)
    try:
        as_md = await _authorization_server(wallet, preview)
    except PortfeilError as exc:
        raise WalletError(exc.code, exc.message) from exc
    s = _Session(wallet, preview, as_md)
    if wallet.meta.get("wallet_unit"):
        s.client_id, s.attestation = await wallet.client_attestation()
    config_ids = tuple(c for c in preview.offer.credential_configuration_ids if not only or c in only)
    try:
        if preview.offer.pre_authorized_code is not None:
            await _token_pre_authorized(s, tx_code)
        else:
            if authorize is None:
                raise WalletError("browser_step_required", "this offer needs the authorization code flow")
            if s.attestation is None:
                raise WalletError("wallet_not_registered", "the authorization code flow needs a wallet attestation")
            s.code_flow = True
            await _token_authorization_code(s, authorize, redirect_uri, config_ids)
        records = [await _obtain(s, cid, batch or int(wallet.meta.get("batch_size", 3))) for cid in config_ids]
    except WalletError:
        raise
    except PortfeilError as exc:
        raise WalletError(exc.code, exc.message) from exc
    stored = []
    for rec in records:
        if rec.get("deferred"):
            stored.append(rec)
            continue
        wallet.save_credential(rec)
        wallet.log.append("issuance", now=wallet.clock.now(), party={"id": preview.issuer,
                          "name": preview.display_name()}, credential_id=rec["id"],
                          claims=[[k] for k in sorted(rec["claims"])], configuration_id=rec["configuration_id"],
                          instances=len(rec["instances"]))
        await _notify(s, rec)
        stored.append(Wallet.summary(rec))
    return {"issuer": preview.issuer, "issuer_name": preview.display_name(), "credentials": stored}


async def _notify(s: _Session, rec: dict[str, Any]) -> None:
    """§11: tell the issuer the credential was accepted (best effort: a failure does not undo the issuance)."""
    nid = rec.get("notification_id")
    url = s.preview.metadata.get("notification_endpoint")
    if not nid or not url:
        return
    with contextlib.suppress(WalletError):
        await s.post(url, body={"notification_id": nid, "event": "credential_accepted"}, token=s.access_token)
