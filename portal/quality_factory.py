"""The factory's quality pages through its production link, Chinese first, without an account:

`GET /p/{token}/quality` (the order's corrective action requests, each with its answer form, and the inspection
reports), `POST /p/{token}/quality/actions/{id}` (root cause, action, rework done, the reworked quantity and
evidence photos, a multipart form), `GET /p/{token}/quality/inspections/{id}` (the bilingual report) and its
`/report.pdf`, `GET /p/{token}/quality/photos/{id}/image` (this order's quality photos only).

The same guarantees as the spec links' pages (portal/factory.py, whose helpers this reuses): the token is the only
credential and opens exactly one order (`makeready.production.links.find_link`); `Referrer-Policy: no-referrer`, no
scripts, our origin only; an unknown token counts towards the per-address miss limit; a post from another site is
refused. Nothing here sets a cookie: the session and CSRF middlewares skip /p/ (portal/factory.py explains why).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_text
from makeready import i18n, urls
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_
from makeready.production import links
from makeready.production.models import ProductionOrder
from makeready.quality import actions, photos, report
from makeready.quality import inspections as qc
from makeready.quality.models import CorrectiveAction, Inspection
from makeready.specs import document as spec_document
from makeready.storage import get_storage
from makeready.storage.base import content_disposition
from portal.factory import (
    GONE,
    LIMITED,
    MISSES,
    UNKNOWN,
    _bilingual,
    _client,
    _csp,
    _headers,
    _language,
    _same_origin,
    page,
)

OPEN = ("requested", "answered")


def _languages(locale: str) -> tuple[str, str]:
    return ("en", "zh_Hans") if locale == "en" else ("zh_Hans", "en")


async def _order(db: AsyncSession, token: str) -> ProductionOrder:
    link = await links.find_link(db, token)
    order = await db.get(ProductionOrder, link.order_id)
    assert order is not None
    return order


class FactoryQualityPages(Controller):
    """The factory's corrective actions and inspection reports of its one order."""

    path = "/p"
    include_in_schema = False
    opt = {"bell": False}

    async def _guarded(self, request: Request[Any, Any, Any], action: Any) -> Response[Any]:
        address = _client(request)
        wait = MISSES.retry_after(address)
        if wait:
            return _bilingual(429, LIMITED, headers={"Retry-After": str(wait)})
        try:
            result: Response[Any] = await action()
        except links.Gone:
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
        done: str = "",
        error: DomainError | None = None,
        error_action: int | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        i18n.set_locale(locale)
        order = await _order(db, token)
        open_actions = (
            await db.scalars(
                select(CorrectiveAction)
                .where(CorrectiveAction.order_id == order.id)
                .order_by(CorrectiveAction.id.desc())
                .limit(50)
            )
        ).all()
        reported = (
            await db.scalars(
                select(Inspection)
                .where(Inspection.order_id == order.id, Inspection.status.in_(sorted(report.REPORTED)))
                .order_by(Inspection.id.desc())
                .limit(50)
            )
        ).all()
        evidence = await photos.photos_of(db, "corrective_action", [a.id for a in open_actions])
        html = (
            spec_document.environment()
            .get_template("factory/quality/page.html")
            .render(
                {
                    "order": order,
                    "actions": open_actions,
                    "inspections": reported,
                    "evidence": evidence,
                    "base": urls.production_quality(token),
                    "locale": locale,
                    "both": spec_document.both(_languages(locale)),
                    "N_": N_,
                    "done": done,
                    "error": error,
                    "error_action": error_action,
                    "values": values or {},
                    "open_states": OPEN,
                    "kind_label": qc.kind_label,
                }
            )
        )
        return page(html, status_code=status_code)

    @get("/{token:str}/quality", name="factory_quality")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Response[Any]:
        """The corrective action requests and the inspection reports of the link's order."""

        async def action() -> Response[Any]:
            return await self._page(db_session, token, locale=_language(lang), done=done)

        return await self._guarded(request, action)

    @post("/{token:str}/quality/actions/{action_id:int}", name="factory_quality_answer")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        action_id: FromPath[int],
    ) -> Response[Any]:
        """The factory's answer to one corrective action request, with its evidence photos."""
        form: FormMultiDict = await request.form()
        locale = _language(form_text(form, "lang"))
        i18n.set_locale(locale)
        if not _same_origin(request):
            return _bilingual(403, N_("This form was sent from another site."))

        async def action() -> Response[Any]:
            order = await _order(db_session, token)
            files = []
            for value in form.getall("photos", []):
                if isinstance(value, UploadFile) and value.filename:
                    data = await value.read()
                    if data:
                        files.append(photos.PhotoFile(data, value.filename))
            try:
                raw_version = form_text(form, "version")
                await actions.answer_action(
                    db_session,
                    order=order,
                    action_id=action_id,
                    data={
                        k: form_text(form, k)
                        for k in ("name", "root_cause", "action", "rework_done", "reworked_quantity")
                    },
                    files=files,
                    expected_version=int(raw_version) if raw_version.isdigit() else None,
                )
            except (links.Gone, NotFound):
                raise
            except DomainError as exc:
                await db_session.rollback()
                values = {k: v for k, v in form.items() if isinstance(v, str)}
                return await self._page(
                    db_session,
                    token,
                    locale=locale,
                    error=exc,
                    error_action=action_id,
                    values=values,
                    status_code=exc.status_code,
                )
            query = "?done=answered" + ("&lang=en" if locale == "en" else "")
            return Response(
                "",
                status_code=303,
                headers={**_headers(_csp(None)), "Location": f"{urls.production_quality(token)}{query}"},
            )

        return await self._guarded(request, action)

    async def _inspection(self, db: AsyncSession, token: str, inspection_id: int) -> Inspection:
        order = await _order(db, token)
        inspection = await db.scalar(
            select(Inspection).where(
                Inspection.id == inspection_id,
                Inspection.order_id == order.id,
                Inspection.status.in_(sorted(report.REPORTED)),
            )
        )
        if inspection is None:
            raise NotFound(N_("This inspection does not exist or you do not have access to it."))
        return inspection

    @get("/{token:str}/quality/inspections/{inspection_id:int}", name="factory_quality_report")
    async def report_page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        inspection_id: FromPath[int],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        """One inspection report, Chinese first."""

        async def action() -> Response[Any]:
            locale = _language(lang)
            i18n.set_locale(locale)
            inspection = await self._inspection(db_session, token, inspection_id)
            built = await report.build_report(db_session, inspection)
            base = urls.production_quality(token)
            html = report.render_html(
                built,
                mode="web",
                languages=_languages(locale),
                photo_src=lambda p: f"{base}/photos/{p.id}/image",
            )
            return page(html)

        return await self._guarded(request, action)

    @get("/{token:str}/quality/inspections/{inspection_id:int}/report.pdf", name="factory_quality_pdf")
    async def report_pdf(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        inspection_id: FromPath[int],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        async def action() -> Response[Any]:
            locale = _language(lang)
            inspection = await self._inspection(db_session, token, inspection_id)
            built = await report.build_report(db_session, inspection)
            data = await report.render_pdf(built, languages=_languages(locale))
            return Response(
                data,
                media_type="application/pdf",
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(f"{inspection.reference}.pdf"),
                },
            )

        return await self._guarded(request, action)

    @get("/{token:str}/quality/photos/{photo_id:int}/image", name="factory_quality_photo")
    async def photo(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        photo_id: FromPath[int],
    ) -> Response[Any]:
        """A quality photo of the link's order (no other order's)."""

        async def action() -> Response[Any]:
            order = await _order(db_session, token)
            found = await photos.read_photo(db_session, photo_id, order_id=order.id, thumbnail=True)
            if found is None:
                return _bilingual(404, N_("This photo does not exist or you do not have access to it."))
            key, content_type, name = found
            data = await get_storage().read(key, max_bytes=30_000_000)
            return Response(
                data,
                media_type=content_type,
                headers={
                    **_headers(_csp(None)),
                    "Content-Disposition": content_disposition(name, inline=True),
                },
            )

        return await self._guarded(request, action)
