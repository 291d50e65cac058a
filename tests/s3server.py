"""Storage test fixtures: a real S3 HTTP endpoint (moto's standalone server on 127.0.0.1, on a free port, one
per run) and the sample files uploads are tried with.

Test modules load the fixtures with `pytest_plugins = ["tests.s3server"]`.
Each test gets its own bucket, so objects never leak between tests. Nothing is mocked in-process: boto3 and
httpx talk HTTP to the server, exactly as the app and browsers talk to S3.
"""

from __future__ import annotations

import io
import random
import socket
import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

from makeready.settings import StorageSettings
from makeready.storage import reset_storage, set_storage
from makeready.storage.s3 import S3Storage

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


_HELD: list[socket.socket] = []
"""The sockets that keep `closed_port()`s bound for the rest of the process."""


def closed_port() -> int:
    """A port nothing listens on: bound and never listened on, and kept bound until the process ends, so no other
    test process (an xdist worker beside this one) can start a server on it meanwhile; connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return int(sock.getsockname()[1])


def s3_settings(endpoint: str, bucket: str, *, expiry: int = 300) -> StorageSettings:
    return StorageSettings().model_copy(
        update={
            "s3_bucket": bucket,
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "url_expiry_seconds": expiry,
        }
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's server, started once; the AWS_* variables point boto3 at fake credentials meanwhile."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREDENTIALS.items():
            mp.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="session")
def s3_admin(s3_endpoint: str) -> Any:
    """A boto3 client of the moto server, built once (a new client loads botocore's S3 model: most of a second)."""
    return boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_storage(s3_endpoint: str, s3_admin: Any) -> S3Storage:
    """An S3Storage on a fresh bucket of the moto server."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=bucket)
    return S3Storage(s3_settings(s3_endpoint, bucket))


@pytest.fixture
async def use_s3(s3_storage: S3Storage) -> AsyncIterator[S3Storage]:
    """Make the app (get_storage) use the moto bucket for this test."""
    set_storage(s3_storage)
    try:
        yield s3_storage
    finally:
        reset_storage()


# --- sample files ---------------------------------------------------------------------------------------------


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    noise = random.Random(width * height).randbytes(width * height * 3)  # noqa: S311 (not security)
    image = Image.frombytes("RGB", (width, height), noise)  # incompressible: truncation cuts pixel data
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A photo whose EXIF says where it was taken (Shanghai) and with which camera."""
    image = Image.new("RGB", (80, 60), (200, 120, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Model] = "Serial 123456"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (31.0, 14.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (121.0, 28.0, 0.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


XMP_PACKET = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Xmp Author Li Wei</dc:creator>'
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
SECRET_COMMENT = b"Comment: unreleased model X9, factory Dongguan 42"


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with_comment_and_xmp() -> bytes:
    """A JPEG carrying a COM segment and an XMP packet (APP1), besides its EXIF: all three are metadata."""
    plain = jpeg_with_gps()
    assert plain[:2] == b"\xff\xd8"
    extra = _jpeg_segment(0xFE, SECRET_COMMENT) + _jpeg_segment(
        0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP_PACKET
    )
    return plain[:2] + extra + plain[2:]


def png_with_text_and_xmp() -> bytes:
    """A PNG carrying tEXt, zTXt and iTXt chunks (XMP among them) and an eXIf chunk."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET_COMMENT.decode())
    info.add_text("Author", "Zipped Author", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP_PACKET.decode())
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 120, 40)).save(out, "PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def webp_with_exif_and_xmp() -> bytes:
    """A WebP carrying EXIF and XMP chunks."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 120, 40)).save(out, "WEBP", exif=exif, xmp=XMP_PACKET, quality=90)
    return out.getvalue()


def pdf_bytes(text: str = "Spec") -> bytes:
    """A small, valid one-page PDF."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/projects')</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00"
    + b"\x00" * 52
    + b"\x80\x00\x00\x00"
    + b"\x00" * 64
    + b"PE\x00\x00"
    + b"\x00" * 200
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG that is a few KB on the wire and `width * height` pixels once decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
