"""The factory's pages at /f/<token>: an issued spec revision for one supplier, without an account.

`GET /f/{token}` (Chinese first; `?lang=en` puts English first and speaks English), `GET /f/{token}/en` (the same in
English: the document's "Ask about this" links append `?field=` to it), `GET /f/{token}/spec.pdf` (the PDF; a
self-refreshing 202 page while it is rendered), `GET /f/{token}/photos/{figure_id}` (the revision's pictures only),
`POST /f/{token}/acknowledge`, `POST /f/{token}/questions`.

Every response carries `Referrer-Policy: no-referrer` (the token must never leak in a Referer), `X-Robots-Tag`,
`Cache-Control: no-store` and a Content-Security-Policy that allows our own origin only, no scripts at all, and the
page's own `<style>` elements by their hashes. Nothing here sets a cookie: the session and CSRF middlewares skip /f/.

Why no CSRF cookie on the factory's forms: CSRF protects a session that the browser sends by itself; the factory has
none. Its only credential is the unguessable token in the URL, which a forging site would need to know, and whoever
knows it can post directly anyway. A POST whose Origin header names another site (or `Origin: null` not marked
`Sec-Fetch-Site: same-origin`, see `_same_origin`) is still refused, so a page that learnt the link cannot make the
factory's browser act.

Repeated unknown tokens are rate limited per client address: MISS_LIMIT misses within MISS_WINDOW seconds answer 429
to every /f/ request from that address until the window has passed. The count is in memory, per process: with N
replicas an address gets N times the misses, still a negligible share of 2^256 tokens. (Behind a proxy the address
is the proxy's unless the server is started with forwarded-header support.)
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_text
from makeready import factory_links as factory
from makeready import i18n, urls
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_
from makeready.specs import document as spec_document
from makeready.specs import documents
from makeready.specs.models import DocumentStatus
from makeready.storage import get_storage
from makeready.storage.base import content_disposition

MISS_LIMIT = 20
MISS_WINDOW = 600.0
PDF_REFRESH_SECONDS = 3
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


class MissCounter:
    """A sliding window of unknown-token requests per client address (in memory, one process)."""

    def __init__(self, limit: int = MISS_LIMIT, window: float = MISS_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self.misses: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self.misses.get(address) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str, now: float | None = None) -> int:
        """Seconds until this address may try again; 0 when it is not limited."""
        now = time.monotonic() if now is None else now
        times = self._recent(address, now)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window - now) + 1)

    def miss(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self.misses) > 50_000:  # a flood of addresses: forget the quiet ones rather than grow for ever
            self.misses = {a: t for a, t in self.misses.items() if self._recent(a, now)}
        times = self._recent(address, now)
        times.append(now)
        self.misses[address] = times

    def clear(self) -> None:
        self.misses.clear()


MISSES = MissCounter()


# -- responses -------------------------------------------------------------------------------------------------


def _csp(html: str | None) -> str:
    styles = ""
    if html is not None:
        hashes = [
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for body in _STYLE.findall(html)
        ]
        styles = " ".join(hashes)
    return (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self'; img-src 'self'; style-src 'self' {styles}".rstrip()
    )


def _headers(csp: str) -> dict[str, str]:
    return {
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": csp,
    }


def page(html: str, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={**_headers(_csp(html)), **(headers or {})},
    )


def _render(template: str, context: dict[str, Any]) -> str:
    return spec_document.environment().get_template(template).render(context)


def message_page(
    status_code: int, *, zh: str, en: str, refresh: int | None = None, headers: dict[str, str] | None = None
) -> Response[str]:
    """A short page in both languages (Chinese first): gone, not found, too many requests, PDF being prepared."""
    html = _render("factory/message.html", {"zh": zh, "en": en, "refresh": refresh, "status": status_code})
    return page(html, status_code=status_code, headers=headers)


def both(msgid: str) -> tuple[str, str]:
    return i18n.translations("zh_Hans").gettext(msgid), i18n.translations("en").gettext(msgid)


GONE = N_("This link has expired or was withdrawn. Ask your coordinator for a new one.")
UNKNOWN = N_("This link does not exist. Check that you copied all of it.")
LIMITED = N_("Too many wrong links were tried from your address. Try again later.")
PREPARING = N_("The PDF is being prepared. This page reloads by itself in a few seconds.")
FAILED = N_("The PDF could not be prepared. Try again later or ask your coordinator.")


def _bilingual(status_code: int, msgid: str, **kwargs: Any) -> Response[str]:
    zh, en = both(msgid)
    return message_page(status_code, zh=zh, en=en, **kwargs)


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _language(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "zh_Hans"


def _order(locale: str) -> tuple[str, str]:
    return ("en", "zh_Hans") if locale == "en" else ("zh_Hans", "en")


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    """Whether a form post came from our own page, not from a page on another site that learnt the link.

    Our pages send `Referrer-Policy: no-referrer` so that the token never leaves in a Referer; the price is that
    Chromium (and Firefox) then post their forms with `Origin: null`, the same value a sandboxed frame or a
    no-referrer page on another site sends. Loosening the policy (e.g. `same-origin`) would keep the token away
    from other sites too, but every response would have to carry it right, redirects and error pages included;
    instead the browser says where the post came from in `Sec-Fetch-Site`, which no page can set or forge:
    `Origin: null` passes only with `Sec-Fetch-Site: same-origin`. A post marked cross-site is refused whatever
    its Origin. Browsers that send neither header are let through: the token is the credential anyway.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin == "null":
        return fetch_site == "same-origin"
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


class FactoryPages(Controller):
    """The factory's view of one issued revision."""

    path = "/f"
    include_in_schema = False
    opt = {"bell": False}

    async def _guarded(
        self, request: Request[Any, Any, Any], db: AsyncSession, token: str, action: Any
    ) -> Response[Any]:
        """Refuse a limited address; map unknown and gone links to their pages; count unknown ones."""
        address = _client(request)
        wait = MISSES.retry_after(address)
        if wait:
            return _bilingual(429, LIMITED, headers={"Retry-After": str(wait)})
        try:
            result: Response[Any] = await action()
        except factory.Gone:
            return _bilingual(410, GONE)
        except NotFound:
            MISSES.miss(address)
            return _bilingual(404, UNKNOWN)
        return result

    async def _page(
        self,
        db: AsyncSession,
        token: str,
        *,
        locale: str,
        field: str = "",
        done: str = "",
        error: DomainError | None = None,
        values: dict[str, str] | None = None,
        record_view: bool = True,
        status_code: int = 200,
    ) -> Response[str]:
        i18n.set_locale(locale)
        view = await factory.open_link(db, token, record_view=record_view)
        document = await spec_document.build_document(db, view.revision, languages=_order(locale))
        base = urls.factory_link(token)
        ask_url = base if locale == "zh_Hans" else f"{base}/en"
        html = spec_document.render_html(
            document,
            mode="web",
            image_src=lambda figure: f"{base}/photos/{figure.figure.id}",
            ask_url=ask_url if not view.superseded else None,
            template="factory/page.html",
            link_base=base,
            extra={
                "view": view,
                "base": base,
                "locale": locale,
                "other_lang": "en" if locale == "zh_Hans" else "zh",
                "field": field,
                "field_labels": dict(document.fields),
                "done": done,
                "error": error,
                "values": values or {},
                "superseded": _superseded(view),
            },
        )
        return page(html, status_code=status_code)

    @get("/{token:str}", name="factory.page")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
        field: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Response[Any]:
        """The revision's document, Chinese first, with the acknowledgement and question forms."""

        async def action() -> Response[Any]:
            # the redirect after a form is not another view
            return await self._page(
                db_session, token, locale=_language(lang), field=field, done=done, record_view=not done
            )

        return await self._guarded(request, db_session, token, action)

    @get("/{token:str}/en", name="factory.page_en")
    async def show_english(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        field: FromQuery[str] = "",
    ) -> Response[Any]:
        """The same page in English (the document's "Ask about this" links lead here)."""

        async def action() -> Response[Any]:
            return await self._page(db_session, token, locale="en", field=field)

        return await self._guarded(request, db_session, token, action)

    @get("/{token:str}/spec.pdf", name="factory.pdf")
    async def pdf(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        """The revision as a PDF (Chinese first); while it is rendered, a page that reloads itself (202)."""

        async def action() -> Response[Any]:
            locale = _language(lang)
            i18n.set_locale(locale)
            view = await factory.open_link(db_session, token, record_view=False)
            rendered = await documents.request_pdf(
                db_session, revision=view.revision, languages=_order(locale)
            )
            if rendered.status == DocumentStatus.pending:
                return _bilingual(202, PREPARING, refresh=PDF_REFRESH_SECONDS)
            if rendered.status != DocumentStatus.ready or not rendered.storage_key:
                return _bilingual(503, FAILED, refresh=30)
            filename = documents.download_name(rendered, view.revision, view.project.name)
            return Stream(
                get_storage().stream(rendered.storage_key),
                media_type="application/pdf",
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(filename),
                    **({"Content-Length": str(rendered.size_bytes)} if rendered.size_bytes else {}),
                },
            )

        return await self._guarded(request, db_session, token, action)

    @get("/{token:str}/photos/{figure_id:str}", name="factory.photo")
    async def photo(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        figure_id: FromPath[str],
    ) -> Response[Any]:
        """One picture of the revision's figures (nothing else of the project is reachable)."""

        async def action() -> Response[Any]:
            view = await factory.open_link(db_session, token, record_view=False)
            document = await spec_document.build_document(
                db_session, view.revision, languages=("zh_Hans", "en")
            )
            figure = document.figure(figure_id)
            if figure is None or not figure.available:
                return _bilingual(404, N_("This picture is not part of the specification."))
            return Stream(
                get_storage().stream(figure.storage_key),
                media_type=figure.content_type,
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(f"figure-{figure.number}", inline=True),
                },
            )

        return await self._guarded(request, db_session, token, action)

    async def _post(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        token: str,
        *,
        done: str,
        anchor: str,
        write: Any,
    ) -> Response[Any]:
        form: FormMultiDict = await request.form()
        locale = _language(form_text(form, "lang"))
        i18n.set_locale(locale)
        if not _same_origin(request):
            return _bilingual(403, N_("This form was sent from another site."))

        async def action() -> Response[Any]:
            try:
                await write(form)
            except (factory.Gone, NotFound):
                raise
            except DomainError as exc:
                await db.rollback()  # nothing of a refused form is kept
                values = {k: v for k, v in form.items() if isinstance(v, str)}
                return await self._page(
                    db,
                    token,
                    locale=locale,
                    field=form_text(form, "field"),
                    error=exc,
                    values=values,
                    record_view=False,
                    status_code=exc.status_code,
                )
            query = f"?done={done}" + ("&lang=en" if locale == "en" else "")
            return Response(
                "",
                status_code=303,
                headers={**_headers(_csp(None)), "Location": f"{urls.factory_link(token)}{query}#{anchor}"},
            )

        return await self._guarded(request, db, token, action)

    @post("/{token:str}/acknowledge", name="factory.acknowledge")
    async def acknowledge(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[Any]:
        """The factory confirms it received and understood the revision."""

        async def write(form: FormMultiDict) -> None:
            await factory.acknowledge(db_session, token, name=form_text(form, "name"))

        return await self._post(request, db_session, token, done="acknowledged", anchor="ack", write=write)

    @post("/{token:str}/questions", name="factory.ask")
    async def ask(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[Any]:
        """A question on one field of the revision."""

        async def write(form: FormMultiDict) -> None:
            await factory.ask_question(
                db_session,
                token,
                field_path=form_text(form, "field"),
                name=form_text(form, "name"),
                text=form_text(form, "question"),
                now=utcnow(),
            )

        return await self._post(request, db_session, token, done="asked", anchor="questions", write=write)


SUPERSEDED = N_(
    "This revision has been superseded by revision %(label)s. Do not produce from it: ask your coordinator for the "
    "link to the new revision."
)
SUPERSEDED_UNKNOWN = N_(
    "This revision has been superseded. Do not produce from it: ask your coordinator for the link to the new revision."
)


def _superseded(view: factory.LinkView) -> tuple[str, str] | None:
    """The superseded banner in Chinese and English, or None for a current revision."""
    if not view.superseded:
        return None
    zh, en = both(SUPERSEDED if view.newer else SUPERSEDED_UNKNOWN)
    values = {"label": view.newer.label if view.newer else ""}
    return zh % values, en % values
