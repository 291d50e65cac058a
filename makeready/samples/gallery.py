"""What a brand sees of sample rounds: each round with its photos, the round before it, and thumbnails.

Reads go through the session's tenancy scope, so another organization's round or photo is NotFound like a missing
one. Thumbnails are made lazily with Pillow from the photo's verified image and kept in storage under the same
organization's prefix, so each is generated once and every later request reads the small copy. A photo whose
`thumbnail_key` was set by whoever added it uses that key; otherwise the key is derived from the image's key, so no
database write is needed to cache one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from makeready.errors import NotFound
from makeready.i18n import N_, _
from makeready.projects.models import Attachment, Project
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.storage import Storage, get_storage
from makeready.storage.base import check_key
from makeready.storage.verify import KIND_RULES, PIXEL_CAP

THUMBNAIL_BOX = (480, 480)
"""The largest a thumbnail gets, aspect ratio kept (as makeready.samples.photos makes them)."""
THUMBNAIL_TYPE = "image/jpeg"
THUMBNAIL_QUALITY = 82
MAX_THUMBNAIL_BYTES = 2 << 20
MAX_SOURCE_BYTES = KIND_RULES["image"].max_size

ROUND_NOT_FOUND = N_("This sample round does not exist or you do not have access to it.")
PHOTO_NOT_FOUND = N_("This photo does not exist or you do not have access to it.")
NO_PREVIEW = N_("This photo cannot be shown: its image file is missing or is not a picture.")


def _with_details() -> tuple[object, ...]:
    return (
        selectinload(SampleRound.photos).selectinload(SamplePhoto.attachment),
        selectinload(SampleRound.decided_by),
        selectinload(SampleRound.supplier),
    )


async def _project_exists(session: AsyncSession, project_id: int) -> None:
    if await session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        raise NotFound(_("This project does not exist or you do not have access to it."))


async def list_rounds(
    session: AsyncSession, project_id: int, *, offset: int = 0, limit: int = 50
) -> tuple[list[SampleRound], int]:
    """The project's sample rounds, newest first, with photos, supplier and decider, and how many there are."""
    await _project_exists(session, project_id)
    query = select(SampleRound).where(SampleRound.project_id == project_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.options(*_with_details()).order_by(SampleRound.number.desc()).offset(offset).limit(limit)  # type: ignore[arg-type]
    )
    return list(rows.all()), total


async def get_round(session: AsyncSession, round_id: int, *, project_id: int | None = None) -> SampleRound:
    """One round with its photos; NotFound when absent, another organization's, or not of `project_id`."""
    query = select(SampleRound).where(SampleRound.id == round_id).options(*_with_details())  # type: ignore[arg-type]
    if project_id is not None:
        query = query.where(SampleRound.project_id == project_id)
    sample = await session.scalar(query)
    if sample is None:
        raise NotFound(_(ROUND_NOT_FOUND))
    return sample


async def previous_round(session: AsyncSession, sample: SampleRound) -> SampleRound | None:
    """The round made just before `sample` (the highest lower number), with its photos, if any."""
    return await session.scalar(
        select(SampleRound)
        .where(SampleRound.project_id == sample.project_id, SampleRound.number < sample.number)
        .options(*_with_details())  # type: ignore[arg-type]
        .order_by(SampleRound.number.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Comparison:
    """A round and the one before it, for the side-by-side view."""

    current: SampleRound
    previous: SampleRound | None


def latest_comparison(rounds: list[SampleRound]) -> Comparison | None:
    """From rounds newest first: the newest and the one before it (no extra query)."""
    if not rounds:
        return None
    return Comparison(rounds[0], rounds[1] if len(rounds) > 1 else None)


def awaiting_decision(sample: SampleRound) -> bool:
    return sample.status == SampleStatus.received


# --------------------------------------------------------------------------------------------------------------
# Photos and thumbnails


async def get_photo(session: AsyncSession, photo_id: int) -> SamplePhoto:
    photo = await session.scalar(
        select(SamplePhoto).where(SamplePhoto.id == photo_id).options(selectinload(SamplePhoto.attachment))
    )
    if photo is None:
        raise NotFound(_(PHOTO_NOT_FOUND))
    return photo


def thumbnail_key(photo: SamplePhoto) -> str:
    """Where the photo's thumbnail is kept: its own key if one was set, else one derived from the image's key,
    under the same organization (so tenant prefixes and bucket policies cover it too)."""
    if photo.thumbnail_key:
        return check_key(photo.thumbnail_key)
    attachment: Attachment = photo.attachment
    digest = hashlib.sha256(attachment.object_key.encode()).hexdigest()[:32]
    width, height = THUMBNAIL_BOX
    return check_key(f"org/{int(attachment.org_id)}/thumbs/{digest}/w{width}h{height}.jpg")


class PreviewUnavailable(NotFound):
    """The photo's image is missing from storage or cannot be decoded."""


def make_thumbnail(data: bytes, box: tuple[int, int] = THUMBNAIL_BOX) -> bytes:
    """A JPEG no larger than `box`, upright (EXIF orientation applied), transparency on white."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            if source.width * source.height > PIXEL_CAP:
                raise PreviewUnavailable(_(NO_PREVIEW))
            source.draft("RGB", (box[0] * 2, box[1] * 2))  # JPEG decodes at a reduced scale: much faster
            image = ImageOps.exif_transpose(source)
            image.thumbnail(box, Image.Resampling.LANCZOS)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, (255, 255, 255))
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True, progressive=True)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise PreviewUnavailable(_(NO_PREVIEW)) from exc


async def thumbnail(photo: SamplePhoto, *, storage: Storage | None = None) -> bytes:
    """The photo's thumbnail bytes (JPEG), made and stored on first use."""
    storage = storage or get_storage()
    key = thumbnail_key(photo)
    with contextlib.suppress(FileNotFoundError):  # not made yet: make it below
        return await storage.read(key, max_bytes=MAX_THUMBNAIL_BYTES)
    try:
        source = await storage.read(photo.attachment.object_key, max_bytes=MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise PreviewUnavailable(_(NO_PREVIEW)) from None
    data = await anyio.to_thread.run_sync(make_thumbnail, source)
    # two first requests at once both write the same bytes: harmless
    await storage.put(key, data, content_type=THUMBNAIL_TYPE)
    return data


def image_url(photo: SamplePhoto, *, storage: Storage | None = None) -> str:
    """A short-lived link to the full image, shown in the browser rather than downloaded."""
    attachment: Attachment = photo.attachment
    return (storage or get_storage()).download_url(
        attachment.object_key,
        filename=attachment.original_name,
        content_type=attachment.content_type,
        inline=True,
    )
