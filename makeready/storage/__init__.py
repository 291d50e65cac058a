"""File storage: one interface, a local backend (default) and S3 (boto3)."""

from __future__ import annotations

from makeready.storage.base import (
    InvalidKey,
    LinkExpired,
    SignatureInvalid,
    Storage,
    StorageUnavailable,
    UploadRejected,
    UploadTicket,
    UploadTooLarge,
)

__all__ = [
    "InvalidKey",
    "LinkExpired",
    "SignatureInvalid",
    "Storage",
    "StorageUnavailable",
    "UploadRejected",
    "UploadTicket",
    "UploadTooLarge",
    "get_storage",
    "reset_storage",
    "set_storage",
]

_instance: Storage | None = None


def get_storage() -> Storage:
    """The configured backend, built once: S3 when S3_BUCKET is set, else local files under MEDIA_ROOT."""
    global _instance
    if _instance is None:
        from makeready.settings import get_settings

        settings = get_settings()
        if settings.storage.backend == "s3":
            from makeready.storage.s3 import S3Storage

            _instance = S3Storage(settings.storage)
        else:
            from makeready.storage.local import LocalStorage

            _instance = LocalStorage(settings.storage, secret_key=settings.app.secret_key, base_url="")
    return _instance


def set_storage(storage: Storage | None) -> None:
    """Use this backend from now on (tests point the app at a moto server or a clock they control)."""
    global _instance
    _instance = storage


def reset_storage() -> None:
    """Forget the built backend (tests switch settings)."""
    set_storage(None)
