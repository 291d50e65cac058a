"""Typed settings, one small class per concern, read from the environment (and an optional `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# Values that ship in examples and must never protect a real deployment.
PLACEHOLDER_SECRETS = {
    "",
    "change-me",
    "changeme",
    "secret",
    "dev-secret-key-change-me",
    "sk_test_placeholder",
}


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")


class AppSettings(_Section):
    env: Literal["development", "production"] = Field("development", validation_alias="APP_ENV")
    """development allows placeholder secrets; production refuses them at start."""
    secret_key: str = Field("dev-secret-key-change-me", validation_alias="SECRET_KEY")
    """Signs sessions, CSRF tokens and download URLs."""
    base_url: str = Field("http://127.0.0.1:8000", validation_alias="BASE_URL")
    """Public address, used in emails and factory links."""
    session_hours: int = Field(12, validation_alias="SESSION_HOURS")
    """A portal session ends this many hours after login."""
    argon2_profile: Literal["standard", "fast"] = Field("standard", validation_alias="ARGON2_PROFILE")
    """`fast` makes argon2 cheap for test suites; refused in production."""
    default_locale: str = Field("en", validation_alias="DEFAULT_LOCALE")
    """Locale used when neither the user nor the browser names a supported one."""

    @property
    def is_production(self) -> bool:
        return self.env == "production"


class DatabaseSettings(_Section):
    url: str = Field(f"sqlite+aiosqlite:///{VAR_DIR / 'makeready.db'}", validation_alias="DATABASE_URL")
    """SQLAlchemy async URL; postgresql:// URLs are given the asyncpg driver."""
    echo: bool = Field(False, validation_alias="DATABASE_ECHO")
    """Log every SQL statement."""
    pool: Literal["queue", "null"] = Field("queue", validation_alias="DATABASE_POOL")
    """`null` opens a connection per checkout (tests drive the app from several event loops)."""

    @property
    def async_url(self) -> str:
        return to_async_url(self.url)


class StorageSettings(_Section):
    media_root: Path = Field(VAR_DIR / "media", validation_alias="MEDIA_ROOT")
    """Folder of the local backend (used when S3_BUCKET is empty)."""
    s3_bucket: str = Field("", validation_alias="S3_BUCKET")
    """Setting a bucket switches storage to S3."""
    s3_endpoint_url: str | None = Field(None, validation_alias="S3_ENDPOINT_URL")
    """S3-compatible endpoint (MinIO, moto); empty for AWS."""
    s3_region: str = Field("us-east-1", validation_alias="S3_REGION")
    """Region of the bucket."""
    url_expiry_seconds: int = Field(300, validation_alias="STORAGE_URL_EXPIRY")
    """Lifetime of upload and download URLs."""

    @property
    def backend(self) -> Literal["local", "s3"]:
        return "s3" if self.s3_bucket else "local"


class EmailSettings(_Section):
    smtp_url: str = Field("", validation_alias="SMTP_URL")
    """smtp://user:pass@host:port; empty writes emails to OUTBOX_DIR instead."""
    outbox_dir: Path = Field(VAR_DIR / "outbox", validation_alias="OUTBOX_DIR")
    """Where emails go when no SMTP server is configured."""
    sender: str = Field("Makeready <noreply@makeready.local>", validation_alias="EMAIL_FROM")
    """From address of every email."""


class BillingSettings(_Section):
    stripe_secret_key: str = Field("", validation_alias="STRIPE_SECRET_KEY")
    """Empty turns billing off."""
    stripe_webhook_secret: str = Field("", validation_alias="STRIPE_WEBHOOK_SECRET")
    """Endpoint secret that signs webhook payloads."""
    grace_days: int = Field(14, ge=0, validation_alias="BILLING_GRACE_DAYS")
    """Days an organization keeps writing after its payments stopped (past due, unpaid or canceled); then its
    portal is read-only until it pays again."""
    invoice_days_until_due: int = Field(30, ge=1, validation_alias="BILLING_INVOICE_DAYS")
    """Days a client has to pay a milestone fee invoice."""
    webhook_tolerance_seconds: int = Field(300, ge=1, validation_alias="STRIPE_WEBHOOK_TOLERANCE")
    """Oldest signature timestamp a webhook may carry (Stripe's default, 5 minutes); older is refused as a replay."""

    @property
    def enabled(self) -> bool:
        return bool(self.stripe_secret_key)


class JobSettings(_Section):
    redis_url: str = Field("", validation_alias="REDIS_URL")
    """Empty runs background jobs in-process; set, jobs go through SAQ workers on Redis."""
    in_process: bool = Field(True, validation_alias="JOBS_IN_PROCESS")
    """Run the worker inside the web process too (the embedded default)."""
    periodic: bool = Field(True, validation_alias="JOBS_PERIODIC")
    """Enqueue the periodic jobs (outbox delivery, the escalation pass) from every process that runs a worker."""


class Settings:
    """All sections, built once."""

    def __init__(self) -> None:
        self.app = AppSettings()
        self.db = DatabaseSettings()
        self.storage = StorageSettings()
        self.email = EmailSettings()
        self.billing = BillingSettings()
        self.jobs = JobSettings()

    def check(self) -> None:
        """Refuse placeholder secrets outside development, naming the variable."""
        if not self.app.is_production:
            return
        problems = []
        if self.app.secret_key in PLACEHOLDER_SECRETS or len(self.app.secret_key) < 32:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        if self.app.argon2_profile != "standard":
            problems.append("ARGON2_PROFILE must be 'standard' in production")
        if self.billing.stripe_secret_key and self.billing.stripe_webhook_secret in PLACEHOLDER_SECRETS:
            problems.append("STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is")
        if self.billing.stripe_secret_key in PLACEHOLDER_SECRETS - {""}:
            problems.append("STRIPE_SECRET_KEY is a placeholder")
        if problems:
            raise ConfigurationError("; ".join(problems))


class ConfigurationError(RuntimeError):
    """Raised at start when the environment cannot run Makeready safely."""


def to_async_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
