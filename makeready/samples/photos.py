"""Sample round photos: verified image uploads attached to a round, each with a thumbnail made on the server.

A coordinator uploads photos straight to storage (the project upload flow, kind "image": `makeready.projects.files`
start_upload, then the browser's POST to the ticket) and hands the keys to `attach_photos`. For each key it
completes the upload through `files.complete_upload` (size, type by magic bytes, re-encoded, EXIF and GPS gone, an
Attachment row and its audit event), makes a JPEG thumbnail with Pillow from the verified bytes, stores it through
`makeready.storage` under the organization's prefix, and records a SamplePhoto. One audit event says which photos
were added to which round.

All or nothing: when any photo is refused, every object this call wrote (verified copies, thumbnails) and the
uploads it did not reach are deleted, and the caller's transaction is rolled back by the error, so no row and no
object is left behind. The portal's gallery reads the same rows through `photos_of_rounds` and the URL helpers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anyio.to_thread
from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, DomainError, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel.machine import Role, load, require_role, roles_of
from makeready.projects import files
from makeready.projects.access import load_project, require_open
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.storage import Storage, get_storage
from makeready.storage.keys import make_key, parse_key, safe_name
from makeready.storage.verify import KIND_RULES

PHOTO_KIND = "image"
THUMBNAIL_SIZE = (480, 480)
"""The longest side of a thumbnail, in pixels (the aspect ratio is kept)."""
THUMBNAIL_QUALITY = 82
THUMBNAIL_TYPE = "image/jpeg"
MAX_PHOTOS_PER_ROUND = 40
MAX_PHOTOS_PER_CALL = 12
MAX_CAPTION = 500
DECIDED = frozenset({SampleStatus.approved, SampleStatus.rejected})
ROUND_NOT_FOUND = N_("This sample round does not exist or you do not have access to it.")


@dataclass(frozen=True)
class PhotoUpload:
    """One uploaded photo: the key its upload ticket named, the file's own name, and an optional caption."""

    key: str
    original_name: str
    caption: str = ""


def make_thumbnail(data: bytes) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE from already verified image bytes; transparency is laid on white.
    CPU-bound: run it in a worker thread."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        picture = ImageOps.exif_transpose(image)
        if picture.mode in ("RGBA", "LA", "P"):
            rgba = picture.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            picture = background
        elif picture.mode != "RGB":
            picture = picture.convert("RGB")
        picture.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def thumbnail_name(original_name: str) -> str:
    stem = safe_name(original_name).rsplit(".", 1)[0]
    return f"{stem}-thumb.jpg"


async def _load_round(session: AsyncSession, actor: User, round_id: int) -> SampleRound:
    sample = await load(session, SampleRound, round_id, ROUND_NOT_FOUND)
    roles = await roles_of(session, actor, org_id=sample.org_id)
    require_role(roles, {Role.STAFF}, N_("Only a coordinator can add photos to a sample round."))
    return sample


async def _check_round(session: AsyncSession, sample: SampleRound) -> None:
    require_open(await load_project(session, sample.project_id))
    if sample.status in DECIDED:
        raise Conflict(
            _(
                "Sample round %(number)s is %(state)s: the brand decided on its photos, so they no longer change."
            )
            % {"number": sample.number, "state": label(sample.status)},
            current_state=sample.status.value,
        )


keys_in_use = files.keys_in_use


async def thumbnail_keys_in(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of the keys that are sample photos' thumbnails (registered with projects.files by the composition)."""
    rows = await session.scalars(select(SamplePhoto.thumbnail_key).where(SamplePhoto.thumbnail_key.in_(keys)))
    return {key for key in rows.all() if key}


async def _check_uploads(session: AsyncSession, sample: SampleRound, uploads: Sequence[PhotoUpload]) -> None:
    if not uploads:
        raise ValidationFailed(_("Choose at least one photo to upload."), field="photos")
    if len(uploads) > MAX_PHOTOS_PER_CALL:
        raise ValidationFailed(
            _("Upload at most %(limit)s photos at a time.") % {"limit": MAX_PHOTOS_PER_CALL}, field="photos"
        )
    for upload in uploads:
        parsed = parse_key(upload.key)
        if parsed is None or parsed.org_id != sample.org_id:
            raise ValidationFailed(
                _("This upload does not exist or you do not have access to it."), field="photos"
            )
        if parsed.kind != PHOTO_KIND:
            raise ValidationFailed(
                _("%(name)s was not uploaded as a photo.") % {"name": upload.original_name}, field="photos"
            )
        if len(upload.caption.strip()) > MAX_CAPTION:
            raise ValidationFailed(
                _("A caption has at most %(limit)s characters.") % {"limit": MAX_CAPTION}, field="caption"
            )
    keys = [u.key for u in uploads]
    if len(set(keys)) != len(keys):
        raise ValidationFailed(_("The same upload was sent twice."), field="photos")
    # a key already in use is a stored file, not a fresh upload: completing it again would move it away from
    # the row that points at it
    if await keys_in_use(session, keys):
        raise ValidationFailed(
            _("This upload does not exist or you do not have access to it."), field="photos"
        )
    existing = (
        await session.scalar(
            select(func.count()).select_from(SamplePhoto).where(SamplePhoto.round_id == sample.id)
        )
        or 0
    )
    if existing + len(uploads) > MAX_PHOTOS_PER_ROUND:
        raise ValidationFailed(
            _("A sample round keeps at most %(limit)s photos; it has %(count)s.")
            % {"limit": MAX_PHOTOS_PER_ROUND, "count": existing},
            field="photos",
        )


async def attach_photos(
    session: AsyncSession,
    *,
    actor: User,
    round_id: int,
    uploads: Sequence[PhotoUpload],
    storage: Storage | None = None,
) -> list[SamplePhoto]:
    """Verify each uploaded photo, make its thumbnail and add it to the round, in the caller's transaction."""
    storage = storage or get_storage()
    sample = await _load_round(session, actor, round_id)
    try:
        await _check_round(session, sample)
        await _check_uploads(session, sample, uploads)
    except DomainError:
        # refused before anything was read: the fresh uploads of our own organization are not kept either
        in_use = await keys_in_use(session, [u.key for u in uploads])
        await _delete_uploads(storage, sample.org_id, [u for u in uploads if u.key not in in_use])
        raise
    position = await session.scalar(
        select(func.max(SamplePhoto.position)).where(SamplePhoto.round_id == sample.id)
    )
    position = -1 if position is None else position
    written: list[str] = []
    photos: list[SamplePhoto] = []
    try:
        for index, upload in enumerate(uploads):
            attachment = await files.complete_upload(
                session,
                actor=actor,
                project_id=sample.project_id,
                key=upload.key,
                original_name=upload.original_name,
                storage=storage,
            )
            written.append(attachment.object_key)
            data = await storage.read(attachment.object_key, max_bytes=KIND_RULES[PHOTO_KIND].max_size)
            thumbnail = await anyio.to_thread.run_sync(make_thumbnail, data)
            thumbnail_key = make_key(sample.org_id, PHOTO_KIND, thumbnail_name(attachment.original_name))
            await storage.put(thumbnail_key, thumbnail, content_type=THUMBNAIL_TYPE)
            written.append(thumbnail_key)
            photo = SamplePhoto(
                org_id=sample.org_id,
                round_id=sample.id,
                attachment_id=attachment.id,
                thumbnail_key=thumbnail_key,
                caption=upload.caption.strip(),
                position=position + 1 + index,
            )
            session.add(photo)
            photos.append(photo)
        await session.flush()
        await audit.record(
            session,
            actor_id=actor.id,
            action="sample_round.photos_added",
            subject_type="sample_round",
            subject_id=sample.id,
            org_id=sample.org_id,
            project_id=sample.project_id,
            after={
                "number": sample.number,
                "photos": [
                    {"id": p.id, "attachment_id": p.attachment_id, "caption": p.caption} for p in photos
                ],
            },
        )
    except BaseException:
        for key in written:
            await storage.delete(key)
        await _delete_uploads(storage, sample.org_id, uploads)
        raise
    return photos


async def _delete_uploads(storage: Storage, org_id: int, uploads: Iterable[PhotoUpload]) -> None:
    """Remove raw uploads of this organization (completed ones are already gone; absent objects are fine)."""
    for upload in uploads:
        parsed = parse_key(upload.key)
        if parsed is not None and parsed.org_id == org_id and parsed.kind == PHOTO_KIND:
            await storage.delete(upload.key)


async def photos_of_rounds(session: AsyncSession, round_ids: Iterable[int]) -> dict[int, list[SamplePhoto]]:
    """Each round's photos in order, with their attachments, in one query (rounds without photos are absent)."""
    ids = sorted(set(round_ids))
    if not ids:
        return {}
    rows = await session.scalars(
        select(SamplePhoto)
        .where(SamplePhoto.round_id.in_(ids))
        .options(joinedload(SamplePhoto.attachment))
        .order_by(SamplePhoto.round_id, SamplePhoto.position, SamplePhoto.id)
    )
    out: dict[int, list[SamplePhoto]] = {}
    for photo in rows.all():
        out.setdefault(photo.round_id, []).append(photo)
    return out


def thumbnail_url(photo: SamplePhoto, *, storage: Storage | None = None) -> str:
    """A short-lived URL showing the photo's thumbnail in the page."""
    return (storage or get_storage()).download_url(
        photo.thumbnail_key,
        filename=thumbnail_name(photo.attachment.original_name),
        content_type=THUMBNAIL_TYPE,
        inline=True,
    )


def photo_url(photo: SamplePhoto, *, storage: Storage | None = None) -> str:
    """A short-lived URL showing the whole (verified, re-encoded) photo."""
    attachment = photo.attachment
    return (storage or get_storage()).download_url(
        attachment.object_key,
        filename=attachment.original_name,
        content_type=attachment.content_type,
        inline=True,
    )
