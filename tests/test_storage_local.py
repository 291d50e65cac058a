"""The local storage backend: signed upload forms posted to the app, signed expiring download links, keys that
cannot leave MEDIA_ROOT, and a size cap enforced while the body streams in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from makeready.settings import StorageSettings
from makeready.storage import InvalidKey, StorageUnavailable, UploadTooLarge, reset_storage, set_storage
from makeready.storage.base import content_disposition
from makeready.storage.keys import make_key, parse_key, safe_name
from makeready.storage.local import INCOMING, LocalStorage
from tests.s3server import pdf_bytes, png_bytes

SECRET = "local-storage-test-secret-0123456789abcdef"
EXPIRY = 300


class Clock:
    """Time the storage reads instead of the wall clock, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local(tmp_path: Path, clock: Clock) -> LocalStorage:
    settings = StorageSettings().model_copy(
        update={"media_root": tmp_path / "media", "url_expiry_seconds": EXPIRY}
    )
    return LocalStorage(settings, secret_key=SECRET, clock=clock)


@pytest.fixture
def use_local(local: LocalStorage) -> Iterator[LocalStorage]:
    """The app serves this storage's upload and download routes for the test."""
    set_storage(local)
    yield local
    reset_storage()


def incoming_files(storage: LocalStorage) -> list[Path]:
    folder = storage.root / INCOMING
    return sorted(folder.iterdir()) if folder.exists() else []


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def post_upload(
    client: AsyncTestClient[Litestar], fields: dict[str, str], content: bytes, name: str = "lamp.png"
) -> int:
    response = await client.post(
        "/uploads/local",
        data=fields,
        files={"file": (name, content, "application/octet-stream")},
        headers={"accept": "application/json"},
    )
    return response.status_code


# --- uploads over HTTP --------------------------------------------------------------------------------------


async def test_signed_upload_is_stored_at_its_key(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "image", "lamp.png")
    ticket = await use_local.presign_upload(key, max_size=1 << 20)
    assert ticket.url == "/uploads/local"
    assert set(ticket.fields) == {"key", "max_size", "expires", "signature"}
    content = png_bytes()

    response = await client.post(
        ticket.url, data=ticket.fields, files={"file": ("lamp.png", content, "image/png")}
    )

    assert response.status_code == 204, response.text
    assert await use_local.read(key) == content
    assert use_local.path_for(key).read_bytes() == content
    assert incoming_files(use_local) == []


@pytest.mark.parametrize("field", ["key", "max_size", "expires", "signature"])
async def test_tampered_upload_form_is_403_and_writes_nothing(
    client: AsyncTestClient[Litestar], use_local: LocalStorage, field: str
) -> None:
    key = make_key(7, "image", "lamp.png")
    ticket = await use_local.presign_upload(key, max_size=1000)
    fields = dict(ticket.fields)
    fields[field] = {
        "key": make_key(8, "image", "lamp.png"),  # someone else's folder
        "max_size": "100000000",  # a bigger allowance
        "expires": str(int(fields["expires"]) + 86400),  # a longer life
        "signature": fields["signature"][:-2] + ("AA" if not fields["signature"].endswith("AA") else "BB"),
    }[field]

    response = await client.post(
        "/uploads/local",
        data=fields,
        files={"file": ("lamp.png", png_bytes(), "image/png")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "This upload form is not valid. Start the upload again."
    assert all_files(use_local.root) == []


async def test_expired_upload_form_is_410(
    client: AsyncTestClient[Litestar], use_local: LocalStorage, clock: Clock
) -> None:
    key = make_key(7, "image", "lamp.png")
    ticket = await use_local.presign_upload(key, max_size=1 << 20)
    clock.now += EXPIRY - 1
    assert await post_upload(client, ticket.fields, b"%PDF-1.4 still in time") == 204

    other = await use_local.presign_upload(make_key(7, "image", "late.png"), max_size=1 << 20)
    clock.now += EXPIRY + 1
    response = await client.post(
        "/uploads/local",
        data=other.fields,
        files={"file": ("late.png", png_bytes(), "image/png")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 410
    assert response.json()["detail"] == "This upload form has expired. Start the upload again."
    assert await use_local.size(other.key) is None


async def test_upload_over_the_ticket_limit_is_413_and_leaves_nothing(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "design", "big.zip")
    ticket = await use_local.presign_upload(key, max_size=100_000)

    response = await client.post(
        "/uploads/local",
        data=ticket.fields,
        files={"file": ("big.zip", b"PK\x03\x04" + b"\x00" * 100_000, "x/y")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 413
    assert "larger than 97.7 KB" in response.json()["detail"]
    assert await use_local.size(key) is None
    assert incoming_files(use_local) == []
    # exactly at the limit is fine
    ok = await use_local.presign_upload(make_key(7, "design", "ok.zip"), max_size=100_000)
    assert await post_upload(client, ok.fields, b"\x01" * 100_000) == 204


async def test_a_form_is_good_for_one_file(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "document", "spec.pdf")
    ticket = await use_local.presign_upload(key, max_size=1 << 20)
    assert await post_upload(client, ticket.fields, pdf_bytes("first")) == 204

    assert await post_upload(client, ticket.fields, b"<html>replaced after the fact</html>") == 409
    assert await use_local.read(key) == pdf_bytes("first")
    assert incoming_files(use_local) == []


async def test_malformed_upload_forms_are_refused(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "image", "lamp.png")
    ticket = await use_local.presign_upload(key, max_size=1 << 20)

    not_multipart = await client.post(
        "/uploads/local", json=ticket.fields, headers={"accept": "application/json"}
    )
    assert not_multipart.status_code == 400
    assert not_multipart.json()["detail"] == "Send the upload as multipart/form-data."

    unexpected = await client.post(
        "/uploads/local",
        data={**ticket.fields, "acl": "public-read"},
        files={"file": ("lamp.png", png_bytes(), "image/png")},
        headers={"accept": "application/json"},
    )
    assert unexpected.status_code == 400
    assert "unexpected field: acl" in unexpected.json()["detail"]

    no_file = await client.post(
        "/uploads/local",
        data=ticket.fields,
        files={"other": ("x", b"x", "x/y")},
        headers={"accept": "application/json"},
    )
    assert no_file.status_code == 400

    # the file before the signed fields: nothing is written before the signature is checked
    file_first = await client.post(
        "/uploads/local",
        files=[
            ("file", ("lamp.png", png_bytes(), "image/png")),
            *[(k, (None, v, "text/plain")) for k, v in ticket.fields.items()],
        ],
        headers={"accept": "application/json"},
    )
    assert file_first.status_code == 422
    assert "the field key is missing" in file_first.json()["detail"]
    assert all_files(use_local.root) == []


# --- the size cap while streaming ---------------------------------------------------------------------------


async def test_receive_stops_reading_at_the_limit(local: LocalStorage) -> None:
    key = make_key(3, "design", "part.step")
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield b"x" * 1000

    with pytest.raises(UploadTooLarge):
        await local.receive(key, body(), max_size=5_500)

    assert pulled == 6  # the sixth chunk would cross the limit; nothing after it is read
    assert await local.size(key) is None
    assert incoming_files(local) == []
    assert all_files(local.root) == []


async def test_receive_writes_a_body_within_the_limit(local: LocalStorage) -> None:
    key = make_key(3, "design", "part.step")

    async def body() -> AsyncIterator[bytes]:
        for n in range(5):
            yield bytes([n]) * 1000

    assert await local.receive(key, body(), max_size=5_000) == 5_000
    assert await local.read(key, max_bytes=2) == b"\x00\x00"
    assert b"".join([c async for c in local.stream(key, chunk_size=1024)]) == b"".join(
        bytes([n]) * 1000 for n in range(5)
    )


# --- keys never leave MEDIA_ROOT ----------------------------------------------------------------------------

TRAVERSAL_KEYS = [
    "../outside.txt",
    "org/1/../../outside.txt",
    "/etc/passwd",
    "org\\1\\..\\..\\outside.txt",
    "org/1/design//x.pdf",
    "./x.pdf",
    ".incoming/x.part",
    "org/1/\x00.pdf",
    "C:/windows/x.exe",
    "",
]


@pytest.mark.parametrize("key", TRAVERSAL_KEYS)
async def test_keys_that_could_escape_are_refused_everywhere(local: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidKey):
        local.path_for(key)
    with pytest.raises(InvalidKey):
        await local.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidKey):
        await local.read(key)
    with pytest.raises(InvalidKey):
        await local.delete(key)
    with pytest.raises(InvalidKey):
        await local.presign_upload(key, max_size=10)
    with pytest.raises(InvalidKey):
        local.download_url(key, filename="x", content_type="text/plain")
    assert not (local.root.parent / "outside.txt").exists()


async def test_a_signed_traversal_key_is_still_refused_by_the_upload_route(
    client: AsyncTestClient[Litestar], use_local: LocalStorage, clock: Clock
) -> None:
    # even a correctly signed form (a leaked secret, a bug in a caller) cannot write outside MEDIA_ROOT
    key, expires = "../outside.txt", int(clock.now) + 60
    fields = {
        "key": key,
        "max_size": "1000",
        "expires": str(expires),
        "signature": use_local._upload_signature(key, 1000, expires),
    }

    response = await client.post(
        "/uploads/local",
        data=fields,
        files={"file": ("x.txt", b"owned", "text/plain")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "This file key is not valid."
    assert not (use_local.root.parent / "outside.txt").exists()


def test_generated_keys_have_the_tenant_layout() -> None:
    key = make_key(42, "design", "../../Lampe \u2013 Entwurf (final) 设计.STEP")
    parsed = parse_key(key)
    assert parsed is not None
    assert (parsed.org_id, parsed.kind) == (42, "design")
    assert key.startswith("org/42/design/")
    assert key.endswith("/Lampe_Entwurf_final.STEP")
    assert safe_name("..") == "file"
    assert safe_name(".htaccess") == "file.htaccess"
    assert safe_name("a..b...c.tar.gz") == "a.b.c.tar.gz"
    assert safe_name("设计.pdf") == "file.pdf"
    assert parse_key("org/42/design/" + "a" * 32 + "/../x") is None
    assert parse_key("org/42/secret/" + "a" * 32 + "/x.pdf") is None


# --- downloads ----------------------------------------------------------------------------------------------


async def test_download_link_serves_our_name_type_and_nosniff(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "document", "spec.pdf")
    content = pdf_bytes()
    await use_local.put(key, content, content_type="application/pdf")
    name = "Lampenschirm \u2013 Entwurf 设计.pdf"

    url = use_local.download_url(key, filename=name, content_type="application/pdf")
    response = await client.get(url)

    assert url.startswith("/files/local/")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition == content_disposition(name)
    assert disposition.startswith('attachment; filename="Lampenschirm  Entwurf .pdf"; ')  # ASCII stand-in
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == name


async def test_tampered_and_expired_download_links(
    client: AsyncTestClient[Litestar], use_local: LocalStorage, clock: Clock
) -> None:
    key = make_key(7, "document", "spec.pdf")
    await use_local.put(key, pdf_bytes(), content_type="application/pdf")
    url = use_local.download_url(key, filename="spec.pdf", content_type="application/pdf")
    payload, signature = url.removeprefix("/files/local/").split(".")
    other = use_local.download_url(
        make_key(7, "document", "other.pdf"), filename="x", content_type="text/html"
    )
    other_payload = other.removeprefix("/files/local/").split(".")[0]

    for bad in [f"{other_payload}.{signature}", f"{payload}.{signature[:-1]}x", payload, "nonsense"]:
        response = await client.get(f"/files/local/{bad}", headers={"accept": "application/json"})
        assert response.status_code == 403, bad
        assert (
            response.json()["detail"] == "This download link is not valid. Open the file from its page again."
        )

    clock.now += EXPIRY + 1
    response = await client.get(url, headers={"accept": "application/json"})
    assert response.status_code == 410
    assert response.json()["detail"] == "This download link has expired. Open the file from its page again."


async def test_download_of_a_deleted_file_is_404(
    client: AsyncTestClient[Litestar], use_local: LocalStorage
) -> None:
    key = make_key(7, "document", "spec.pdf")
    await use_local.put(key, pdf_bytes(), content_type="application/pdf")
    url = use_local.download_url(key, filename="spec.pdf", content_type="application/pdf")
    await use_local.delete(key)

    response = await client.get(url, headers={"accept": "application/json"})

    assert response.status_code == 404
    assert not use_local.path_for(key).parent.exists()  # the per-object folder went with it


# --- readiness ----------------------------------------------------------------------------------------------


async def test_check_passes_on_a_writable_folder_and_names_an_unusable_one(tmp_path: Path) -> None:
    settings = StorageSettings().model_copy(update={"media_root": tmp_path / "media"})
    await LocalStorage(settings, secret_key=SECRET).check()

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    broken = LocalStorage(settings.model_copy(update={"media_root": blocker}), secret_key=SECRET)
    with pytest.raises(StorageUnavailable) as caught:
        await broken.check()
    assert f"media folder {blocker} is not writable" in str(caught.value)
