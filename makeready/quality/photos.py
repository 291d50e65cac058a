"""Photos of quality records (a defect, a corrective action's evidence) as ProductionPhoto rows.

The bytes arrive in a form post (a phone in a factory, or the factory's link page), so the server stores them as a
raw upload under the organization's prefix and runs the same verification as every upload
(`makeready.storage.verify.verify_upload`: size, type by magic bytes, re-encoded, EXIF and GPS gone), then records
the Attachment, makes the thumbnail the sample photos use, and adds the ProductionPhoto. All or nothing: a refused
photo deletes every object this call wrote, and the error rolls the caller's transaction back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.audit import service as audit
from makeready.errors import ValidationFailed
from makeready.i18n import _
from makeready.production.models import ProductionOrder, ProductionPhoto
from makeready.projects.files import clean_filename
from makeready.projects.models import Attachment
from makeready.samples.photos import THUMBNAIL_TYPE, make_thumbnail, thumbnail_name
from makeready.storage import Storage, get_storage
from makeready.storage.keys import make_key
from makeready.storage.verify import KIND_RULES, check_name, too_large, verify_upload

PHOTO_KIND = "image"
MAX_PHOTOS_PER_SUBJECT = 12
MAX_PHOTOS_PER_CALL = 6


@dataclass(frozen=True)
class PhotoFile:
    """One photo as posted: its bytes and the name it had on the phone."""

    data: bytes
    filename: str


async def attach(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    subject_type: str,
    subject_id: int,
    files: Sequence[PhotoFile],
    actor_id: int | None,
    caption: str = "",
    storage: Storage | None = None,
) -> list[ProductionPhoto]:
    """Verify and attach each photo to the subject; nothing is kept when one is refused."""
    if not files:
        return []
    if len(files) > MAX_PHOTOS_PER_CALL:
        raise ValidationFailed(
            _("Upload at most %(limit)s photos at a time.") % {"limit": MAX_PHOTOS_PER_CALL}, field="photos"
        )
    existing = (
        await session.scalar(
            select(func.count())
            .select_from(ProductionPhoto)
            .where(ProductionPhoto.subject_type == subject_type, ProductionPhoto.subject_id == subject_id)
        )
        or 0
    )
    if existing + len(files) > MAX_PHOTOS_PER_SUBJECT:
        raise ValidationFailed(
            _("Keep at most %(limit)s photos here.") % {"limit": MAX_PHOTOS_PER_SUBJECT}, field="photos"
        )
    rule = KIND_RULES[PHOTO_KIND]
    storage = storage or get_storage()
    written: list[str] = []
    photos: list[ProductionPhoto] = []
    try:
        for index, file in enumerate(files):
            name = clean_filename(file.filename or "photo.jpg")
            check_name(name, rule)
            if len(file.data) > rule.max_size:
                raise too_large(name, rule)
            if not file.data:
                raise ValidationFailed(_("%(name)s is empty.") % {"name": name}, field="photos")
            raw_key = make_key(order.org_id, PHOTO_KIND, name)
            await storage.put(raw_key, file.data, content_type="application/octet-stream")
            written.append(raw_key)
            verified = await verify_upload(storage, raw_key, kind=PHOTO_KIND, name=name)
            written.append(verified.key)
            attachment = Attachment(
                org_id=order.org_id,
                project_id=order.project_id,
                kind=PHOTO_KIND,
                object_key=verified.key,
                original_name=name,
                size=verified.size,
                content_type=verified.content_type,
                checksum=verified.checksum,
                uploaded_by_id=actor_id,
            )
            session.add(attachment)
            await session.flush()
            data = await storage.read(verified.key, max_bytes=rule.max_size)
            thumbnail = await anyio.to_thread.run_sync(make_thumbnail, data)
            thumbnail_key = make_key(order.org_id, PHOTO_KIND, thumbnail_name(name))
            await storage.put(thumbnail_key, thumbnail, content_type=THUMBNAIL_TYPE)
            written.append(thumbnail_key)
            photo = ProductionPhoto(
                org_id=order.org_id,
                order_id=order.id,
                subject_type=subject_type,
                subject_id=subject_id,
                attachment_id=attachment.id,
                thumbnail_key=thumbnail_key,
                caption=caption.strip()[:500],
                position=existing + index,
            )
            session.add(photo)
            photos.append(photo)
        await session.flush()
        await audit.record(
            session,
            actor_id=actor_id,
            action="production_photo.added",
            subject_type=subject_type,
            subject_id=subject_id,
            org_id=order.org_id,
            project_id=order.project_id,
            after={"photos": [{"id": p.id, "attachment_id": p.attachment_id} for p in photos]},
        )
    except BaseException:
        for key in written:
            await storage.delete(key)
        raise
    return photos


async def photos_of(
    session: AsyncSession, subject_type: str, subject_ids: Iterable[int]
) -> dict[int, list[ProductionPhoto]]:
    """Each subject's photos in order, with their attachments, in one query."""
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    rows = await session.scalars(
        select(ProductionPhoto)
        .where(ProductionPhoto.subject_type == subject_type, ProductionPhoto.subject_id.in_(ids))
        .options(joinedload(ProductionPhoto.attachment))
        .order_by(ProductionPhoto.subject_id, ProductionPhoto.position, ProductionPhoto.id)
    )
    out: dict[int, list[ProductionPhoto]] = {}
    for photo in rows.all():
        out.setdefault(photo.subject_id, []).append(photo)
    return out


async def thumbnail_keys_in(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of the keys that are production photos' thumbnails (registered with projects.files)."""
    rows = await session.scalars(
        select(ProductionPhoto.thumbnail_key).where(ProductionPhoto.thumbnail_key.in_(keys))
    )
    return {key for key in rows.all() if key}


async def read_photo(
    session: AsyncSession, photo_id: int, *, order_id: int, thumbnail: bool
) -> tuple[str, str, str] | None:
    """(storage key, content type, file name) of one photo of the order, or None."""
    photo = await session.scalar(
        select(ProductionPhoto)
        .where(ProductionPhoto.id == photo_id, ProductionPhoto.order_id == order_id)
        .options(joinedload(ProductionPhoto.attachment))
    )
    if photo is None:
        return None
    if thumbnail and photo.thumbnail_key:
        return photo.thumbnail_key, THUMBNAIL_TYPE, thumbnail_name(photo.attachment.original_name)
    return photo.attachment.object_key, photo.attachment.content_type, photo.attachment.original_name
