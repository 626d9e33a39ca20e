"""Tables of the relying-party verifier (prefix ``ver_``, Alembic branch ``verifier``).

* ``ver_parties``: a relying party registered with the trust registry that uses this verifier: its access
  certificate chain (the key lives in the keystore), its registration certificate (WRPRC JWT), a hashed API key
  and an optional webhook URL.
* ``ver_transactions``: one presentation request: state, nonce, the DCQL query, the ephemeral response
  encryption key (direct_post.jwt), the life cycle and, once a response arrived, the verification result.
* ``ver_webhooks``: delivery attempts of signed result notifications.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.db import Base, JSONType, UTCDateTime, new_id


class VerParty(Base):
    __tablename__ = "ver_parties"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: the trust registry's relying-party id
    rp_id: Mapped[str] = mapped_column(String(36), index=True)
    slug: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(300))
    dns: Mapped[str] = mapped_column(String(253))
    key_name: Mapped[str] = mapped_column(String(128))
    chain_pem: Mapped[str] = mapped_column(Text)
    registration_certificate: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VerTransaction(Base):
    __tablename__ = "ver_transactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    party_id: Mapped[str] = mapped_column(ForeignKey("ver_parties.id"), index=True)
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dcql: Mapped[dict[str, Any]] = mapped_column(JSONType)
    client_id_prefix: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str] = mapped_column(Text)
    response_mode: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    #: PKCS#8 PEM of the ephemeral ECDH-ES key (direct_post.jwt); erased once the response is processed
    enc_key_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    enc_kid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: a secret given to the browser that started the transaction (status page polling, same-device return)
    view_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    return_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: created -> fetched -> responding -> verified | failed ; or expired / wallet_error
    status: Mapped[str] = mapped_column(String(20), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    response_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class VerWebhook(Base):
    __tablename__ = "ver_webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ver_transactions.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(100), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
