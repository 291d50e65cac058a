"""Coordinator pages for production: a project's orders (/coordinator/projects/{id}/production), one order's page
(terms, lots, tooling, the factory's link and proposal, the time-and-action plan, progress reports with photos),
the master production schedule and the live production board (/coordinator/production/...).

Every change goes through makeready.production's services; a refused form shows the page again with the message
next to the form (the request's transaction rolled back, nothing half-written), and each form carries the version
of the record it was drawn from, so acting on a stale page is a conflict, not an overwrite. The production link's
token is shown once, on the response to the POST that made it (only its hash is stored). Staff only: the portal
mounts these pages behind its coordinator guard (backoffice.access).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backoffice.access import (
    Failed,
    Staff,
    act_on_form,
    failed_form,
    provide_staff,
    refused_page,
    typed_values,
)
from backoffice.form_values import form_text, required_version
from backoffice.params import MAX_ID, PageNumber
from backoffice.production_board import BoardFilters, load_production_board
from backoffice.production_queries import (
    FORM_FIELDS,
    LINKABLE,
    MAX_REPORT_PAGE,
    order_context,
    order_of_project,
    orders_context,
)
from backoffice.production_schedule import ScheduleFilters, load_schedule
from makeready import urls
from makeready.errors import Conflict, DomainError, NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.production import links as link_service
from makeready.production import lots as lot_service
from makeready.production import orders as order_service
from makeready.production import tooling as tooling_service
from makeready.production.common import LOT_NOT_FOUND, TOOLING_NOT_FOUND
from makeready.production.models import Lot, ProductionLink, ProductionPhoto, ToolingItem
from makeready.samples.photos import THUMBNAIL_TYPE, make_thumbnail
from makeready.settings import get_settings
from makeready.storage import get_storage
from makeready.storage.verify import KIND_RULES

ORDERS = "backoffice/production/orders.html"
ORDER = "backoffice/production/order.html"
# the response that shows a new token must not be cached or leak it in a Referer
SECRET_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_NOT_FOUND = N_("This production link does not exist.")
PHOTO_NOT_FOUND = N_("This photo does not exist or you do not have access to it.")
NOTICES = {
    "created": N_("The production order was created as a draft."),
    "saved": N_("Your changes to the order were saved."),
    "lot": N_("The lot was updated."),
    "tooling": N_("The tooling item was updated."),
    "revoked": N_("The production link was revoked: it answers “gone” from now on."),
    "order": N_("The order was updated."),
}
LOT_ACTIONS = ("resize", "reschedule", "start", "cancel")
TOOLING_ACTIONS = ("approve", "reject", "start")
ORDER_ACTIONS = ("agree", "decline", "reschedule", "override_tooling", "cancel", "close")
Id = Annotated[int, Parameter(ge=1, le=MAX_ID)]
ReportPage = Annotated[int, Parameter(ge=1, le=MAX_REPORT_PAGE)]


def _notice(done: str) -> str | None:
    return _(NOTICES[done]) if done in NOTICES else None


def order_url(project_id: int, order_id: int, *, done: str = "", anchor: str = "") -> str:
    url = urls.production_order(project_id, order_id)
    if done:
        url += f"?done={done}"
    return url + (f"#{anchor}" if anchor else "")


def link_url(token: str) -> str:
    return get_settings().app.base_url.rstrip("/") + urls.production_link(token)


async def _lot_of(db: AsyncSession, order_id: int, lot_id: int) -> Lot:
    lot = await db.scalar(select(Lot).where(Lot.id == lot_id, Lot.order_id == order_id))
    if lot is None:
        raise NotFound(_(LOT_NOT_FOUND))
    return lot


async def _tooling_of(db: AsyncSession, order_id: int, item_id: int) -> ToolingItem:
    item = await db.scalar(
        select(ToolingItem).where(ToolingItem.id == item_id, ToolingItem.order_id == order_id)
    )
    if item is None:
        raise NotFound(_(TOOLING_NOT_FOUND))
    return item


class ProductionPages(Controller):
    """A project's production orders and one order's page."""

    path = "/coordinator/projects/{project_id:int}/production"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", name="coordinator_production")
    async def orders(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str] = "",
    ) -> Template:
        """The project's production orders, and the form to create one from the selected quote."""
        context = await orders_context(db, staff, project_id, notice=_notice(done))
        return Template(ORDERS, context=context)

    @post("/", name="coordinator_production_create")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        """Create a draft order from the selected quote; a refusal lists what is missing."""
        form = await request.form()
        data = {key: form_text(form, key) for key in FORM_FIELDS}
        try:
            order = await order_service.create_order(db, actor=staff.user, project_id=project_id, data=data)
        except NotFound:
            raise
        except DomainError as exc:
            failed = Failed(
                key="create",
                message=exc.message,
                values=typed_values(form, exc),
                errors={str(exc.extra["field"]): exc.message} if exc.extra.get("field") else {},
                missing=list(exc.extra.get("missing") or []),
            )

            async def page(staff: Staff) -> Template:
                return Template(ORDERS, context=await orders_context(db, staff, project_id, failed=failed))

            return await refused_page(db, staff, page, status_code=exc.status_code)
        return Redirect(order_url(project_id, order.id, done="created"), status_code=303)

    @get("/{order_id:int}", name="coordinator_production_order")
    async def order(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
        done: FromQuery[str] = "",
        lot: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        page: ReportPage = 1,
    ) -> Template:
        """One order: its terms, lots, tooling, link, plan, and a lot's progress reports (newest first)."""
        context = await order_context(
            db, staff, project_id, order_id, lot_id=lot, page=page, notice=_notice(done)
        )
        return Template(ORDER, context=context)

    async def _act(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        staff: Staff,
        project_id: int,
        order_id: int,
        *,
        key: str,
        done: str,
        action: Callable[[FormMultiDict], Awaitable[Any]],
    ) -> Template | Redirect:
        """Run one service call; on success back to the order (post/redirect/get), on a refusal the order's page
        again with the message at the form named `key`, nothing of the attempt kept."""

        async def page(staff: Staff, failed: Failed) -> Template:
            return Template(
                ORDER, context=await order_context(db, staff, project_id, order_id, failed=failed)
            )

        return await act_on_form(
            request,
            db,
            staff,
            key=key,
            check=lambda: order_of_project(db, project_id, order_id),
            write=action,
            done_url=order_url(project_id, order_id, done=done, anchor=key),
            page=page,
        )

    async def _refused(
        self,
        db: AsyncSession,
        staff: Staff,
        project_id: int,
        order_id: int,
        key: str,
        exc: DomainError,
        form: FormMultiDict,
    ) -> Template:
        """The order's page again after a refusal of a form whose success is not a redirect (send, link)."""
        failed = failed_form(key, form, exc)

        async def page(staff: Staff) -> Template:
            return Template(
                ORDER, context=await order_context(db, staff, project_id, order_id, failed=failed)
            )

        return await refused_page(db, staff, page, status_code=exc.status_code)

    @post("/{order_id:int}/edit", name="coordinator_production_edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """Edit the order's terms until it is sent (a stale form is a conflict)."""

        async def action(form: FormMultiDict) -> Any:
            return await order_service.update_order(
                db,
                actor=staff.user,
                order_id=order_id,
                data={key: form_text(form, key) for key in FORM_FIELDS},
                expected_version=required_version(form),
            )

        return await self._act(
            request, db, staff, project_id, order_id, key="terms", done="saved", action=action
        )

    @post("/{order_id:int}/lots", name="coordinator_production_lot_add")
    async def add_lot(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """A new lot: quantity and planned dates; the lots never hold more than the order."""

        async def action(form: FormMultiDict) -> Any:
            data = {key: form_text(form, key) for key in ("quantity", "planned_start", "planned_end")}
            return await lot_service.add_lot(db, actor=staff.user, order_id=order_id, data=data)

        return await self._act(
            request, db, staff, project_id, order_id, key="lots", done="lot", action=action
        )

    @post("/{order_id:int}/lots/{lot_id:int}", name="coordinator_production_lot")
    async def lot(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
        lot_id: FromPath[int],
    ) -> Template | Redirect:
        """Resize, reschedule (with a reason), start (with an optional override reason) or cancel a lot."""

        async def action(form: FormMultiDict) -> Any:
            lot = await _lot_of(db, order_id, lot_id)
            chosen = form_text(form, "action")
            version = required_version(form)
            if chosen == "resize":
                return await lot_service.resize_lot(
                    db,
                    actor=staff.user,
                    lot_id=lot.id,
                    quantity=form_text(form, "quantity"),
                    expected_version=version,
                )
            if chosen == "reschedule":
                return await lot_service.reschedule_lot(
                    db,
                    actor=staff.user,
                    lot_id=lot.id,
                    data={key: form_text(form, key) for key in ("planned_start", "planned_end")},
                    reason=form_text(form, "reason"),
                    expected_version=version,
                )
            if chosen == "start":
                return await lot_service.start_lot(
                    db,
                    actor=staff.user,
                    lot_id=lot.id,
                    override_reason=form_text(form, "override_reason"),
                    expected_version=version,
                )
            if chosen == "cancel":
                return await lot_service.cancel_lot(
                    db,
                    actor=staff.user,
                    lot_id=lot.id,
                    reason=form_text(form, "reason"),
                    expected_version=version,
                )
            raise ValidationFailed(_("Choose resize, reschedule, start or cancel."), field="action")

        return await self._act(
            request, db, staff, project_id, order_id, key=f"lot-{lot_id}", done="lot", action=action
        )

    @post("/{order_id:int}/tooling", name="coordinator_production_tooling_add")
    async def add_tooling(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """A mold, jig, fixture or test rig the order needs."""

        async def action(form: FormMultiDict) -> Any:
            data = {key: form_text(form, key) for key in ("kind", "name", "due_date", "owner_id")}
            if data["owner_id"] and not data["owner_id"].isdigit():
                raise ValidationFailed(_("The owner must be an agency coordinator."), field="owner_id")
            return await tooling_service.add_tooling(db, actor=staff.user, order_id=order_id, data=data)

        return await self._act(
            request, db, staff, project_id, order_id, key="tooling", done="tooling", action=action
        )

    @post("/{order_id:int}/tooling/{item_id:int}", name="coordinator_production_tooling")
    async def tooling(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
        item_id: FromPath[int],
    ) -> Template | Redirect:
        """Approve a trial, reject it with a reason, or start (retry) the item."""

        async def action(form: FormMultiDict) -> Any:
            item = await _tooling_of(db, order_id, item_id)
            chosen = form_text(form, "action")
            if chosen not in TOOLING_ACTIONS:
                raise ValidationFailed(_("Choose approve or reject."), field="action")
            return await tooling_service.decide_tooling(
                db,
                actor=staff.user,
                item_id=item.id,
                decision=chosen,
                reason=form_text(form, "reason"),
                expected_version=required_version(form),
            )

        return await self._act(
            request, db, staff, project_id, order_id, key=f"tooling-{item_id}", done="tooling", action=action
        )

    @post("/{order_id:int}/send", name="coordinator_production_send")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template:
        """Send the confirmed order to its factory; the response shows the production link once."""
        form = await request.form()
        try:
            await order_of_project(db, project_id, order_id)
            _order, token = await order_service.send_order(
                db, actor=staff.user, order_id=order_id, expected_version=required_version(form)
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, staff, project_id, order_id, "send", exc, form)
        return await self._show_link(db, staff, project_id, order_id, token)

    @post("/{order_id:int}/link", name="coordinator_production_link")
    async def link(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """A new production link (the live one is revoked; the new one is shown once), or revoke one."""
        form = await request.form()
        chosen = form_text(form, "action")
        try:
            order = await order_of_project(db, project_id, order_id)
            if chosen == "new":
                if order.status not in LINKABLE:
                    raise Conflict(
                        _("A production link is made for an order sent to its factory and not yet shipped.")
                    )
                token = await order_service.open_link(db, order, actor=staff.user)
            elif chosen == "revoke":
                link_id = form_text(form, "link_id")
                link = await db.scalar(
                    select(ProductionLink).where(
                        ProductionLink.id == (int(link_id) if link_id.isdigit() else 0),
                        ProductionLink.order_id == order.id,
                    )
                )
                if link is None:
                    raise NotFound(_(LINK_NOT_FOUND))
                await link_service.revoke(db, link, actor=staff.user)
            else:
                raise ValidationFailed(_("Choose a new link or revoke."), field="action")
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, staff, project_id, order_id, "link", exc, form)
        if chosen == "revoke":
            return Redirect(order_url(project_id, order_id, done="revoked", anchor="link"), status_code=303)
        return await self._show_link(db, staff, project_id, order_id, token)

    async def _show_link(
        self, db: AsyncSession, staff: Staff, project_id: int, order_id: int, token: str
    ) -> Template:
        new_link = {"url": link_url(token)}
        context = await order_context(db, staff, project_id, order_id, new_link=new_link)
        return Template(ORDER, context=context, headers=SECRET_HEADERS)

    @post("/{order_id:int}/order", name="coordinator_production_order_action")
    async def order_action(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        order_id: FromPath[int],
    ) -> Template | Redirect:
        """Agree to or decline the factory's date, move the ex-factory date, override tooling, cancel, close."""
        form = await request.form()
        chosen = form_text(form, "action")
        key = chosen if chosen in ORDER_ACTIONS else "order"

        async def action(form: FormMultiDict) -> Any:
            version = required_version(form)
            reason = form_text(form, "reason")
            common: dict[str, Any] = {"actor": staff.user, "order_id": order_id, "expected_version": version}
            if chosen == "agree":
                return await order_service.agree_to_proposal(db, **common)
            if chosen == "decline":
                return await order_service.decline_proposal(db, reason=reason, **common)
            if chosen == "reschedule":
                return await order_service.reschedule_order(
                    db, ex_factory_date=form_text(form, "ex_factory_date"), reason=reason, **common
                )
            if chosen == "override_tooling":
                return await order_service.override_tooling(db, reason=reason, **common)
            if chosen == "cancel":
                return await order_service.cancel_order(db, reason=reason, **common)
            if chosen == "close":
                return await order_service.close_order(db, **common)
            raise ValidationFailed(_("Choose an action for the order."), field="action")

        return await self._act(request, db, staff, project_id, order_id, key=key, done="order", action=action)


class ProductionOverview(Controller):
    """The master production schedule, the live production board, and the production photos they show."""

    path = "/coordinator/production"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/schedule", name="coordinator_production_schedule")
    async def schedule(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        coordinator: FromQuery[str | None] = None,
        client: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        factory: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        page: PageNumber = 1,
    ) -> Template:
        """Week by week for the next 16 weeks: planned and reported output per factory and order, against each
        factory's weekly capacity."""
        filters = ScheduleFilters(
            coordinator=_coordinator(coordinator, staff), client=client, factory=factory
        )
        schedule = await load_schedule(db, filters, page=page)
        return Template("backoffice/production/schedule.html", context={"user": staff, "schedule": schedule})

    @get("/board", name="coordinator_production_board")
    async def board(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        coordinator: FromQuery[str | None] = None,
        client: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        factory: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        page: PageNumber = 1,
    ) -> Template:
        """A job card per lot, in the column of where it is: planned to shipped, with holds and shortages."""
        filters = BoardFilters(coordinator=_coordinator(coordinator, staff), client=client, factory=factory)
        board = await load_production_board(db, filters, page=page)
        return Template("backoffice/production/board.html", context={"user": staff, "board": board})

    @get(
        "/photos/{production_photo_id:int}/thumbnail",
        name="coordinator_production_photo_thumbnail",
        media_type="image/jpeg",
    )
    async def thumbnail(
        self, db: NamedDependency[AsyncSession], production_photo_id: FromPath[int]
    ) -> Response[bytes]:
        """A production photo's thumbnail (made from the photo when none was stored at upload)."""
        photo = await _photo(db, production_photo_id)
        storage = get_storage()
        if photo.thumbnail_key:
            data = await storage.read(photo.thumbnail_key, max_bytes=KIND_RULES["image"].max_size)
        else:
            data = make_thumbnail(
                await storage.read(photo.attachment.object_key, max_bytes=KIND_RULES["image"].max_size)
            )
        return Response(content=data, media_type=THUMBNAIL_TYPE, headers=_photo_headers())

    @get(
        "/photos/{production_photo_id:int}/image", name="coordinator_production_photo_image", status_code=302
    )
    async def image(self, db: NamedDependency[AsyncSession], production_photo_id: FromPath[int]) -> Redirect:
        """The full photo: a redirect to a short-lived link."""
        photo = await _photo(db, production_photo_id)
        attachment = photo.attachment
        url = get_storage().download_url(
            attachment.object_key,
            filename=attachment.original_name,
            content_type=attachment.content_type,
            inline=True,
        )
        return Redirect(url, status_code=302, headers={"cache-control": "no-store"})


async def _photo(db: AsyncSession, photo_id: int) -> ProductionPhoto:
    photo = await db.scalar(
        select(ProductionPhoto)
        .where(ProductionPhoto.id == photo_id)
        .options(joinedload(ProductionPhoto.attachment))
    )
    if photo is None:
        raise NotFound(_(PHOTO_NOT_FOUND))
    return photo


def _photo_headers() -> dict[str, str]:
    return {
        "cache-control": "private, max-age=86400",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }


def _coordinator(value: str | None, staff: Staff) -> int | None:
    """The coordinator filter: the caller by default, `all` for everyone, or a coordinator's id."""
    if value is None or not value.strip():
        return staff.user.id
    if value.strip() == "all":
        return None
    try:
        chosen = int(value)
    except ValueError:
        raise ValidationException(_("Choose a coordinator or all.")) from None
    if not 0 <= chosen <= MAX_ID:
        raise ValidationException(_("Choose a coordinator or all."))
    return chosen
