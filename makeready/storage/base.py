"""The storage interface every backend implements, and the shapes it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class StorageUnavailable(RuntimeError):
    """The backend cannot be reached; callers turn this into a clear 503."""


@dataclass(frozen=True)
class UploadTicket:
    """How a browser uploads one file straight to storage: POST `fields` plus the file to `url`."""

    url: str
    fields: dict[str, str]
    key: str
    expires_at: datetime
    max_size: int
    headers: dict[str, str] = field(default_factory=dict)


class Storage(Protocol):
    """Object storage with keys we generate. Implemented by LocalStorage and S3Storage."""

    name: str

    async def check(self) -> None:
        """Raise StorageUnavailable when the backend is not usable."""

    async def presign_upload(self, key: str, *, max_size: int, content_type: str) -> UploadTicket:
        """Instructions for a direct upload of one object at `key`."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store bytes at `key` (server-side writes: re-encoded images, rendered PDFs)."""

    async def read(self, key: str, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes (at most `max_bytes`); FileNotFoundError when absent."""

    async def size(self, key: str) -> int | None:
        """The object's size, or None when absent."""

    async def delete(self, key: str) -> None:
        """Remove the object; absent objects are fine."""

    def download_url(self, key: str, *, filename: str, content_type: str, inline: bool = False) -> str:
        """A short-lived URL that serves the object with our Content-Disposition and type."""
