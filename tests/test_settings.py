"""Settings: embedded defaults, and placeholder secrets refused outside development."""

from __future__ import annotations

import pytest

from makeready.settings import ConfigurationError, Settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "MEDIA_ROOT", "S3_BUCKET", "REDIS_URL", "SMTP_URL", "STRIPE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.db.url.startswith("sqlite+aiosqlite:///")
    assert settings.db.url.endswith("var/makeready.db")
    assert settings.storage.backend == "local"
    assert str(settings.storage.media_root).endswith("var/media")
    assert not settings.billing.enabled
    settings.check()  # development accepts the placeholder


@pytest.mark.parametrize("secret", ["", "change-me", "dev-secret-key-change-me", "short"])
def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings().check()


def test_production_needs_webhook_secret_with_stripe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_abc")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "")
    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_SECRET"):
        Settings().check()


def test_postgres_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db:5432/makeready")
    assert Settings().db.async_url == "postgresql+asyncpg://u:p@db:5432/makeready"


def test_production_refuses_the_fast_password_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("ARGON2_PROFILE", "fast")
    with pytest.raises(ConfigurationError, match="ARGON2_PROFILE"):
        Settings().check()
