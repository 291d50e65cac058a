"""The factory's production link pages at /p/<token>: one production order, without an account, Chinese first.

`GET /p/{token}` (the order: reference, quantity, price, ex-factory date, Incoterm, delivery address, its lots with
their latest progress and photos, its tooling; `?lang=en` speaks English), `GET /p/{token}/spec` and
`/p/{token}/spec.pdf` (the pinned revision's spec document, its pictures at `/p/{token}/spec/photos/{figure_id}`),
`GET /p/{token}/photos/{production_photo_id}/thumbnail|image` (the order's own photos only),
`POST /p/{token}/accept`, `POST /p/{token}/propose`, `POST /p/{token}/lots/{lot_id}/progress` and
`POST /p/{token}/tooling/{tooling_id}/trial` (with photos).

The same guarantees as the spec links (portal/factory.py, whose helpers this module uses): no cookie (the session
and CSRF middlewares skip /p/), `Referrer-Policy: no-referrer`, a strict CSP with no script, 404 for an unknown
token and 410 for a revoked or expired one, misses counted against the address in the same window as /f/, and form
posts refused when the browser says they came from another site. Everything is looked up through the token's one
order: a lot or a tooling item of another order, even of the same organization, is a 404.

A refused form shows the page again with the message in both languages, Chinese first, and what was typed; nothing
of it is kept (the transaction is rolled back, and the photo service deletes what it stored). The message in the
other language is obtained by running the refused write once more under that language, then rolling back again:
messages are translated where they are raised, and a refusal is a pure function of the same rows and input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_text
from makeready import i18n, urls
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_
from makeready.production import links
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import photos as photo_service
from makeready.production import tooling as tooling_service
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
    ToolingStatus,
)
from makeready.projects.models import Project
from makeready.samples.photos import THUMBNAIL_TYPE
from makeready.specs import document as spec_document
from makeready.specs import documents
from makeready.specs.models import DocumentStatus, SpecRevision
from makeready.storage import get_storage
from makeready.storage.base import content_disposition
from makeready.suppliers.models import Supplier
from portal.factory import (
    FAILED,
    MISSES,
    PDF_REFRESH_SECONDS,
    PREPARING,
    _csp,
    _headers,
    _same_origin,
    both,
    message_page,
    page,
)

MAX_BODY = 60 * 1024 * 1024
"""A report's form with its photos (at most six phone pictures); larger posts are refused before they are read."""
TRIAL_OPEN = frozenset({ToolingStatus.to_make, ToolingStatus.in_progress, ToolingStatus.rejected})

GONE = N_("This link has expired or was withdrawn. Ask your coordinator for a new one.")
UNKNOWN = N_("This link does not exist. Check that you copied all of it.")
LIMITED = N_("Too many wrong links were tried from your address. Try again later.")
NOT_ON_ORDER = N_("This is not part of the order of this link.")
OTHER_SITE = N_("This form was sent from another site.")
TOO_LARGE = N_("The photos are too large to send together. Send fewer photos at a time.")
DONE = {
    "accepted": N_("Thank you: the order is accepted."),
    "proposed": N_("Thank you: your proposed ex-factory date was sent to the coordinator."),
    "reported": N_("Thank you: your progress report was recorded."),
    "trial": N_("Thank you: your tooling trial was sent to the coordinator."),
}


class NotOnThisOrder(NotFound):
    """A lot, tooling item or photo id that is not the link's order's: the same 404 whatever it belongs to."""


def _bilingual(status_code: int, msgid: str, **kwargs: Any) -> Response[str]:
    zh, en = both(msgid)
    return message_page(status_code, zh=zh, en=en, **kwargs)


def _language(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "zh_Hans"


def _languages(locale: str) -> tuple[str, str]:
    return ("en", "zh_Hans") if locale == "en" else ("zh_Hans", "en")


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _render(template: str, context: dict[str, Any]) -> str:
    return spec_document.environment().get_template(template).render(context)


async def _photo_files(form: FormMultiDict) -> list[photo_service.PhotoFile]:
    """The files of the form's `photos` input (a browser sends one empty part when none was chosen)."""
    files: list[photo_service.PhotoFile] = []
    for value in form.getall("photos", []):
        if not isinstance(value, UploadFile):
            continue
        await value.seek(0)  # a refused form is run twice (once per language): read from the start each time
        data = await value.read()
        if not data and not value.filename:
            continue
        files.append(photo_service.PhotoFile(name=value.filename or "photo.jpg", data=data))
    return files


async def _lot_of(db: AsyncSession, order: ProductionOrder, lot_id: int) -> Lot:
    lot = await db.scalar(select(Lot).where(Lot.id == lot_id, Lot.order_id == order.id))
    if lot is None:
        raise NotOnThisOrder(i18n.gettext(NOT_ON_ORDER))
    return lot


async def _tooling_of(db: AsyncSession, order: ProductionOrder, item_id: int) -> ToolingItem:
    item = await db.scalar(
        select(ToolingItem).where(ToolingItem.id == item_id, ToolingItem.order_id == order.id)
    )
    if item is None:
        raise NotOnThisOrder(i18n.gettext(NOT_ON_ORDER))
    return item


async def _latest_reports(db: AsyncSession, order: ProductionOrder) -> dict[int, ProgressReport]:
    """Each lot's latest report: the one stamped with the lot's `last_report_at` (the service writes the same instant
    to both; should two share it, the later id wins). One statement whatever the number of reports."""
    rows = await db.scalars(
        select(ProgressReport)
        .join(Lot, (ProgressReport.lot_id == Lot.id) & (ProgressReport.reported_at == Lot.last_report_at))
        .where(Lot.order_id == order.id)
        .order_by(ProgressReport.id)
    )
    return {report.lot_id: report for report in rows.all()}


class ProductionLinkPages(Controller):
    """The factory's view of its one production order."""

    path = "/p"
    include_in_schema = False
    opt = {"bell": False}

    async def _guarded(
        self, request: Request[Any, Any, Any], action: Callable[[], Awaitable[Response[Any]]]
    ) -> Response[Any]:
        """Refuse a limited address; map unknown and gone links to their pages; count unknown tokens."""
        address = _client(request)
        wait = MISSES.retry_after(address)
        if wait:
            return _bilingual(429, LIMITED, headers={"Retry-After": str(wait)})
        try:
            return await action()
        except links.Gone:
            return _bilingual(410, GONE)
        except NotOnThisOrder:
            return _bilingual(404, NOT_ON_ORDER)
        except NotFound:
            MISSES.miss(address)
            return _bilingual(404, UNKNOWN)

    async def _page(
        self,
        db: AsyncSession,
        token: str,
        *,
        locale: str,
        done: str = "",
        error: tuple[str, str] | None = None,
        form_id: str = "",
        values: dict[str, str] | None = None,
        record_view: bool = True,
        status_code: int = 200,
    ) -> Response[str]:
        i18n.set_locale(locale)
        link, order = await links.open_link(db, token, record_view=record_view)
        supplier = await db.get_one(Supplier, order.supplier_id)
        project = await db.get_one(Project, order.project_id)
        revision = await db.get_one(SpecRevision, order.revision_id)
        order_lots = await lot_service.lots_of(db, order.id)
        items = await tooling_service.tooling_of(db, order.id)
        latest = await _latest_reports(db, order)
        report_photos = await photo_service.photos_of(db, "progress_report", [r.id for r in latest.values()])
        trial_photos = await photo_service.photos_of(db, "tooling_trial", [i.id for i in items])
        base = urls.production_link(token)
        notice = both(DONE[done]) if done in DONE else None
        html = _render(
            "factory/production/page.html",
            {
                "link": link,
                "order": order,
                "supplier": supplier,
                "project": project,
                "revision": revision,
                "lots": order_lots,
                "tooling": items,
                "latest": latest,
                "report_photos": report_photos,
                "trial_photos": trial_photos,
                "routing": [(step, lot_service.step_label(step)) for step in order.routing],
                "produced_step": lot_service.produced_step(order),
                "reportable": lot_service.REPORTABLE,
                "trial_open": TRIAL_OPEN,
                "answerable": order.status == OrderStatus.sent,
                "cancelled_lot": LotStatus.cancelled,
                "base": base,
                "locale": locale,
                "notice": notice,
                "error": error,
                "form_id": form_id,
                "values": values or {},
                "max_photos": photo_service.MAX_PHOTOS_PER_CALL,
                # the factory's own price: it quoted it (the brand's and the agency's figures are never here)
                "price": i18n.format_money(order.unit_price, order.currency)
                if order.unit_price is not None
                else "",
            },
        )
        return page(html, status_code=status_code)

    @get("/{token:str}", name="production_link.page")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Response[Any]:
        """The order, its lots and tooling, Chinese first, with the factory's forms."""

        async def action() -> Response[Any]:
            # the redirect after a form is not another view
            return await self._page(
                db_session, token, locale=_language(lang), done=done, record_view=not done
            )

        return await self._guarded(request, action)

    @get("/{token:str}/spec", name="production_link.spec")
    async def spec(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        """The spec document of the revision the order is pinned to (Chinese first)."""

        async def action() -> Response[Any]:
            locale = _language(lang)
            i18n.set_locale(locale)
            _link, order = await links.open_link(db_session, token, record_view=False)
            revision = await db_session.get_one(SpecRevision, order.revision_id)
            document = await spec_document.build_document(db_session, revision, languages=_languages(locale))
            base = urls.production_link(token)
            html = spec_document.render_html(
                document,
                mode="web",
                image_src=lambda figure: f"{base}/spec/photos/{figure.figure.id}",
                template="factory/production/spec.html",
                link_base=base,
                extra={"base": base, "locale": locale, "order": order},
            )
            return page(html)

        return await self._guarded(request, action)

    @get("/{token:str}/spec.pdf", name="production_link.pdf")
    async def pdf(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        """The pinned revision as a PDF; while it is rendered, a page that reloads itself (202)."""

        async def action() -> Response[Any]:
            locale = _language(lang)
            i18n.set_locale(locale)
            _link, order = await links.open_link(db_session, token, record_view=False)
            revision = await db_session.get_one(SpecRevision, order.revision_id)
            project = await db_session.get_one(Project, order.project_id)
            rendered = await documents.request_pdf(
                db_session, revision=revision, languages=_languages(locale)
            )
            if rendered.status == DocumentStatus.pending:
                return _bilingual(202, PREPARING, refresh=PDF_REFRESH_SECONDS)
            if rendered.status != DocumentStatus.ready or not rendered.storage_key:
                return _bilingual(503, FAILED, refresh=30)
            return Stream(
                get_storage().stream(rendered.storage_key),
                media_type="application/pdf",
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(
                        documents.download_name(rendered, revision, project.name)
                    ),
                    **({"Content-Length": str(rendered.size_bytes)} if rendered.size_bytes else {}),
                },
            )

        return await self._guarded(request, action)

    @get("/{token:str}/spec/photos/{figure_id:str}", name="production_link.figure")
    async def figure(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        figure_id: FromPath[str],
    ) -> Response[Any]:
        """One picture of the pinned revision's figures."""

        async def action() -> Response[Any]:
            _link, order = await links.open_link(db_session, token, record_view=False)
            revision = await db_session.get_one(SpecRevision, order.revision_id)
            document = await spec_document.build_document(db_session, revision, languages=("zh_Hans", "en"))
            found = document.figure(figure_id)
            if found is None or not found.available:
                return _bilingual(404, N_("This picture is not part of the specification."))
            return Stream(
                get_storage().stream(found.storage_key),
                media_type=found.content_type,
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(f"figure-{found.number}", inline=True),
                },
            )

        return await self._guarded(request, action)

    async def _photo(
        self, request: Request[Any, Any, Any], db: AsyncSession, token: str, photo_id: int, *, thumbnail: bool
    ) -> Response[Any]:
        async def action() -> Response[Any]:
            _link, order = await links.open_link(db, token, record_view=False)
            try:
                photo: ProductionPhoto = await photo_service.get_photo(db, photo_id, order_id=order.id)
            except NotFound:
                raise NotOnThisOrder(i18n.gettext(NOT_ON_ORDER)) from None
            key = photo.thumbnail_key if thumbnail else photo.attachment.object_key
            media_type = THUMBNAIL_TYPE if thumbnail else photo.attachment.content_type
            return Stream(
                get_storage().stream(key),
                media_type=media_type,
                headers={
                    **_headers(_csp(None)),
                    "Cache-Control": "private, max-age=86400",
                    "Content-Disposition": content_disposition(photo.attachment.original_name, inline=True),
                },
            )

        return await self._guarded(request, action)

    @get("/{token:str}/photos/{production_photo_id:int}/thumbnail", name="production_link.thumbnail")
    async def thumbnail(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        production_photo_id: FromPath[int],
    ) -> Response[Any]:
        """A photo of this order, small."""
        return await self._photo(request, db_session, token, production_photo_id, thumbnail=True)

    @get("/{token:str}/photos/{production_photo_id:int}/image", name="production_link.image")
    async def image(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        production_photo_id: FromPath[int],
    ) -> Response[Any]:
        """A photo of this order, whole (verified and re-encoded: no EXIF)."""
        return await self._photo(request, db_session, token, production_photo_id, thumbnail=False)

    # -- forms ---------------------------------------------------------------------------------------------------

    async def _post(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        token: str,
        *,
        done: str,
        anchor: str,
        form_id: str,
        write: Callable[[FormMultiDict, ProductionOrder], Awaitable[None]],
    ) -> Response[Any]:
        try:
            form: FormMultiDict = await request.form()
        except HTTPException as exc:
            if exc.status_code == 413:
                return _bilingual(413, TOO_LARGE)
            raise
        locale = _language(form_text(form, "lang"))
        i18n.set_locale(locale)
        if not _same_origin(request):
            return _bilingual(403, OTHER_SITE)

        async def attempt() -> None:
            _link, order = await links.open_link(db, token, record_view=False)
            await write(form, order)

        async def action() -> Response[Any]:
            try:
                await attempt()
            except (links.Gone, NotFound):
                raise
            except DomainError as exc:
                await db.rollback()  # nothing of a refused form is kept
                messages = {locale: exc.message}
                other = _languages(locale)[1]
                with i18n.use_locale(other):
                    try:
                        await attempt()
                    except DomainError as again:
                        messages[other] = again.message
                    finally:
                        await db.rollback()
                values = {k: v for k, v in form.items() if isinstance(v, str)}
                return await self._page(
                    db,
                    token,
                    locale=locale,
                    error=(messages.get("zh_Hans", exc.message), messages.get("en", exc.message)),
                    form_id=form_id,
                    values=values,
                    record_view=False,
                    status_code=exc.status_code,
                )
            query = f"?done={done}" + ("&lang=en" if locale == "en" else "")
            return Response(
                "",
                status_code=303,
                headers={
                    **_headers(_csp(None)),
                    "Location": f"{urls.production_link(token)}{query}#{anchor}",
                },
            )

        return await self._guarded(request, action)

    @post("/{token:str}/accept", name="production_link.accept")
    async def accept(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[Any]:
        """The factory accepts the order as sent (name of who accepts)."""

        async def write(form: FormMultiDict, order: ProductionOrder) -> None:
            await order_service.accept_order(db_session, order=order, name=form_text(form, "name"))

        return await self._post(
            request, db_session, token, done="accepted", anchor="answer", form_id="accept", write=write
        )

    @post("/{token:str}/propose", name="production_link.propose")
    async def propose(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[Any]:
        """The factory proposes another ex-factory date, with a reason."""

        async def write(form: FormMultiDict, order: ProductionOrder) -> None:
            await order_service.propose_date(
                db_session,
                order=order,
                ex_factory_date=form_text(form, "ex_factory_date"),
                reason=form_text(form, "reason"),
                name=form_text(form, "name"),
            )

        return await self._post(
            request, db_session, token, done="proposed", anchor="answer", form_id="propose", write=write
        )

    @post(
        "/{token:str}/lots/{lot_id:int}/progress",
        name="production_link.progress",
        request_max_body_size=MAX_BODY,
    )
    async def progress(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lot_id: FromPath[int],
    ) -> Response[Any]:
        """A progress report for one lot of this order: counts per routing step, a note, a name, photos."""

        async def write(form: FormMultiDict, order: ProductionOrder) -> None:
            lot = await _lot_of(db_session, order, lot_id)
            files = photo_service.check_photos(await _photo_files(form))
            report = await lot_service.report_progress(
                db_session,
                lot=lot,
                counts={step: form_text(form, f"count_{step}") for step in order.routing},
                note=form_text(form, "note"),
                reporter_name=form_text(form, "name"),
                via_link=True,
            )
            await photo_service.add_photos(
                db_session, order=order, subject_type="progress_report", subject_id=report.id, files=files
            )

        return await self._post(
            request,
            db_session,
            token,
            done="reported",
            anchor=f"lot-{lot_id}",
            form_id=f"progress-{lot_id}",
            write=write,
        )

    @post(
        "/{token:str}/tooling/{tooling_id:int}/trial",
        name="production_link.trial",
        request_max_body_size=MAX_BODY,
    )
    async def trial(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        tooling_id: FromPath[int],
    ) -> Response[Any]:
        """A tooling trial (T1, T2...) with photos and a note."""

        async def write(form: FormMultiDict, order: ProductionOrder) -> None:
            item = await _tooling_of(db_session, order, tooling_id)
            files = photo_service.check_photos(await _photo_files(form))
            await tooling_service.submit_trial(db_session, item=item, note=form_text(form, "note"))
            label = f"T{item.trial_number}"
            await photo_service.add_photos(
                db_session,
                order=order,
                subject_type="tooling_trial",
                subject_id=item.id,
                files=[photo_service.PhotoFile(f.name, f.data, f.caption or label) for f in files],
            )

        return await self._post(
            request,
            db_session,
            token,
            done="trial",
            anchor=f"tooling-{tooling_id}",
            form_id=f"trial-{tooling_id}",
            write=write,
        )
