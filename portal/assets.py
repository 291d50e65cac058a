"""Static assets sent compressed and cached: ours under /static/, piccolo-admin's under /admin/assets/.

The back office's JavaScript is 1.6 MB raw, about 0.3 MB with gzip or brotli: on a slow link the difference is
the first load. This ASGI middleware sits in front of both static mounts (Litestar's own static router and the
Starlette `StaticFiles` inside piccolo-admin's mount, which Litestar's compression config would not know apart
from pages) and, for a compressible asset answered 200:

- compresses it with the best encoding the client accepts (brotli when the `brotli` package is installed, else
  gzip), once per content: the compressed bytes are kept in a small in-memory cache keyed by the body's digest,
  so a file changed on disk is compressed afresh and the next request costs a dictionary lookup;
- marks it `Vary: Accept-Encoding` and sets its `Cache-Control`: piccolo-admin's build files carry a content hash
  in their names (`index-BEwzAl-o.js`), so they are `immutable` for a year; our /static/ files keep their names
  across releases, so browsers revalidate them (`no-cache`, answered 304 through their ETag).

HTML pages never pass through here: their caching stays the handlers' own.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import OrderedDict
from typing import cast

import anyio.to_thread
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send

try:  # a compiled extension (Google's brotli, litestar's `brotli` extra); gzip alone serves without it
    import brotli as _brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - the extra is installed with the app
    _brotli = None

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
PREFIXES = ("/static/", "/admin/assets/")
# a bundler's hashed file name: a dash or dot, then 8 or more characters of the hash, then the extension
HASHED = re.compile(r"^/admin/assets/[^/]+[-.][A-Za-z0-9_-]{8,}\.[a-z0-9]+$")
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")
MINIMUM_SIZE = 1024
GZIP_LEVEL = 9
BROTLI_QUALITY = 9  # 0.5 s once for the 1.6 MB bundle; 11 takes 7 s for 9% less
CACHE_ENTRIES = 64


def choose_encoding(accept_encoding: str) -> str | None:
    """The encoding to send for an Accept-Encoding header: br if accepted and available, else gzip, else none."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:  # a malformed weight accepts nothing
                    quality = 0.0
        accepted[name.strip()] = quality
    if _brotli is not None and accepted.get("br", 0) > 0:
        return "br"
    if accepted.get("gzip", accepted.get("*", 0)) > 0:
        return "gzip"
    return None


def _full_path(scope: Scope) -> str:
    """The request's path: inside a mount (the back office) Litestar has cut the mount's prefix off `path`, so
    take the undecoded `raw_path` there, as Litestar's own middleware exclusions do."""
    if getattr(scope.get("route_handler"), "is_mount", False) and scope.get("raw_path"):
        return bytes(scope["raw_path"]).decode("latin-1")
    return str(scope["path"])


def _matches(if_none_match: str, etag: str | None) -> bool:
    """Whether a request's If-None-Match names this ETag (weak comparison, as for GET)."""
    if not if_none_match or not etag:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") in (wanted, "*") for tag in if_none_match.split(","))


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        assert _brotli is not None
        return bytes(_brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


class CompressedAssets:
    """ASGI middleware (Litestar app middleware) for the static mounts; everything else passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cache: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    async def _compressed(self, body: bytes, encoding: str) -> bytes:
        key = (encoding, hashlib.blake2b(body, digest_size=16).digest())
        found = self._cache.get(key)
        if found is None:
            found = await anyio.to_thread.run_sync(_compress, body, encoding)
            self._cache[key] = found
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = cast("HTTPScope", scope)["method"]
        path = _full_path(scope)
        if method not in ("GET", "HEAD") or not path.startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        cache_control = IMMUTABLE if HASHED.match(path) else REVALIDATE
        accept = if_none_match = ""
        for name, value in scope.get("headers", []):
            if name == b"accept-encoding":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        encoding = choose_encoding(accept) if method == "GET" else None
        held: list[HTTPResponseStartEvent] = []
        chunks: list[bytes] = []
        buffering = dropping = False

        async def send_wrapper(message: Message) -> None:
            nonlocal buffering, dropping
            if dropping:  # the body of a file the browser already has
                return
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders(message)
                if message["status"] == 200 and _matches(if_none_match, headers.get("etag")):
                    # Litestar's static router never answers 304 itself: without this, "no-cache" would
                    # re-send every stylesheet on every page
                    dropping = True
                    kept = {k: headers.get(k) for k in ("etag", "last-modified", "content-type")}
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 304,
                            "headers": [
                                (b"cache-control", cache_control.encode()),
                                (b"vary", b"Accept-Encoding"),
                            ]
                            + [(k.encode(), v.encode("latin-1")) for k, v in kept.items() if v],
                        }
                    )
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                if message["status"] in (200, 304):
                    headers["Cache-Control"] = cache_control
                    # a public response must not carry anyone's cookie (the CSRF middlewares set theirs on every
                    # GET; the page itself sets it again)
                    del headers["Set-Cookie"]
                content_type = headers.get("content-type") or ""
                if not content_type.startswith(COMPRESSIBLE):
                    await send(message)
                    return
                headers.extend_header_value("Vary", "Accept-Encoding")
                if message["status"] != 200 or encoding is None or "content-encoding" in headers:
                    await send(message)
                    return
                buffering = True
                held.append(message)
                return
            if not buffering or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            start = held[0]
            headers = MutableScopeHeaders(start)
            if len(body) >= MINIMUM_SIZE:
                assert encoding is not None
                body = await self._compressed(body, encoding)
                headers["Content-Encoding"] = encoding
                del headers["Accept-Ranges"]  # byte ranges would address the file, not these bytes
                etag = headers.get("etag")
                if etag and not etag.startswith(
                    "W/"
                ):  # the bytes differ from the file's: no longer the same entity
                    headers["ETag"] = "W/" + etag
            headers["Content-Length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, send_wrapper)
