"""The S3 backend and upload verification, against moto's standalone server over real HTTP.

moto accepts presigned POSTs that break every policy condition, which makes it the right adversary: whatever
it lets through, completion must verify, and a refused object must be gone afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import unquote

import httpx
import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.errors import NotFound
from makeready.projects import files
from makeready.projects import service as projects
from makeready.projects.models import Attachment
from makeready.storage import StorageUnavailable, UploadRejected, UploadTicket
from makeready.storage.base import content_disposition
from makeready.storage.s3 import S3Storage
from makeready.storage.verify import PIXEL_CAP
from tests.conftest import World
from tests.s3server import (
    EXE,
    HTML,
    SECRET_COMMENT,
    SVG,
    bomb_png,
    closed_port,
    jpeg_with_comment_and_xmp,
    jpeg_with_gps,
    pdf_bytes,
    png_bytes,
    png_with_text_and_xmp,
    s3_settings,
    webp_with_exif_and_xmp,
)

pytest_plugins = ["tests.s3server"]  # the moto server and bucket fixtures

MB = 1 << 20


# --- helpers --------------------------------------------------------------------------------------------------


@asynccontextmanager
async def acting(engine: AsyncEngine, user: User, *org_ids: int) -> AsyncIterator[AsyncSession]:
    """One transaction as `user` sees the data: scoped to their organizations, as in a request."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.member(user.id, set(org_ids)))
        async with session.begin():
            yield session


async def new_project(engine: AsyncEngine, user: User, org_id: int, name: str = "Desk lamp") -> int:
    async with acting(engine, user, org_id) as session:
        project = await projects.create_project(session, actor=user, org_id=org_id, data={"name": name})
        return project.id


async def post_to_s3(ticket: UploadTicket, name: str, content: bytes) -> httpx.Response:
    """What a browser does with the ticket: a multipart POST, straight to the S3 endpoint."""
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(ticket.url, data=ticket.fields, files={"file": (name, content, "image/png")})


async def upload(
    engine: AsyncEngine,
    storage: S3Storage,
    user: User,
    org_id: int,
    project_id: int,
    name: str,
    content: bytes,
    kind: str,
) -> UploadTicket:
    async with acting(engine, user, org_id) as session:
        ticket = await files.start_upload(
            session, actor=user, project_id=project_id, filename=name, kind=kind, storage=storage
        )
    response = await post_to_s3(ticket, name, content)
    assert response.status_code == 204, response.text
    assert await storage.size(ticket.key) == len(content)
    return ticket


async def complete(
    engine: AsyncEngine, storage: S3Storage, user: User, org_id: int, project_id: int, key: str, name: str
) -> Attachment:
    async with acting(engine, user, org_id) as session:
        return await files.complete_upload(
            session, actor=user, project_id=project_id, key=key, original_name=name, storage=storage
        )


async def counts(db: AsyncSession) -> tuple[int, int]:
    attachments = await db.scalar(select(func.count()).select_from(Attachment))
    events = await db.scalar(select(func.count()).where(AuditEvent.action == "attachment.added"))
    return attachments or 0, events or 0


def keys_in_bucket(storage: S3Storage) -> list[str]:
    listing = storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


# --- accepted files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "make", "content_type"),
    [
        ("Lamp shade.png", "image", png_bytes, "image/png"),
        ("IMG_0001.JPG", "image", jpeg_with_gps, "image/jpeg"),
        ("Spec \u2013 设计.pdf", "document", pdf_bytes, "application/pdf"),
        ("Spec.pdf", "design", pdf_bytes, "application/pdf"),
    ],
)
async def test_presigned_post_then_completion_creates_the_row(
    engine: AsyncEngine,
    db: AsyncSession,
    world: World,
    s3_storage: S3Storage,
    name: str,
    kind: str,
    make: object,
    content_type: str,
) -> None:
    content = make()  # type: ignore[operator]
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(engine, s3_storage, world.owner_a, world.org_a.id, project_id, name, content, kind)

    attachment = await complete(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, name
    )

    stored = await s3_storage.read(attachment.object_key)
    assert attachment.content_type == content_type
    assert attachment.checksum == hashlib.sha256(stored).hexdigest()
    assert attachment.size == len(stored)
    assert attachment.original_name == name
    assert attachment.kind == kind
    # the verified copy lives under a fresh key of the same tenant; the upload key (still postable) is gone
    assert attachment.object_key.startswith(f"org/{world.org_a.id}/{kind}/")
    assert attachment.object_key != ticket.key
    assert keys_in_bucket(s3_storage) == [attachment.object_key]
    if content_type == "application/pdf":
        assert stored == content  # non-images are stored byte for byte
    row = await db.scalar(select(Attachment).where(Attachment.id == attachment.id))
    assert row is not None
    assert (row.project_id, row.uploaded_by_id) == (project_id, world.owner_a.id)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.added"))
    assert event is not None
    assert (event.subject_id, event.org_id, event.project_id) == (attachment.id, world.org_a.id, project_id)
    assert event.after is not None
    assert event.after["checksum"] == attachment.checksum


async def test_presigned_post_policy_names_key_and_size(s3_storage: S3Storage) -> None:
    ticket = await s3_storage.presign_upload("org/1/image/" + "a" * 32 + "/x.png", max_size=25 * MB)
    policy = json.loads(base64.b64decode(ticket.fields["policy"]))

    assert ["content-length-range", 1, 25 * MB] in policy["conditions"]
    assert {"key": ticket.key} in policy["conditions"]
    assert {"bucket": s3_storage.bucket} in policy["conditions"]
    assert ticket.fields["key"] == ticket.key
    assert ticket.url.startswith(s3_storage.endpoint_url or "")


async def test_exif_gps_is_stripped_from_photos(
    engine: AsyncEngine, world: World, s3_storage: S3Storage
) -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the sample really carries a location
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "site.jpg", original, "image"
    )

    attachment = await complete(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "site.jpg"
    )

    stored = await s3_storage.read(attachment.object_key)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (80, 60)
        exif = image.getexif()
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert ExifTags.Base.Make not in exif
        assert ExifTags.Base.Model not in exif
        assert "exif" not in image.info
    assert b"SpyCam" not in stored
    assert b"Serial 123456" not in stored


@pytest.mark.parametrize(
    ("name", "make", "fmt"),
    [
        ("note.jpg", jpeg_with_comment_and_xmp, "JPEG"),
        ("note.png", png_with_text_and_xmp, "PNG"),
        ("note.webp", webp_with_exif_and_xmp, "WEBP"),
    ],
)
async def test_every_kind_of_metadata_is_stripped_from_images(
    engine: AsyncEngine, world: World, s3_storage: S3Storage, name: str, make: Callable[[], bytes], fmt: str
) -> None:
    """Comments, XMP, text chunks and EXIF all go, not only the location: only pixels (and colour) are kept."""
    original = make()
    assert b"Li Wei" in original  # the sample really carries XMP
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, name, original, "image"
    )

    attachment = await complete(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, name
    )

    stored = await s3_storage.read(attachment.object_key)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert image.size == (80, 60)
        # what remains is how to show the pixels: JFIF density, colour profile, WebP's animation defaults
        shown = {
            "jfif",
            "jfif_version",
            "jfif_unit",
            "jfif_density",
            "dpi",
            "icc_profile",
            "loop",
            "background",
        }
        assert set(image.info) <= shown
        assert not image.getexif()
    assert b"Li Wei" not in stored
    assert b"xpacket" not in stored
    assert SECRET_COMMENT not in stored
    assert b"Zipped Author" not in stored
    assert b"SpyCam" not in stored
    if fmt == "JPEG":
        assert b"\xff\xfe" not in stored.split(b"\xff\xda", 1)[0]  # no COM segment before the scan


# --- refused files: deleted, nothing written ------------------------------------------------------------------


async def test_oversized_object_that_moto_accepted_is_deleted_and_named(
    engine: AsyncEngine, db: AsyncSession, world: World, s3_storage: S3Storage
) -> None:
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    content = png_bytes() + b"\x00" * (25 * MB)  # the policy says 25 MB; moto stores it anyway
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "huge.png", content, "image"
    )

    with pytest.raises(UploadRejected) as caught:
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "huge.png")

    assert caught.value.status_code == 422
    assert caught.value.message == "huge.png is larger than 25 MB, the limit for image files."
    assert keys_in_bucket(s3_storage) == []
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (HTML, "it is a web page (HTML)"),
        (SVG, "it is an SVG image, which can carry scripts"),
        (EXE, "it is an executable program"),
        (
            b"\xef\xbb\xbf  \n<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "it is an SVG image",
        ),
        ("<html><script>x</script></html>".encode("utf-16"), "it is a web page (HTML)"),
        (b"#!/bin/sh\nrm -rf /\n", "it is a script"),
        (b"just some text pretending", "its type could not be recognised from its content"),
    ],
)
async def test_a_png_name_does_not_make_a_png(
    engine: AsyncEngine, db: AsyncSession, world: World, s3_storage: S3Storage, content: bytes, reason: str
) -> None:
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "photo.png", content, "image"
    )

    with pytest.raises(UploadRejected) as caught:
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "photo.png")

    assert caught.value.message.startswith("photo.png was refused: ")
    assert reason in caught.value.message
    assert await s3_storage.size(ticket.key) is None
    assert keys_in_bucket(s3_storage) == []
    assert await counts(db) == (0, 0)


async def test_a_pdf_is_not_an_image(
    engine: AsyncEngine, db: AsyncSession, world: World, s3_storage: S3Storage
) -> None:
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "sample.jpg", pdf_bytes(), "image"
    )

    with pytest.raises(UploadRejected) as caught:
        await complete(
            engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "sample.jpg"
        )

    assert caught.value.message == ("sample.jpg is a PDF file; image files must be one of: PNG, JPEG, WebP.")
    assert keys_in_bucket(s3_storage) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [(20_000, 20_000), (8_000, 5_001)],  # far past the cap (Pillow's own bomb error), and just past it
)
async def test_decompression_bombs_are_refused(
    engine: AsyncEngine, db: AsyncSession, world: World, s3_storage: S3Storage, width: int, height: int
) -> None:
    bomb = bomb_png(width, height)
    assert len(bomb) < 100_000
    assert width * height > PIXEL_CAP
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "bomb.png", bomb, "image"
    )

    with pytest.raises(UploadRejected) as caught:
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "bomb.png")

    assert caught.value.message == "bomb.png was refused: the image has more than 40 million pixels."
    assert keys_in_bucket(s3_storage) == []
    assert await counts(db) == (0, 0)


async def test_a_truncated_image_is_refused(engine: AsyncEngine, world: World, s3_storage: S3Storage) -> None:
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    whole = png_bytes()
    broken = whole[: len(whole) // 2]
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "cut.png", broken, "image"
    )

    with pytest.raises(UploadRejected) as caught:
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "cut.png")

    assert caught.value.message == "cut.png was refused: it could not be read as an image."
    assert keys_in_bucket(s3_storage) == []


async def test_completing_twice_or_without_an_upload(
    engine: AsyncEngine, world: World, s3_storage: S3Storage
) -> None:
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, "a.pdf", pdf_bytes(), "document"
    )
    await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "a.pdf")

    with pytest.raises(UploadRejected) as caught:
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, "a.pdf")
    assert caught.value.message == "a.pdf was not received. Upload it again."


# --- tenancy --------------------------------------------------------------------------------------------------


async def test_a_key_outside_the_callers_org_is_404_and_left_alone(
    engine: AsyncEngine, db: AsyncSession, world: World, s3_storage: S3Storage
) -> None:
    project_a = await new_project(engine, world.owner_a, world.org_a.id)
    project_b = await new_project(engine, world.owner_b, world.org_b.id, "Tote bag")
    theirs = await upload(
        engine, s3_storage, world.owner_b, world.org_b.id, project_b, "b.pdf", pdf_bytes(), "document"
    )

    for key in [theirs.key, "../" + theirs.key, theirs.key.replace(f"org/{world.org_b.id}/", "org/0/"), "x"]:
        with pytest.raises(NotFound):
            await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_a, key, "b.pdf")

    # and org B's project itself is invisible to org A
    with pytest.raises(NotFound):
        await complete(engine, s3_storage, world.owner_a, world.org_a.id, project_b, theirs.key, "b.pdf")
    assert await s3_storage.size(theirs.key) == len(pdf_bytes())  # a foreign request deletes nothing
    assert await counts(db) == (0, 0)


# --- downloads ------------------------------------------------------------------------------------------------


async def test_download_url_serves_our_disposition_and_type(
    engine: AsyncEngine, world: World, s3_storage: S3Storage
) -> None:
    name = "Lampenschirm \u2013 Entwurf 设计.pdf"
    project_id = await new_project(engine, world.owner_a, world.org_a.id)
    ticket = await upload(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, name, pdf_bytes(), "document"
    )
    attachment = await complete(
        engine, s3_storage, world.owner_a, world.org_a.id, project_id, ticket.key, name
    )

    async with acting(engine, world.viewer_a, world.org_a.id) as session:
        url = await files.download_url_for(session, attachment.id, storage=s3_storage)
    async with acting(engine, world.owner_b, world.org_b.id) as session:
        with pytest.raises(NotFound):
            await files.download_url_for(session, attachment.id, storage=s3_storage)

    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == pdf_bytes()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == content_disposition(name)
    assert unquote(response.headers["content-disposition"].split("filename*=UTF-8''")[1]) == name


# --- reachability ---------------------------------------------------------------------------------------------


async def test_check_passes_on_a_reachable_bucket(s3_storage: S3Storage) -> None:
    await s3_storage.check()


async def test_check_names_an_unreachable_endpoint(s3_endpoint: str) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    storage = S3Storage(s3_settings(endpoint, "media"))

    with pytest.raises(StorageUnavailable) as caught:
        await storage.check()

    assert str(caught.value).startswith(f"S3 bucket 'media' at {endpoint} is unreachable")
    assert caught.value.status_code == 503
    assert (
        caught.value.message == "File storage is not reachable right now. Please try again in a few minutes."
    )
    with pytest.raises(StorageUnavailable):
        await storage.size("org/1/image/" + "a" * 32 + "/x.png")


async def test_check_names_a_missing_bucket(s3_endpoint: str) -> None:
    storage = S3Storage(s3_settings(s3_endpoint, "no-such-bucket"))

    with pytest.raises(StorageUnavailable) as caught:
        await storage.check()

    assert str(caught.value) == f"S3 bucket 'no-such-bucket' at {s3_endpoint}: the bucket does not exist"
