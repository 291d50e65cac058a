"""Files over HTTP: the JSON API (start an upload, add the verified file, list, download) and the two routes
of the local storage backend (signed upload POST, signed download), which stand in for S3's own URLs.

The local routes are authenticated by their signatures, not by a session: they are excluded from CSRF (a
forged page cannot produce a signature) and never look at the caller's cookie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import msgspec
from litestar import Controller, Request, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import File, Redirect
from multipart import (  # type: ignore[import-untyped]  # litestar's own multipart dependency, untyped
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
    parse_options_header,
)
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.errors import DomainError, NotFound
from makeready.i18n import _
from makeready.projects import files
from makeready.projects.models import Attachment
from makeready.storage import get_storage
from makeready.storage.base import ascii_fallback, content_disposition
from makeready.storage.local import DOWNLOAD_PREFIX, UPLOAD_FIELDS, UPLOAD_PATH, IncomingFile, LocalStorage
from makeready.storage.verify import KIND_RULES
from portal.api import PROBLEMS, WRITE_PROBLEMS, Limit, Offset
from portal.auth import Actor, provide_user
from portal.schemas import Page

# the biggest ticket any kind can get, plus room for the form fields around the file
MAX_UPLOAD_BODY = max(rule.max_size for rule in KIND_RULES.values()) + (1 << 20)
MAX_FIELD_BYTES = 2048


class MalformedUpload(DomainError):
    status_code = 400


# --- JSON shapes --------------------------------------------------------------------------------------------


class UploadStart(msgspec.Struct, forbid_unknown_fields=True):
    filename: str
    """The file's name on the uploader's computer."""
    kind: Literal["design", "image", "document"] = "design"
    """design: CAD, PDF, images, ZIP up to 100 MB; image: PNG/JPEG/WebP photos up to 25 MB;
    document: PDF up to 50 MB."""
    size: int | None = None
    """The size in bytes, if known: refused now rather than after the upload when over the limit."""


class UploadInstructions(msgspec.Struct):
    """POST `fields` and then the file (form field `file`, last) as multipart/form-data to `url`, then
    send `key` to `POST /api/v1/projects/{project_id}/files`."""

    url: str
    method: str
    fields: dict[str, str]
    file_field: str
    key: str
    expires_at: datetime
    max_size: int


class FileComplete(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    """The `key` of the upload instructions."""
    original_name: str
    """The name to show and to download the file under."""


class FileOut(msgspec.Struct):
    id: int
    project_id: int | None
    kind: str
    original_name: str
    size: int
    content_type: str
    """Sniffed from the content, not taken from the name or the upload."""
    checksum: str
    """SHA-256 of the stored bytes (after images were re-encoded)."""
    uploaded_by_id: int | None
    created_at: datetime
    download_url: str
    """An API address that redirects to a short-lived download link."""

    @classmethod
    def of(cls, a: Attachment) -> FileOut:
        return cls(
            id=a.id,
            project_id=a.project_id,
            kind=a.kind,
            original_name=a.original_name,
            size=a.size,
            content_type=a.content_type,
            checksum=a.checksum,
            uploaded_by_id=a.uploaded_by_id,
            created_at=a.created_at,
            download_url=f"/api/v1/files/{a.id}/download",
        )


# --- JSON API -----------------------------------------------------------------------------------------------


class FileController(Controller):
    """Project files: direct uploads, verified on completion."""

    path = "/"
    tags = ["files"]

    @post("/projects/{project_id:int}/uploads", status_code=200, responses=WRITE_PROBLEMS)
    async def start_upload(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[UploadStart],
    ) -> UploadInstructions:
        """Get instructions to upload one file straight to storage (nothing is recorded yet)."""
        ticket = await files.start_upload(
            db, actor=user.user, project_id=project_id, filename=data.filename, kind=data.kind, size=data.size
        )
        return UploadInstructions(
            url=ticket.url,
            method="POST",
            fields=ticket.fields,
            file_field="file",
            key=ticket.key,
            expires_at=ticket.expires_at,
            max_size=ticket.max_size,
        )

    @post("/projects/{project_id:int}/files", status_code=201, responses=WRITE_PROBLEMS)
    async def add_file(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        data: JSONBody[FileComplete],
    ) -> FileOut:
        """Verify an uploaded file and add it to the project. A refused file is deleted (422 says why)."""
        attachment = await files.complete_upload(
            db, actor=user.user, project_id=project_id, key=data.key, original_name=data.original_name
        )
        return FileOut.of(attachment)

    @get("/projects/{project_id:int}/files", responses=PROBLEMS)
    async def list_files(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[FileOut]:
        """The project's files, newest first."""
        rows, total = await files.list_files(db, project_id, offset=offset, limit=limit)
        return Page(items=[FileOut.of(a) for a in rows], total=total, limit=limit, offset=offset)

    @get("/files/{file_id:int}/download", status_code=302, responses=PROBLEMS)
    async def download(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        file_id: FromPath[int],
        inline: Annotated[
            bool, Parameter(description="Ask the browser to show the file, not save it")
        ] = False,
    ) -> Redirect:
        """Redirect to a short-lived link serving the file under its original name."""
        url = await files.download_url_for(db, file_id, inline=inline)
        return Redirect(url, status_code=302, headers={"cache-control": "no-store"})


files_api = Router(
    path="/api/v1",
    route_handlers=[FileController],
    dependencies={"user": Provide(provide_user)},
)


# --- the local backend's routes -------------------------------------------------------------------------------


def _local() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):  # with S3, uploads and downloads never come here
        raise NotFound(_("This page does not exist or you do not have access to it."))
    return storage


@post(UPLOAD_PATH, status_code=204, request_max_body_size=MAX_UPLOAD_BODY, include_in_schema=False)
async def local_upload(request: Request[Any, Any, Any]) -> None:
    """Receive one file posted with signed upload fields; the file must be the last form field."""
    storage = _local()
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    if media_type != "multipart/form-data" or not options.get("boundary"):
        raise MalformedUpload(_("Send the upload as multipart/form-data."))
    fields: dict[str, bytearray] = {}
    current: str | None = None
    incoming: IncomingFile | None = None
    finished = False
    try:
        with PushMultipartParser(options["boundary"], max_segment_count=len(UPLOAD_FIELDS) + 1) as parser:
            async for chunk in request.stream():
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        if finished:
                            raise MalformedUpload(_("The file must be the last field of the upload form."))
                        if event.name == "file":
                            # the signature is checked before a single byte of the file is written
                            values = {k: v.decode("utf-8", "replace") for k, v in fields.items()}
                            key, max_size = storage.verify_upload_fields(values)
                            incoming = await storage.open_incoming(key, max_size=max_size)
                        elif event.name not in UPLOAD_FIELDS or event.name in fields or event.filename:
                            raise MalformedUpload(
                                _("The upload form has an unexpected field: %(field)s.")
                                % {"field": event.name}
                            )
                        else:
                            fields[event.name] = bytearray()
                        current = event.name
                    elif event is None:
                        finished = current == "file"
                        current = None
                    elif current == "file" and incoming is not None:
                        await incoming.write(event)  # raises UploadTooLarge before writing past the limit
                    elif current is not None:
                        fields[current] += event
                        if len(fields[current]) > MAX_FIELD_BYTES:
                            raise MalformedUpload(
                                _("The upload form field %(field)s is too long.") % {"field": current}
                            )
        if incoming is None or not finished:
            raise MalformedUpload(_("The upload form has no file."))
        await incoming.commit()
    except MultipartError:
        if incoming is not None:
            await incoming.abort()
        raise MalformedUpload(_("The upload is not a valid multipart form.")) from None
    except BaseException:
        if incoming is not None:
            await incoming.abort()
        raise


@get(DOWNLOAD_PREFIX + "{token:str}", include_in_schema=False)
async def local_download(token: FromPath[str]) -> File:
    """Serve one file named by a signed, unexpired token, with our name, type and no sniffing."""
    grant = _local().open_download(token)
    if not await anyio.Path(grant.path).is_file():
        raise NotFound(_("This file no longer exists."))
    disposition: Literal["attachment", "inline"] = "inline" if grant.inline else "attachment"
    return File(
        path=grant.path,
        filename=ascii_fallback(grant.filename),
        media_type=grant.content_type,
        content_disposition_type=disposition,
        headers={
            "content-disposition": content_disposition(grant.filename, inline=grant.inline),
            "x-content-type-options": "nosniff",
            # even if a browser renders it, the file runs in an opaque origin with nothing allowed
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, no-store",
            "referrer-policy": "no-referrer",
        },
    )
