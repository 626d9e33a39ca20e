"""One settings object for the whole system, read from ``PORTFEIL_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTFEIL_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Embedded database, keystore and wallet files")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in data_dir"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="Base URL handed out in links; default http://localhost:PORT")
    keystore_passphrase: SecretStr = Field(
        default=SecretStr("portfeil-demo-keystore"),
        description="Passphrase of the encrypted file keystore (set a real one in production)",
    )
    operator_token: SecretStr = Field(
        default=SecretStr("portfeil-demo-operator"),
        description="Bearer token for operator endpoints (set a real one in production)",
    )
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'portfeil.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keystore"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
