"""Local storage (the embedded default): files under MEDIA_ROOT, moved in and out through signed app URLs.

Uploads mirror S3's presigned POST: `presign_upload` signs (HMAC, key derived from SECRET_KEY) the key, the
size limit and the expiry into form fields; the browser posts them with the file to `/uploads/local`, where
`verify_upload_fields` checks them and an `IncomingFile` writes the body with a hard size cap. Downloads go
through `/files/local/<token>`, a signed, expiring token naming the key, the file name and the type we serve.

Every file operation runs in a worker thread, so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.to_thread

from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import _
from makeready.settings import StorageSettings
from makeready.storage.base import (
    CHUNK_SIZE,
    InvalidKey,
    LinkExpired,
    SignatureInvalid,
    StorageUnavailable,
    StoredObject,
    UploadTicket,
    UploadTooLarge,
    check_key,
    human_size,
)

UPLOAD_PATH = "/uploads/local"
DOWNLOAD_PREFIX = "/files/local/"
INCOMING = ".incoming"  # partial uploads; a leading dot keeps it outside every valid key
UPLOAD_FIELDS = ("key", "max_size", "expires", "signature")


def _derive(secret: str, purpose: str) -> bytes:
    """A separate key per purpose, so an upload signature can never pass as a download token."""
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LocalDownload:
    """What a valid download token grants: one file, served under our name and type."""

    path: Path
    filename: str
    content_type: str
    inline: bool


class LocalStorage:
    """Files under `media_root`; keys map to relative paths and can never leave it."""

    name = "local"

    def __init__(
        self,
        settings: StorageSettings,
        *,
        secret_key: str,
        base_url: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(settings.media_root).absolute()
        self.expiry = settings.url_expiry_seconds
        self.base_url = base_url.rstrip("/")
        self.clock = clock  # tests move time instead of sleeping
        self._upload_secret = _derive(secret_key, "storage-upload")
        self._download_secret = _derive(secret_key, "storage-download")

    # paths -------------------------------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """The file of `key`; InvalidKey for anything that could point outside the media folder."""
        path = self.root / check_key(key)
        if not path.is_relative_to(self.root):  # check_key already refuses this; kept as a second lock
            raise InvalidKey(_("This file key is not valid."))
        return path

    def _real(self, path: Path) -> Path:
        """`path` with symlinks resolved, refused if that lands outside the media folder (call in a thread)."""
        real = path.resolve()
        if not real.is_relative_to(self.root.resolve()):
            raise InvalidKey(_("This file key is not valid."))
        return real

    # health ------------------------------------------------------------------------------------------------

    async def check(self) -> None:
        def probe() -> None:
            incoming = self.root / INCOMING
            incoming.mkdir(parents=True, exist_ok=True)
            test = incoming / f"probe-{uuid.uuid4().hex}"
            test.write_bytes(b"ok")
            test.unlink()

        try:
            await anyio.to_thread.run_sync(probe)
        except OSError as exc:
            raise StorageUnavailable(f"media folder {self.root} is not writable: {exc}") from exc

    # uploads -----------------------------------------------------------------------------------------------

    def _upload_signature(self, key: str, max_size: int, expires: int) -> str:
        message = f"upload\n{key}\n{max_size}\n{expires}".encode()
        return _b64(hmac.new(self._upload_secret, message, hashlib.sha256).digest())

    async def presign_upload(
        self, key: str, *, max_size: int, content_type: str = "application/octet-stream"
    ) -> UploadTicket:
        check_key(key)
        expires = int(self.clock()) + self.expiry
        fields = {
            "key": key,
            "max_size": str(int(max_size)),
            "expires": str(expires),
            "signature": self._upload_signature(key, int(max_size), expires),
        }
        return UploadTicket(
            url=self.base_url + UPLOAD_PATH,
            fields=fields,
            key=key,
            expires_at=datetime.fromtimestamp(expires, UTC),
            max_size=int(max_size),
        )

    def verify_upload_fields(self, fields: Mapping[str, str]) -> tuple[str, int]:
        """The key and size limit a signed upload form grants; SignatureInvalid (403) or LinkExpired (410)."""
        for name in UPLOAD_FIELDS:
            if not fields.get(name):
                raise ValidationFailed(
                    _("The upload form is incomplete: the field %(field)s is missing.") % {"field": name},
                    field=name,
                )
        invalid = SignatureInvalid(_("This upload form is not valid. Start the upload again."))
        try:
            max_size, expires = int(fields["max_size"]), int(fields["expires"])
        except ValueError:
            raise invalid from None
        expected = self._upload_signature(fields["key"], max_size, expires)
        if not hmac.compare_digest(expected.encode(), fields["signature"].encode()):
            raise invalid
        if self.clock() > expires:
            raise LinkExpired(_("This upload form has expired. Start the upload again."))
        return check_key(fields["key"]), max_size

    async def open_incoming(self, key: str, *, max_size: int) -> IncomingFile:
        """A writer for one upload at `key`, capped at `max_size` bytes."""
        incoming = IncomingFile(self, key, self.path_for(key), max_size)
        await incoming.open()
        return incoming

    async def receive(self, key: str, chunks: AsyncIterator[bytes], *, max_size: int) -> int:
        """Write a stream of chunks at `key`; stop reading and keep nothing as soon as it passes `max_size`."""
        incoming = await self.open_incoming(key, max_size=max_size)
        try:
            async for chunk in chunks:
                await incoming.write(chunk)
        except BaseException:
            await incoming.abort()
            raise
        await incoming.commit()
        return incoming.written

    # objects -----------------------------------------------------------------------------------------------

    async def put(self, key: str, data: bytes | IO[bytes], *, content_type: str) -> None:
        path = self.path_for(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._real(path.parent)
            tmp = self.root / INCOMING / f"{uuid.uuid4().hex}.put"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            try:
                with tmp.open("xb") as out:
                    if isinstance(data, bytes | bytearray | memoryview):
                        out.write(data)
                    else:
                        shutil.copyfileobj(data, out, CHUNK_SIZE)
                os.replace(tmp, path)  # readers see the old file or the new one, never half of one
            finally:
                tmp.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(write)

    async def read(self, key: str, *, max_bytes: int | None = None) -> bytes:
        path = self.path_for(key)

        def load() -> bytes:
            try:
                with self._real(path).open("rb") as fh:
                    return fh.read(-1 if max_bytes is None else max_bytes)
            except IsADirectoryError:
                raise FileNotFoundError(key) from None

        return await anyio.to_thread.run_sync(load)

    async def stream(self, key: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        real = await anyio.to_thread.run_sync(self._real, path)
        if not await anyio.Path(real).is_file():
            raise FileNotFoundError(key)
        async with await anyio.open_file(real, "rb") as fh:
            while chunk := await fh.read(chunk_size):
                yield chunk

    async def size(self, key: str) -> int | None:
        path = self.path_for(key)

        def stat() -> int | None:
            real = self._real(path)
            return real.stat().st_size if real.is_file() else None

        return await anyio.to_thread.run_sync(stat)

    async def delete(self, key: str) -> None:
        path = self.path_for(key)

        def remove() -> None:
            self._real(path).unlink(missing_ok=True)
            # drop the now-empty per-object folders, never the media folder itself
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

        await anyio.to_thread.run_sync(remove)

    async def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            await self.delete(key)

    async def list_objects(self, prefix: str, *, page_size: int = 1000) -> AsyncIterator[list[StoredObject]]:
        """Walk the media folder (never `.incoming` nor a symlink out of it), one page per worker-thread call."""

        def walk() -> Iterator[StoredObject]:
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    path = Path(folder) / name
                    key = path.relative_to(self.root).as_posix()
                    if not key.startswith(prefix) or path.is_symlink():
                        continue
                    try:
                        stat = path.stat()
                    except FileNotFoundError:  # removed while we walked
                        continue
                    yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

        objects = walk()
        while page := await anyio.to_thread.run_sync(lambda: list(itertools.islice(objects, page_size))):
            yield page

    async def remove_partial_uploads(self, older_than: datetime) -> int:
        """Partial files in `.incoming` left by uploads or writes that died before they finished."""

        def sweep() -> int:
            incoming = self.root / INCOMING
            if not incoming.is_dir():
                return 0
            removed = 0
            for path in incoming.iterdir():
                try:
                    if path.is_file() and path.stat().st_mtime < older_than.timestamp():
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
            return removed

        return await anyio.to_thread.run_sync(sweep)

    # downloads ---------------------------------------------------------------------------------------------

    def download_url(self, key: str, *, filename: str, content_type: str, inline: bool = False) -> str:
        check_key(key)
        claims = {
            "k": key,
            "n": filename,
            "t": content_type,
            "i": inline,
            "e": int(self.clock()) + self.expiry,
        }
        payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
        signature = _b64(hmac.new(self._download_secret, payload.encode(), hashlib.sha256).digest())
        return f"{self.base_url}{DOWNLOAD_PREFIX}{payload}.{signature}"

    def open_download(self, token: str) -> LocalDownload:
        """What a download token grants; SignatureInvalid (403) or LinkExpired (410) otherwise."""
        invalid = SignatureInvalid(_("This download link is not valid. Open the file from its page again."))
        payload, _sep, signature = token.partition(".")
        expected = _b64(hmac.new(self._download_secret, payload.encode(), hashlib.sha256).digest())
        if not (payload and hmac.compare_digest(expected.encode(), signature.encode())):
            raise invalid
        try:
            claims: dict[str, Any] = json.loads(_unb64(payload))
            key, filename, content_type = str(claims["k"]), str(claims["n"]), str(claims["t"])
            expires, inline = int(claims["e"]), bool(claims["i"])
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        if self.clock() > expires:
            raise LinkExpired(_("This download link has expired. Open the file from its page again."))
        return LocalDownload(self.path_for(key), filename, content_type, inline)


class IncomingFile:
    """One upload being written: to a private temporary file first, linked into place only when complete."""

    def __init__(self, storage: LocalStorage, key: str, final: Path, max_size: int) -> None:
        self.storage = storage
        self.key = key
        self.final = final
        self.max_size = max_size
        self.written = 0
        self._tmp = storage.root / INCOMING / f"{uuid.uuid4().hex}.part"
        self._fh: Any = None

    async def open(self) -> None:
        if await anyio.to_thread.run_sync(self.final.exists):
            # a ticket is good for one file: once it is stored, posting the same form again cannot replace it
            raise Conflict(_("A file was already uploaded with this form. Start a new upload."))
        await anyio.Path(self._tmp.parent).mkdir(parents=True, exist_ok=True)
        self._fh = await anyio.open_file(self._tmp, "xb")

    async def write(self, chunk: bytes) -> None:
        if self.written + len(chunk) > self.max_size:
            # refuse before writing: nothing past the limit ever reaches the disk
            await self.abort()
            raise UploadTooLarge(
                _("The file is larger than %(limit)s, the most this upload allows.")
                % {"limit": human_size(self.max_size)}
            )
        await self._fh.write(chunk)
        self.written += len(chunk)

    async def commit(self) -> None:
        await self._fh.aclose()
        self._fh = None

        def place() -> None:
            try:
                self.final.parent.mkdir(parents=True, exist_ok=True)
                self.storage._real(self.final.parent)
                os.link(self._tmp, self.final)  # fails if the key exists: no overwrite, no half-written file
            except FileExistsError:
                raise Conflict(_("A file was already uploaded with this form. Start a new upload.")) from None
            finally:
                self._tmp.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(place)

    async def abort(self) -> None:
        if self._fh is not None:
            await self._fh.aclose()
            self._fh = None
        await anyio.Path(self._tmp).unlink(missing_ok=True)
