"""Static assets over HTTP: the back office's JavaScript and our stylesheets are sent compressed with the cache
lifetimes their names allow (portal/assets.py); HTML pages are neither immutable nor cached for a year."""

from __future__ import annotations

import gzip
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal.assets import choose_encoding

Client = AsyncTestClient[Litestar]
IMMUTABLE = "public, max-age=31536000, immutable"


async def _raw(client: Client, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body exactly as sent (httpx would otherwise decode it)."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, dict(response.headers), body


async def _main_script(client: Client) -> str:
    """The back office's main JavaScript file, found as a browser finds it: in the page's <script> tag."""
    page = await client.get("/admin/")
    assert page.status_code == 200
    found = re.search(r'<script[^>]+src="\./(assets/[^"]+\.js)"', page.text)
    assert found, page.text
    return "/admin/" + found.group(1)


async def test_the_back_office_script_comes_gzipped_and_cached_for_a_year(client: Client) -> None:
    script = await _main_script(client)
    status, plain_headers, plain = await _raw(client, script, **{"Accept-Encoding": "identity"})
    assert status == 200
    assert "content-encoding" not in plain_headers
    assert len(plain) > 1_000_000  # the 1.6 MB bundle this is about
    assert plain_headers["cache-control"] == IMMUTABLE

    status, headers, body = await _raw(client, script, **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert len(body) < len(plain) / 2
    assert int(headers["content-length"]) == len(body)
    assert gzip.decompress(body) == plain
    assert headers["cache-control"] == IMMUTABLE
    assert "accept-encoding" in headers["vary"].lower()
    assert "set-cookie" not in headers  # a public response carries nobody's cookie
    assert headers["etag"].startswith('W/"')  # not the file's bytes any more

    # the second request is served from the compressed copy: the same bytes
    assert (await _raw(client, script, **{"Accept-Encoding": "gzip"}))[2] == body


async def test_the_back_office_script_comes_in_brotli_when_asked(client: Client) -> None:
    brotli = pytest.importorskip("brotli")
    script = await _main_script(client)
    _, _, plain = await _raw(client, script, **{"Accept-Encoding": "identity"})
    status, headers, body = await _raw(client, script, **{"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert headers["content-encoding"] == "br"
    assert len(body) < len(plain) / 2
    assert brotli.decompress(body) == plain
    assert headers["cache-control"] == IMMUTABLE


async def test_our_stylesheet_is_compressed_and_revalidated_not_immutable(client: Client) -> None:
    status, headers, body = await _raw(client, "/static/app.css", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert b".topbar" in gzip.decompress(body)
    # the file keeps its name across releases: browsers must ask again, and get a 304 when it has not changed
    assert headers["cache-control"] == "no-cache"
    again = await client.get(
        "/static/app.css", headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get("/static/app.css", headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200
    assert b".topbar" in changed.content


async def test_html_pages_are_not_immutable(client: Client) -> None:
    for path in ("/login", "/admin/"):
        response = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        cache_control = response.headers.get("cache-control", "")
        assert "immutable" not in cache_control
        assert "max-age=31536000" not in cache_control


async def test_small_or_binary_answers_and_head_requests_pass_untouched(client: Client) -> None:
    head = await client.head("/static/app.css", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200
    assert "content-encoding" not in head.headers
    missing = await client.get("/admin/assets/index-00000000.js", headers={"Accept-Encoding": "gzip"})
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("cache-control", "")


def test_the_encoding_follows_the_accept_encoding_header() -> None:
    assert choose_encoding("") is None
    assert choose_encoding("identity") is None
    assert choose_encoding("gzip;q=0, identity") is None
    assert choose_encoding("deflate, gzip;q=0.5") == "gzip"
    assert choose_encoding("*") == "gzip"
    assert choose_encoding("GZIP") == "gzip"
    assert choose_encoding("gzip;q=garbage") is None
