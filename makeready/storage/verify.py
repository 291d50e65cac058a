"""Server-side verification of an uploaded object, before any row points at it.

Browsers and S3-compatible servers cannot be trusted to enforce size or type (moto accepts presigned POSTs
that break every policy condition), so after each direct upload we:

1. check the size against the limit of the kind (design, image, document) before reading anything;
2. copy the object once into a private spool (still counting, in case it grew since we looked);
3. decide its type from its first bytes, never from its name or the Content-Type it was sent with;
4. refuse markup (HTML, SVG, XML), scripts and executables, and anything the kind does not accept;
5. decode images with Pillow under a pixel cap and re-encode them with no metadata at all (EXIF with GPS,
   JPEG comments, XMP, PNG text chunks): only pixels and the colour profile are kept;
6. store the verified bytes under a new key that no upload form can reach, and delete the upload.

Step 6 matters because a presigned POST stays valid until it expires: the uploader could post other bytes
to the same key after we looked. The verified copy lives where no ticket points.

On any refusal the uploaded object is deleted and UploadRejected names the file and the reason.

Type detection: markup, scripts and executables are refused first by hand-checked signatures (these must not
depend on scores); accepted formats are then recognised by strict signatures at offset 0, because puremagic
scores JPEG at 0.3, calls every ZIP an Office file and knows no STEP/IGES/DXF/STL text formats. puremagic
names what a refused file looks like ("looks like a Windows Executable"), so the message says something useful.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import tempfile
from dataclasses import dataclass
from typing import IO, Any

import anyio.to_thread
from PIL import Image, ImageOps

from makeready.i18n import N_, _
from makeready.storage.base import Storage, UploadRejected, human_size
from makeready.storage.keys import sibling_key

MB = 1 << 20
PIXEL_CAP = 40_000_000
# Pillow raises DecompressionBombError above twice MAX_IMAGE_PIXELS while opening, before decoding anything;
# between one and two times it only warns, so `reencode_image` checks the size itself (warnings filters are
# process-wide and not thread-safe, so they are not the tool for a check that runs in worker threads)
Image.MAX_IMAGE_PIXELS = PIXEL_CAP
HEAD_BYTES = 8192
SPOOL_IN_MEMORY = 8 * MB  # larger uploads spill to a temporary file while verified


@dataclass(frozen=True)
class FileType:
    id: str
    label: str
    content_type: str
    pillow_format: str | None = None  # set for images: decoded and re-encoded


TYPES: dict[str, FileType] = {
    t.id: t
    for t in [
        FileType("pdf", "PDF", "application/pdf"),
        FileType("png", "PNG", "image/png", "PNG"),
        FileType("jpeg", "JPEG", "image/jpeg", "JPEG"),
        FileType("webp", "WebP", "image/webp", "WEBP"),
        FileType("zip", "ZIP", "application/zip"),
        FileType("step", "STEP", "model/step"),
        FileType("iges", "IGES", "model/iges"),
        FileType("stl", "STL", "model/stl"),
        FileType("dxf", "DXF", "image/vnd.dxf"),
        FileType("dwg", "DWG", "image/vnd.dwg"),
    ]
}


@dataclass(frozen=True)
class KindRule:
    kind: str
    label: str  # marked for translation, translated when shown
    max_size: int
    types: tuple[str, ...]


KIND_RULES: dict[str, KindRule] = {
    "design": KindRule(
        "design",
        N_("design"),
        100 * MB,
        ("pdf", "png", "jpeg", "webp", "zip", "step", "iges", "stl", "dxf", "dwg"),
    ),
    "image": KindRule("image", N_("image"), 25 * MB, ("png", "jpeg", "webp")),
    "document": KindRule("document", N_("document"), 50 * MB, ("pdf",)),
}

# File name endings refused before any upload starts (a courtesy: the bytes decide in the end).
REFUSED_EXTENSIONS = frozenset(
    [
        "svg",
        "svgz",
        "html",
        "htm",
        "xhtml",
        "shtml",
        "xml",
        "xsl",
        "js",
        "mjs",
        "vbs",
        "ps1",
        "sh",
        "bash",
        "bat",
        "cmd",
        "com",
        "exe",
        "msi",
        "dll",
        "scr",
        "jar",
        "app",
        "apk",
        "dmg",
        "php",
        "py",
        "pl",
        "rb",
        "hta",
        "wsf",
        "lnk",
    ]
)


@dataclass(frozen=True)
class VerifiedFile:
    key: str
    size: int
    content_type: str
    checksum: str
    type_id: str


def kind_rule(kind: str) -> KindRule:
    rule = KIND_RULES.get(kind)
    if rule is None:
        raise UploadRejected(
            _("%(kind)s is not a kind of file we store. Use one of: %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(KIND_RULES)},
            field="kind",
        )
    return rule


def too_large(name: str, rule: KindRule) -> UploadRejected:
    return UploadRejected(
        _("%(name)s is larger than %(limit)s, the limit for %(kind)s files.")
        % {"name": name, "limit": human_size(rule.max_size), "kind": _(rule.label)}
    )


def check_name(name: str, rule: KindRule) -> None:
    """Refuse names that announce a refused type, before anything is uploaded."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in REFUSED_EXTENSIONS:
        raise UploadRejected(
            _("%(name)s is a .%(ext)s file. We do not accept web pages, SVG, scripts or programs.")
            % {"name": name, "ext": ext}
        )


# --- sniffing -------------------------------------------------------------------------------------------

_MACH_O = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


def _as_text_start(head: bytes) -> bytes:
    """The first bytes as lower-case ASCII-ish text: BOMs removed, UTF-16 folded, leading blanks stripped."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head[2:].decode("utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be", "ignore").encode()
    elif head[:2] in (b"<\x00", b"\x00<"):  # UTF-16 without BOM
        head = head.decode("utf-16-le" if head[:1] == b"<" else "utf-16-be", "ignore").encode()
    head = head.removeprefix(b"\xef\xbb\xbf")
    return head.lstrip(b" \t\r\n\x0c\x00").lower()


def refused_reason(head: bytes) -> str | None:
    """Why these first bytes are never accepted, or None. Hand-checked: these must not depend on scores."""
    if head.startswith((b"MZ", b"\x7fELF", b"\x00asm", *_MACH_O)):
        return _("it is an executable program")
    text = _as_text_start(head)
    if text.startswith(b"#!"):
        return _("it is a script")
    if text.startswith(b"<"):
        if b"<svg" in text:
            return _("it is an SVG image, which can carry scripts")
        if text.startswith(b"<?xml") or (text.startswith(b"<!doctype") and b"html" not in text[:20]):
            return _("it is an XML document")
        return _("it is a web page (HTML)")
    return None


def _signature(head: bytes, size: int) -> str | None:
    """The accepted format whose signature these first bytes carry, or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if re.match(rb"AC10(1[2-9]|2[0-9]|3[0-9])", head):
        return "dwg"
    if head.startswith(b"ISO-10303-21;"):
        return "step"
    if head.startswith(b"AutoCAD Binary DXF\r\n\x1a\x00"):
        return "dxf"
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    stripped = [line.strip() for line in lines[:6]]
    if stripped[:2] == [b"0", b"SECTION"] or (
        stripped[:1] == [b"999"] and stripped[2:4] == [b"0", b"SECTION"]
    ):
        return "dxf"
    if len(lines[0].rstrip(b"\r")) == 80 and lines[0][72:73] == b"S" and lines[0][73:80].strip().isdigit():
        return "iges"
    if size >= 84 and len(head) >= 84:
        (triangles,) = struct.unpack_from("<I", head, 80)
        if triangles and size == 84 + 50 * triangles:
            return "stl"
    if head.startswith(b"solid") and (b"facet" in head or b"endsolid" in head):
        return "stl"
    return None


def _puremagic_guess(head: bytes) -> tuple[str, str] | None:
    """puremagic's best guess (name, mime) for bytes we do not accept, to say what they look like."""
    # imported here for start-up time: puremagic loads its signature database at import (about 0.1 s of CPU),
    # and only a refused upload needs it
    import puremagic

    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.confidence >= 0.4:
            return str(match.name), str(match.mime_type or "")
    return None


def sniff(head: bytes, size: int, name: str) -> FileType:
    """The type of an object from its first bytes; UploadRejected naming `name` when we do not accept it."""
    reason = refused_reason(head)
    if reason is None:
        type_id = _signature(head, size)
        if type_id is not None:
            return TYPES[type_id]
        guess = _puremagic_guess(head)
        if guess:
            reason = _("it looks like %(what)s, which we do not accept") % {"what": guess[0]}
        else:
            reason = _("its type could not be recognised from its content")
    raise UploadRejected(_("%(name)s was refused: %(reason)s.") % {"name": name, "reason": reason})


# --- images ---------------------------------------------------------------------------------------------


def reencode_image(data: bytes, file_type: FileType, name: str) -> bytes:
    """Decode under the pixel cap and encode again. Only pixels and the colour profile survive: EXIF
    (GPS, camera serials), XMP, JPEG comments and text chunks are dropped. Runs in a worker thread: it is CPU-bound."""
    fmt = file_type.pillow_format
    assert fmt is not None
    bomb = UploadRejected(
        _("%(name)s was refused: the image has more than %(limit)s million pixels.")
        % {"name": name, "limit": PIXEL_CAP // 1_000_000}
    )
    unreadable = UploadRejected(_("%(name)s was refused: it could not be read as an image.") % {"name": name})
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            if width * height > PIXEL_CAP or width <= 0 or height <= 0:
                raise bomb
            image.seek(0)  # animations keep their first frame
            image.load()
            icc = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            upright = ImageOps.exif_transpose(image)  # bake the EXIF rotation in before EXIF goes
            # Pillow's encoders write back what decoding left in `info` (a JPEG's COM comment, XMP, EXIF):
            # the copy keeps pixels and palette only; the colour profile and transparency are passed below
            upright = upright.copy() if upright is image else upright
            upright.info = {}
            out = io.BytesIO()
            options: dict[str, Any] = {"icc_profile": icc} if icc else {}
            if fmt == "JPEG":
                if upright.mode not in ("L", "RGB", "CMYK"):
                    upright = upright.convert("RGB")
                upright.save(out, "JPEG", quality=90, optimize=True, **options)
            elif fmt == "PNG":
                if transparency is not None and upright.mode in ("P", "L", "RGB"):
                    options["transparency"] = transparency
                upright.save(out, "PNG", optimize=False, **options)
            else:
                upright.save(out, "WEBP", quality=90, **options)
    except Image.DecompressionBombError:
        raise bomb from None
    except UploadRejected:
        raise
    except (
        Exception
    ):  # hostile files make decoders raise almost anything (OSError, SyntaxError, struct.error...)
        raise unreadable from None
    return out.getvalue()


# --- the whole check ------------------------------------------------------------------------------------


async def _spool(storage: Storage, key: str, rule: KindRule, name: str) -> tuple[IO[bytes], int, str]:
    """Copy the object into a private spool, counting; too large even now is a refusal."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned to the caller)
    digest = hashlib.sha256()
    total = 0
    chunks = storage.stream(key)
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > rule.max_size:
                raise too_large(name, rule)
            digest.update(chunk)
            await anyio.to_thread.run_sync(spool.write, chunk)
    except BaseException:
        spool.close()
        raise
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:  # release the HTTP body or file now, not when garbage-collected
            await aclose()
    spool.seek(0)
    return spool, total, digest.hexdigest()


async def verify_upload(storage: Storage, key: str, *, kind: str, name: str) -> VerifiedFile:
    """Verify the uploaded object at `key` and move it to a new key; UploadRejected (object deleted) if not.

    `name` is the file name people know, used in every message.
    """
    rule = kind_rule(kind)
    size = await storage.size(key)
    if size is None:
        raise UploadRejected(_("%(name)s was not received. Upload it again.") % {"name": name})
    final_key = sibling_key(key)
    try:
        if size > rule.max_size:
            raise too_large(name, rule)
        if size == 0:
            raise UploadRejected(_("%(name)s is empty.") % {"name": name})
        try:
            spool, size, checksum = await _spool(storage, key, rule, name)
        except FileNotFoundError:
            raise UploadRejected(_("%(name)s was not received. Upload it again.") % {"name": name}) from None
        with spool:
            head = spool.read(HEAD_BYTES)
            spool.seek(0)
            file_type = sniff(head, size, name)
            if file_type.id not in rule.types:
                raise UploadRejected(
                    _("%(name)s is a %(type)s file; %(kind)s files must be one of: %(types)s.")
                    % {
                        "name": name,
                        "type": file_type.label,
                        "kind": _(rule.label),
                        "types": ", ".join(TYPES[t].label for t in rule.types),
                    }
                )
            if file_type.pillow_format:
                data = await anyio.to_thread.run_sync(spool.read)
                clean = await anyio.to_thread.run_sync(reencode_image, data, file_type, name)
                size, checksum = len(clean), hashlib.sha256(clean).hexdigest()
                await storage.put(final_key, clean, content_type=file_type.content_type)
            else:
                await storage.put(final_key, spool, content_type=file_type.content_type)
    except UploadRejected:
        await storage.delete(key)
        raise
    try:
        await storage.delete(key)
    except BaseException:
        await storage.delete(final_key)
        raise
    return VerifiedFile(
        key=final_key, size=size, content_type=file_type.content_type, checksum=checksum, type_id=file_type.id
    )
