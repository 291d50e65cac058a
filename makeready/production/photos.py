"""Production photos: the factory's pictures of a progress report or a tooling trial, verified like every upload.

The factory posts its photos with the form (its link page runs no script, so there is no direct-to-storage upload):
`check_photos` refuses what can be refused before anything is written (how many, empty, too large, a refused name),
then `add_photos` runs each file through the one verified image pipeline: the bytes are put under a fresh upload key
of the order's organization, `storage.verify.verify_upload` sniffs them by magic bytes, re-encodes them under the
pixel cap with no metadata (EXIF and GPS gone) and moves them to a key no upload form can reach; the thumbnail is
made like a sample photo's (`samples.photos.make_thumbnail`); an Attachment and a ProductionPhoto row point at them.

All or nothing, like the sample photos: when any photo is refused, every object this call wrote is deleted and the
error rolls the caller's transaction back, so no row and no object is left behind. (Objects of a transaction that
fails only at commit are swept as abandoned uploads after a day: `projects.sweep`.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.audit import service as audit
from makeready.errors import NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.production.models import ProductionOrder, ProductionPhoto
from makeready.projects.files import clean_filename
from makeready.projects.models import Attachment
from makeready.samples.photos import THUMBNAIL_TYPE, make_thumbnail, thumbnail_name
from makeready.storage import Storage, get_storage
from makeready.storage.keys import make_key
from makeready.storage.verify import KIND_RULES, check_name, too_large, verify_upload

PHOTO_KIND = "image"
MAX_PHOTOS_PER_CALL = 6
"""A report or a trial carries at most this many photos (the form posts them in one request)."""
MAX_CAPTION = 500
SUBJECT_TYPES = ("progress_report", "tooling_trial")
PHOTO_NOT_FOUND = N_("This photo does not exist or you do not have access to it.")


@dataclass(frozen=True)
class PhotoFile:
    """One photo as the form sent it: the file's own name and its bytes."""

    name: str
    data: bytes
    caption: str = ""


def check_photos(files: Sequence[PhotoFile]) -> list[PhotoFile]:
    """What can be refused before anything is stored: the count, empty or oversized files, refused names.

    Returns the files with their names cleaned. The bytes are judged by `add_photos` (magic bytes, decoding)."""
    rule = KIND_RULES[PHOTO_KIND]
    if len(files) > MAX_PHOTOS_PER_CALL:
        raise ValidationFailed(
            _("Send at most %(limit)s photos at a time.") % {"limit": MAX_PHOTOS_PER_CALL}, field="photos"
        )
    clean: list[PhotoFile] = []
    for item in files:
        name = clean_filename(item.name or "photo.jpg")
        check_name(name, rule)
        if not item.data:
            raise ValidationFailed(_("%(name)s is empty.") % {"name": name}, field="photos")
        if len(item.data) > rule.max_size:
            raise too_large(name, rule)
        caption = item.caption.strip()
        if len(caption) > MAX_CAPTION:
            raise ValidationFailed(
                _("A caption has at most %(limit)s characters.") % {"limit": MAX_CAPTION}, field="caption"
            )
        clean.append(PhotoFile(name=name, data=item.data, caption=caption))
    return clean


async def add_photos(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    subject_type: str,
    subject_id: int,
    files: Sequence[PhotoFile],
    storage: Storage | None = None,
) -> list[ProductionPhoto]:
    """Verify each photo, make its thumbnail and attach it to the subject, in the caller's transaction.

    The factory has no account: the rows carry no uploader (the audit event says it came through the link)."""
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"unknown subject type {subject_type!r}")
    clean = check_photos(files)
    if not clean:
        return []
    storage = storage or get_storage()
    position = await session.scalar(
        select(ProductionPhoto.position)
        .where(ProductionPhoto.subject_type == subject_type, ProductionPhoto.subject_id == subject_id)
        .order_by(ProductionPhoto.position.desc())
        .limit(1)
    )
    start = 0 if position is None else position + 1
    written: list[str] = []
    photos: list[ProductionPhoto] = []
    try:
        for index, item in enumerate(clean):
            upload_key = make_key(order.org_id, PHOTO_KIND, item.name)
            written.append(upload_key)  # verify_upload deletes it either way; absent objects are fine
            await storage.put(upload_key, item.data, content_type="application/octet-stream")
            verified = await verify_upload(storage, upload_key, kind=PHOTO_KIND, name=item.name)
            written.append(verified.key)
            clean_bytes = await storage.read(verified.key, max_bytes=KIND_RULES[PHOTO_KIND].max_size)
            thumbnail = await anyio.to_thread.run_sync(make_thumbnail, clean_bytes)
            thumbnail_key = make_key(order.org_id, PHOTO_KIND, thumbnail_name(item.name))
            await storage.put(thumbnail_key, thumbnail, content_type=THUMBNAIL_TYPE)
            written.append(thumbnail_key)
            attachment = Attachment(
                org_id=order.org_id,
                project_id=order.project_id,
                kind=PHOTO_KIND,
                object_key=verified.key,
                original_name=item.name,
                size=verified.size,
                content_type=verified.content_type,
                checksum=verified.checksum,
                uploaded_by_id=None,
            )
            session.add(attachment)
            await session.flush()
            photo = ProductionPhoto(
                org_id=order.org_id,
                order_id=order.id,
                subject_type=subject_type,
                subject_id=subject_id,
                attachment_id=attachment.id,
                thumbnail_key=thumbnail_key,
                caption=item.caption,
                position=start + index,
            )
            session.add(photo)
            photos.append(photo)
        await session.flush()
        await audit.record(
            session,
            actor_id=None,
            action="production.photos_added",
            subject_type=subject_type,
            subject_id=subject_id,
            org_id=order.org_id,
            project_id=order.project_id,
            after={
                "order_id": order.id,
                "photos": [
                    {"id": p.id, "attachment_id": p.attachment_id, "caption": p.caption} for p in photos
                ],
            },
        )
    except BaseException:
        for key in written:
            await storage.delete(key)
        raise
    return photos


async def photos_of(
    session: AsyncSession, subject_type: str, subject_ids: Iterable[int]
) -> dict[int, list[ProductionPhoto]]:
    """Each subject's photos in order, with their attachments, in one query (subjects without photos are absent)."""
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


async def get_photo(session: AsyncSession, photo_id: int, *, order_id: int | None = None) -> ProductionPhoto:
    """One photo through the caller's scope (another organization's is NotFound); with `order_id`, only that
    order's (a production link reaches its own order's photos only)."""
    query = (
        select(ProductionPhoto)
        .where(ProductionPhoto.id == photo_id)
        .options(joinedload(ProductionPhoto.attachment))
    )
    if order_id is not None:
        query = query.where(ProductionPhoto.order_id == order_id)
    photo = await session.scalar(query)
    if photo is None:
        raise NotFound(_(PHOTO_NOT_FOUND))
    return photo


async def thumbnail_keys_in(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of the keys that are production photos' thumbnails (registered with projects.files by the composition,
    so the sweep of abandoned uploads keeps them)."""
    rows = await session.scalars(
        select(ProductionPhoto.thumbnail_key).where(ProductionPhoto.thumbnail_key.in_(keys))
    )
    return {key for key in rows.all() if key}
