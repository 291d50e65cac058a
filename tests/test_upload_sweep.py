"""The sweep of abandoned uploads, on local storage and on S3 (moto's server over HTTP): objects no row points
at, older than a day, are removed a page at a time; stored files, fresh uploads and our caches stay; partial
uploads (local `.incoming` files, S3 multipart uploads) older than a day are discarded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.types import utcnow
from makeready.projects.sweep import ABANDONED_AFTER, CACHE_KEPT, sweep_abandoned_uploads
from makeready.settings import StorageSettings
from makeready.storage import Storage
from makeready.storage.keys import cache_key, is_cache_key, parse_key
from makeready.storage.local import INCOMING, LocalStorage
from makeready.storage.s3 import S3Storage
from tests.conftest import World
from tests.s3server import png_bytes
from tests.test_storage_s3 import acting, complete, new_project

pytest_plugins = ["tests.s3server"]

ABANDONED = 5
PAGE = 2  # several pages, so the batching is exercised


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "s3":
        s3: S3Storage = request.getfixturevalue("s3_storage")
        return s3
    settings = StorageSettings().model_copy(update={"media_root": tmp_path / "media"})
    return LocalStorage(settings, secret_key="sweep-test-secret-0123456789abcdef0123")


async def keys(storage: Storage) -> set[str]:
    found: set[str] = set()
    async for page in storage.list_objects("", page_size=1000):
        assert len(page) <= 1000
        found |= {item.key for item in page}
    return found


async def test_abandoned_uploads_go_and_stored_files_stay(
    engine: AsyncEngine, world: World, storage: Storage
) -> None:
    from makeready.projects import files

    org_id = world.org_a.id
    project_id = await new_project(engine, world.owner_a, org_id)

    async def start(name: str) -> str:
        async with acting(engine, world.owner_a, org_id) as session:
            ticket = await files.start_upload(
                session,
                actor=world.owner_a,
                project_id=project_id,
                filename=name,
                kind="image",
                storage=storage,
            )
        await storage.put(ticket.key, png_bytes(), content_type="image/png")  # the browser's upload
        return ticket.key

    abandoned = {await start(f"left-{n}.png") for n in range(ABANDONED)}
    completed_upload = await start("kept.png")
    attachment = await complete(
        engine,
        storage,
        world.owner_a,
        org_id,
        project_id,
        completed_upload,
        "kept.png",  # type: ignore[arg-type]
    )
    cache = f"org/{org_id}/print/{'a' * 32}/print.jpg"  # a print-size cache entry: not an upload key
    await storage.put(cache, b"jpeg", content_type="image/jpeg")
    assert abandoned | {attachment.object_key, cache} == await keys(storage)

    # a day has not passed: an upload may still be completed, nothing is touched
    report = await sweep_abandoned_uploads(engine, storage, page_size=PAGE)
    assert report.deleted == []
    assert await keys(storage) == abandoned | {attachment.object_key, cache}

    later = utcnow() + ABANDONED_AFTER + timedelta(hours=1)
    report = await sweep_abandoned_uploads(engine, storage, now=later, page_size=PAGE)
    assert sorted(report.deleted or []) == sorted(abandoned)
    assert report.listed == ABANDONED + 2
    assert await keys(storage) == {attachment.object_key, cache}
    assert await storage.read(attachment.object_key)  # the stored file is intact

    # a second pass finds nothing more to do
    again = await sweep_abandoned_uploads(engine, storage, now=later, page_size=PAGE)
    assert again.deleted == []


async def test_partial_local_uploads_older_than_a_day_are_discarded(tmp_path: Path) -> None:
    settings = StorageSettings().model_copy(update={"media_root": tmp_path / "media"})
    local = LocalStorage(settings, secret_key="sweep-test-secret-0123456789abcdef0123")
    incoming = await local.open_incoming("org/1/image/" + "b" * 32 + "/big.png", max_size=1 << 20)
    await incoming.write(b"half of a file")  # the upload's connection dies here: never committed nor aborted
    partial = next((tmp_path / "media" / INCOMING).iterdir())
    assert await local.remove_partial_uploads(utcnow() - timedelta(hours=1)) == 0
    assert partial.exists()
    assert await local.remove_partial_uploads(utcnow() + ABANDONED_AFTER) == 1
    assert not partial.exists()


async def test_s3_multipart_uploads_older_than_a_day_are_aborted(
    s3_storage: S3Storage, s3_endpoint: str
) -> None:
    admin = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    key = "org/1/design/" + "c" * 32 + "/model.step"
    upload_id = admin.create_multipart_upload(Bucket=s3_storage.bucket, Key=key)["UploadId"]
    admin.upload_part(Bucket=s3_storage.bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    # moto reports every multipart upload as initiated on 2010-11-10, so only an older cutoff leaves it alone
    assert await s3_storage.remove_partial_uploads(datetime(2010, 1, 1, tzinfo=UTC)) == 0
    assert admin.list_multipart_uploads(Bucket=s3_storage.bucket).get("Uploads")
    assert await s3_storage.remove_partial_uploads(utcnow() + ABANDONED_AFTER) == 1
    assert not admin.list_multipart_uploads(Bucket=s3_storage.bucket).get("Uploads")


async def test_cache_objects_not_written_for_30_days_are_evicted_and_nothing_else(
    engine: AsyncEngine, world: World, storage: Storage
) -> None:
    """A rendered document (a cache object) is made again on request: the sweep evicts the old ones, keeps the
    fresh ones, and never counts a cache object as an abandoned upload (no row points at it)."""
    org_id = world.org_a.id
    cached = cache_key(org_id, "shipping-pdf", "c" * 32, "CI-1-1.pdf")
    assert is_cache_key(cached)
    assert parse_key(cached) is None
    assert not is_cache_key(f"org/{org_id}/image/{'d' * 32}/photo.png")  # an upload is not a cache object
    await storage.put(cached, b"%PDF-1.7", content_type="application/pdf")

    # a day on, an abandoned upload would go: the cache object stays
    report = await sweep_abandoned_uploads(
        engine, storage, now=utcnow() + ABANDONED_AFTER + timedelta(hours=1)
    )
    assert (report.deleted, report.evicted) == ([], 0)
    assert cached in await keys(storage)

    report = await sweep_abandoned_uploads(engine, storage, now=utcnow() + CACHE_KEPT + timedelta(hours=1))
    assert report.evicted == 1
    assert cached not in await keys(storage)
