"""The factory's shipping pages on its production link (/p/<token>/...), Chinese first, without an account.

`GET /p/{token}/shipping`: each lot with the revision it is built to, its packing list, and whether it may ship:
"do not ship" until its shipment is released, then "released for shipment"; new revisions to acknowledge; the floor
deviation form. `GET|POST /p/{token}/packing/{lot_id}`: the lot's packing list (carton ranges, photos of a packed
carton and its label). `POST /p/{token}/shipping/revisions/{change_id}/acknowledge`, `POST /p/{token}/shipping/
deviations`. `?lang=en` speaks English.

The same guarantees as the spec link pages (portal/factory.py, whose response helpers this module uses): the token
is the credential (makeready.production.links: one order per token), no cookie, no script, `no-referrer`, a post
from another site refused, unknown tokens counted against the address, a refused form shown again with its
message and nothing of it kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from makeready.production.lots import lots_of
from makeready.production.models import Lot, ProductionOrder
from makeready.shipping import changes, packing
from makeready.shipping.models import ChangeStatus, Shipment, ShipmentLot, ShipmentStatus
from makeready.specs import document as spec_document
from makeready.specs.content import parse as parse_content
from makeready.specs.models import SpecRevision
from portal.factory import MISSES, _bilingual, _client, _csp, _headers, _same_origin, page

GONE = N_("This link has expired or was withdrawn. Ask your coordinator for a new one.")
UNKNOWN = N_("This link does not exist. Check that you copied all of it.")
LIMITED = N_("Too many wrong links were tried from your address. Try again later.")
RELEASED_STATES = frozenset({ShipmentStatus.released, ShipmentStatus.shipped, ShipmentStatus.delivered})
DONE = {
    "packing": N_("Your packing list was submitted. The coordinator checks it."),
    "acknowledged": N_("Thank you: the new revision is acknowledged."),
    "deviation": N_("The deviation was reported. The brand decides on it."),
}
BLANK_ROWS = 6


def _language(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "zh_Hans"


def _render(template: str, context: dict[str, Any]) -> str:
    return spec_document.environment().get_template(template).render(context)


async def shipping_view(db: AsyncSession, order: ProductionOrder) -> dict[str, Any]:
    """What the factory sees of its order's shipping: lots, revisions, packing lists, release state, changes."""
    lots = await lots_of(db, order.id)
    revision_ids = {lot.revision_id for lot in lots} | {order.revision_id}
    order_changes = await changes.changes_of_order(db, order.id)
    revision_ids |= {c.to_revision_id for c in order_changes}
    revisions = {
        r.id: r
        for r in (await db.scalars(select(SpecRevision).where(SpecRevision.id.in_(revision_ids)))).all()
    }
    shipped: dict[int, Shipment] = {}
    for shipment_lot, shipment in (
        await db.execute(
            select(ShipmentLot, Shipment)
            .join(Shipment, Shipment.id == ShipmentLot.shipment_id)
            .where(Shipment.order_id == order.id)
        )
    ).all():
        shipped[shipment_lot.lot_id] = shipment
    lists = await packing.packing_lists_of_order(db, order.id)
    return {
        "order": order,
        "lots": lots,
        "revisions": revisions,
        "lists": lists,
        "shipments": shipped,
        "released": {lot_id for lot_id, s in shipped.items() if s.status in RELEASED_STATES},
        "to_acknowledge": [c for c in order_changes if c.status == ChangeStatus.effective],
        "deviations": await changes.deviations_of_order(db, order.id),
        "difference_text": packing.difference_text,
    }


def _packaging_spec(revision: SpecRevision | None) -> list[Any]:
    if revision is None:
        return []
    try:
        return list(parse_content(revision.content).packaging)
    except ValueError:
        return []


class FactoryShippingPages(Controller):
    """The factory's packing lists, release state, revision acknowledgements and floor deviations."""

    path = "/p"
    include_in_schema = False
    opt = {"bell": False}

    async def _guarded(
        self, request: Request[Any, Any, Any], action: Callable[[], Awaitable[Response[Any]]]
    ) -> Response[Any]:
        address = _client(request)
        wait = MISSES.retry_after(address)
        if wait:
            return _bilingual(429, LIMITED, headers={"Retry-After": str(wait)})
        try:
            return await action()
        except links.Gone:
            return _bilingual(410, GONE)
        except NotFound:
            MISSES.miss(address)
            return _bilingual(404, UNKNOWN)

    async def _shipping_page(
        self,
        db: AsyncSession,
        token: str,
        *,
        locale: str,
        done: str = "",
        error: DomainError | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
        record_view: bool = True,
    ) -> Response[str]:
        i18n.set_locale(locale)
        _link, order = await links.open_link(db, token, record_view=record_view)
        context = await shipping_view(db, order)
        context.update(
            base=f"/p/{token}",
            page_url=urls.production_shipping(token),
            locale=locale,
            lang_query="?lang=en" if locale == "en" else "",
            notice=i18n.gettext(DONE[done]) if done in DONE else "",
            error=error,
            values=values or {},
        )
        return page(_render("factory/shipping/page.html", context), status_code=status_code)

    async def _packing_page(
        self,
        db: AsyncSession,
        token: str,
        lot_id: int,
        *,
        locale: str,
        error: DomainError | None = None,
        form: FormMultiDict | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        i18n.set_locale(locale)
        _link, order = await links.open_link(db, token, record_view=False)
        lot = await db.scalar(select(Lot).where(Lot.id == lot_id, Lot.order_id == order.id))
        if lot is None:
            raise NotFound(i18n.gettext(N_("This lot is not part of the order.")))
        revision = await db.get(SpecRevision, lot.revision_id)
        listed = await packing.packing_list_of(db, lot.id)
        rows: list[dict[str, Any]]
        if form is not None:
            rows = _rows(form)
            values = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            rows = [dict(r) for r in (listed.rows if listed else [])]
            values = {
                "marks": listed.marks if listed else "",
                "name": listed.submitted_name if listed else "",
                "difference_reason": listed.difference_reason if listed else "",
            }
        rows = rows + [{} for _ in range(max(BLANK_ROWS - len(rows), 2))]
        html = _render(
            "factory/shipping/packing.html",
            {
                "order": order,
                "lot": lot,
                "revision": revision,
                "spec": _packaging_spec(revision),
                "listed": listed,
                "rows": rows,
                "values": values,
                "error": error,
                "base": f"/p/{token}",
                "locale": locale,
                "lang_query": "?lang=en" if locale == "en" else "",
                "editable": listed is None or listed.status in packing.EDITABLE,
                "difference_text": packing.difference_text,
            },
        )
        return page(html, status_code=status_code)

    @get("/{token:str}/shipping", name="factory_shipping.page")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lang: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Response[Any]:
        """Each lot: its revision, its packing list, and "do not ship" or "released for shipment"."""

        async def action() -> Response[Any]:
            return await self._shipping_page(
                db_session, token, locale=_language(lang), done=done, record_view=not done
            )

        return await self._guarded(request, action)

    @get("/{token:str}/packing/{lot_id:int}", name="factory_shipping.packing")
    async def packing_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lot_id: FromPath[int],
        lang: FromQuery[str] = "",
    ) -> Response[Any]:
        """The lot's packing list form, with the spec's packing specification."""

        async def action() -> Response[Any]:
            return await self._packing_page(db_session, token, lot_id, locale=_language(lang))

        return await self._guarded(request, action)

    @post(
        "/{token:str}/packing/{lot_id:int}",
        name="factory_shipping.submit_packing",
        request_max_body_size=60_000_000,
    )
    async def submit_packing(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lot_id: FromPath[int],
    ) -> Response[Any]:
        """Submit the lot's packing list with the photos of a packed carton and its label."""
        form: FormMultiDict = await request.form()
        locale = _language(form_text(form, "lang"))
        i18n.set_locale(locale)
        if not _same_origin(request):
            return _bilingual(403, N_("This form was sent from another site."))

        async def action() -> Response[Any]:
            _link, order = await links.open_link(db_session, token, record_view=False)
            photos = []
            for kind in packing.PHOTO_KINDS:
                upload = form.get(f"photo_{kind}")
                if isinstance(upload, UploadFile) and upload.filename:
                    data = await upload.read()
                    if data:
                        photos.append(packing.PhotoFile(kind=kind, filename=upload.filename, data=data))
            try:
                await packing.submit_packing_list(
                    db_session,
                    order=order,
                    lot_id=lot_id,
                    rows=_rows(form),
                    marks=form_text(form, "marks"),
                    name=form_text(form, "name"),
                    difference_reason=form_text(form, "difference_reason"),
                    photos=photos,
                )
            except (links.Gone, NotFound):
                raise
            except DomainError as exc:
                await db_session.rollback()
                return await self._packing_page(
                    db_session,
                    token,
                    lot_id,
                    locale=locale,
                    error=exc,
                    form=form,
                    status_code=exc.status_code,
                )
            return _see_other(token, "packing", locale)

        return await self._guarded(request, action)

    async def _post(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        token: str,
        *,
        done: str,
        write: Callable[[ProductionOrder, FormMultiDict], Awaitable[Any]],
    ) -> Response[Any]:
        form: FormMultiDict = await request.form()
        locale = _language(form_text(form, "lang"))
        i18n.set_locale(locale)
        if not _same_origin(request):
            return _bilingual(403, N_("This form was sent from another site."))

        async def action() -> Response[Any]:
            _link, order = await links.open_link(db, token, record_view=False)
            try:
                await write(order, form)
            except (links.Gone, NotFound):
                raise
            except DomainError as exc:
                await db.rollback()
                values = {k: v for k, v in form.items() if isinstance(v, str)}
                return await self._shipping_page(
                    db,
                    token,
                    locale=locale,
                    error=exc,
                    values=values,
                    status_code=exc.status_code,
                    record_view=False,
                )
            return _see_other(token, done, locale)

        return await self._guarded(request, action)

    @post("/{token:str}/shipping/revisions/{change_id:int}/acknowledge", name="factory_shipping.acknowledge")
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        change_id: FromPath[int],
    ) -> Response[Any]:
        """The factory acknowledges a new revision for the lots it applies to: their hold is lifted."""

        async def write(order: ProductionOrder, form: FormMultiDict) -> None:
            await changes.acknowledge_revision(
                db_session, order=order, change_id=change_id, name=form_text(form, "name")
            )

        return await self._post(request, db_session, token, done="acknowledged", write=write)

    @post("/{token:str}/shipping/deviations", name="factory_shipping.deviation")
    async def report_deviation(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[Any]:
        """A fix made on the floor without a revision: the brand decides on it."""

        async def write(order: ProductionOrder, form: FormMultiDict) -> None:
            await changes.report_deviation(
                db_session,
                order=order,
                lot_id=form_text(form, "lot_id"),
                description=form_text(form, "description"),
                name=form_text(form, "name"),
            )

        return await self._post(request, db_session, token, done="deviation", write=write)


def _rows(form: FormMultiDict) -> list[dict[str, Any]]:
    columns = [form.getall(name, []) for name in packing.ROW_FIELDS]
    count = max((len(c) for c in columns), default=0)
    rows = []
    for index in range(min(count, packing.MAX_ROWS + 1)):
        rows.append(
            {
                name: (column[index] if index < len(column) and isinstance(column[index], str) else "")
                for name, column in zip(packing.ROW_FIELDS, columns, strict=True)
            }
        )
    return rows


def _see_other(token: str, done: str, locale: str) -> Response[Any]:
    query = f"?done={done}" + ("&lang=en" if locale == "en" else "")
    return Response(
        "",
        status_code=303,
        headers={**_headers(_csp(None)), "Location": f"{urls.production_shipping(token)}{query}"},
    )
