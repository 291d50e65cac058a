"""Coordinator pages for suppliers: the directory (search, filters, performance, create, edit, archive) and supplier
selection per project (request quotes, record them, compare landed costs, select one with a reason).

Server-rendered under /coordinator, staff only, like every coordinator page (backoffice.access). Every change goes through makeready.suppliers.service; a refused change re-shows the form with the message
(the request's transaction is rolled back, so nothing is half-written).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException

from backoffice.access import Staff, provide_staff
from backoffice.form_values import form_text, required_version
from backoffice.params import PageNumber
from makeready.db.types import utcnow
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import _
from makeready.metrics import report as metrics_report
from makeready.quality.tracker import first_pass_yield
from makeready.samples import supplier_record
from makeready.suppliers import service as suppliers
from makeready.suppliers.display import format_rate, format_unit_money
from makeready.suppliers.models import QuoteStatus, Supplier

PAGE_SIZE = 25
TEMPLATES = "backoffice/suppliers"
TEXT_FIELDS = (
    "name_en",
    "name_zh",
    "city",
    "province",
    "contact_name",
    "contact_email",
    "contact_phone",
    "notes",
)
BLANK_BREAK_ROWS = 3


# -- the generic admin (piccolo-admin) ---------------------------------------------------------------------------


async def refuse_referenced_delete(piccolo_crud: Any, request: Any) -> None:
    """piccolo_api validator for DELETE /admin/api/tables/suppliers/<id>/: a supplier that quotes, sample rounds or
    a project selection refer to cannot be deleted (the database would refuse too, with a less helpful error)."""
    try:
        row_id = int(request.path_params.get("row_id"))
    except (TypeError, ValueError):
        return
    rows = await piccolo_crud.table.raw(
        "SELECT (SELECT COUNT(*) FROM quotes WHERE supplier_id = {}) AS quotes, "
        "(SELECT COUNT(*) FROM sample_rounds WHERE supplier_id = {}) AS rounds, "
        "(SELECT COUNT(*) FROM projects WHERE supplier_id = {}) AS projects",
        row_id,
        row_id,
        row_id,
    ).run()
    counts = rows[0] if rows else {}
    if any(counts.get(key) for key in ("quotes", "rounds", "projects")):
        raise HTTPException(status_code=409, detail=DELETE_REFUSED)


DELETE_REFUSED = (
    "Quotes, sample rounds or a project's selection refer to this supplier, and their history must stay readable: "
    "archive it instead (set archived_at, or use Archive on its page under /coordinator/suppliers)."
)
BULK_DELETE_REFUSED = "Delete suppliers one at a time, so that each is checked for quotes and sample rounds."


# -- the coordinator pages -------------------------------------------------------------------------------------


def _notice(code: str) -> str | None:
    return {
        "created": _("The supplier was added to the directory."),
        "saved": _("Your changes were saved."),
        "archived": _(
            "The supplier was archived. It stays in past projects but is no longer asked for quotes."
        ),
        "restored": _("The supplier was restored to the directory."),
        "deleted": _("The supplier was deleted."),
        "requested": _("The quote requests were recorded."),
        "recorded": _("The quote was recorded."),
        "declined": _("The quote was declined."),
        "selected": _("The supplier was selected for this project."),
    }.get(code)


def _all(form: FormMultiDict, key: str) -> list[str]:
    """Every value sent for `key` (several checkboxes, rows of a table); none is an empty list."""
    return [value for value in form.getall(key, []) if isinstance(value, str)]


def _helpers() -> dict[str, Any]:
    return {"unit_money": format_unit_money, "rate": format_rate, "statuses": QuoteStatus}


# -- supplier form values ------------------------------------------------------------------------------------------


def _values_of(supplier: Supplier | None) -> dict[str, str]:
    """The form's fields for a supplier (empty for a new one), as the inputs show them."""
    values = {key: (getattr(supplier, key) or "") if supplier else "" for key in TEXT_FIELDS}
    for key in suppliers.TAG_FIELDS:
        values[key] = "\n".join(getattr(supplier, key) or []) if supplier else ""
    moq = supplier.min_order_quantity if supplier else None
    values["min_order_quantity"] = str(moq) if moq is not None else ""
    capacity = supplier.weekly_capacity if supplier else None
    values["weekly_capacity"] = str(capacity) if capacity is not None else ""
    return values


def _values_from(form: FormMultiDict) -> dict[str, str]:
    return {
        key: form_text(form, key)
        for key in (*TEXT_FIELDS, *suppliers.TAG_FIELDS, "min_order_quantity", "weekly_capacity")
    }


def _shown(key: str, value: Any) -> str:
    """A field's value as one line, to compare the caller's input with the stored one."""
    if key in suppliers.TAG_FIELDS:
        tags = suppliers.parse_tags(value) if isinstance(value, str) else list(value or [])
        return ", ".join(tags)
    if value is None:
        return ""
    return " ".join(str(value).split()) if key != "notes" else str(value).strip()


def _differences(current: Mapping[str, Any], submitted: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    for key in suppliers.EDITABLE_FIELDS:
        theirs, yours = _shown(key, current.get(key)), _shown(key, submitted.get(key, ""))
        if theirs != yours:
            rows.append({"label": suppliers.field_label(key), "current": theirs, "yours": yours})
    return rows


class SupplierPages(Controller):
    """The supplier directory and supplier selection, for coordinators."""

    path = "/coordinator"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    # -- the directory -------------------------------------------------------------------------------------------

    @get("/suppliers", name="suppliers")
    async def directory(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        q: FromQuery[str] = "",
        province: FromQuery[str] = "",
        capability: FromQuery[str] = "",
        certification: FromQuery[str] = "",
        archived: FromQuery[bool] = False,
        notice: FromQuery[str] = "",
        page: PageNumber = 1,
    ) -> Template:
        """Suppliers with names in English and Chinese, where they are, what they do, and how they performed."""
        filters = suppliers.SupplierFilters(
            q=q, province=province, capability=capability, certification=certification, archived=archived
        )
        rows, total = await suppliers.list_suppliers(
            db, filters=filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        performance = await supplier_record.supplier_performance(db, [s.id for s in rows])
        facets = await suppliers.directory_facets(db)
        return Template(
            f"{TEMPLATES}/list.html",
            context={
                "user": staff,
                "rows": [(s, performance[s.id]) for s in rows],
                "filters": filters,
                "facets": facets,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "notice": _notice(notice),
                **_helpers(),
            },
        )

    @get("/suppliers/new", name="supplier_new")
    async def new_form(self, staff: NamedDependency[Staff]) -> Template:
        return self._form(staff, None, _values_of(None))

    @post("/suppliers", name="supplier_create")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        form = await request.form()
        values = _values_from(form)
        allow_missing_zh = bool(form_text(form, "allow_missing_zh"))
        try:
            supplier = await suppliers.create_supplier(
                db, actor=staff.user, data=values, allow_missing_zh=allow_missing_zh
            )
        except ValidationFailed as exc:
            return self._form(staff, None, values, error=exc, allow_missing_zh=allow_missing_zh)
        return Redirect(f"/coordinator/suppliers/{supplier.id}?notice=created", status_code=303)

    @get("/suppliers/{supplier_id:int}", name="supplier")
    async def detail(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier_id: FromPath[int],
        notice: FromQuery[str] = "",
    ) -> Template:
        return await self._detail(db, staff, supplier_id, notice=_notice(notice))

    @get("/suppliers/{supplier_id:int}/edit", name="supplier_edit")
    async def edit_form(
        self, db: NamedDependency[AsyncSession], staff: NamedDependency[Staff], supplier_id: FromPath[int]
    ) -> Template:
        supplier = await suppliers.get_supplier(db, supplier_id)
        return self._form(staff, supplier, _values_of(supplier), version=supplier.version)

    @post("/suppliers/{supplier_id:int}/edit", name="supplier_update")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        values = _values_from(form)
        allow_missing_zh = bool(form_text(form, "allow_missing_zh"))
        supplier = await suppliers.get_supplier(db, supplier_id)
        try:
            await suppliers.update_supplier(
                db,
                actor=staff.user,
                supplier_id=supplier_id,
                expected_version=required_version(form),
                changes=values,
                allow_missing_zh=allow_missing_zh,
            )
        except Conflict as exc:
            # keep what they typed, show what is stored now, and let them save again knowingly
            return self._form(
                staff,
                supplier,
                values,
                error=exc,
                version=supplier.version,
                conflict=_differences(suppliers.snapshot(supplier), values),
                allow_missing_zh=allow_missing_zh,
            )
        except ValidationFailed as exc:
            return self._form(
                staff,
                supplier,
                values,
                error=exc,
                version=form_text(form, "version"),
                allow_missing_zh=allow_missing_zh,
            )
        return Redirect(f"/coordinator/suppliers/{supplier_id}?notice=saved", status_code=303)

    @post("/suppliers/{supplier_id:int}/archive", name="supplier_archive")
    async def archive(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await suppliers.archive_supplier(
                db,
                actor=staff.user,
                supplier_id=supplier_id,
                expected_version=required_version(form),
                reason=form_text(form, "reason"),
            )
        except (Conflict, ValidationFailed) as exc:
            return await self._detail(db, staff, supplier_id, error=exc)
        return Redirect(f"/coordinator/suppliers/{supplier_id}?notice=archived", status_code=303)

    @post("/suppliers/{supplier_id:int}/restore", name="supplier_restore")
    async def restore(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await suppliers.restore_supplier(
                db, actor=staff.user, supplier_id=supplier_id, expected_version=required_version(form)
            )
        except (Conflict, ValidationFailed) as exc:
            return await self._detail(db, staff, supplier_id, error=exc)
        return Redirect(f"/coordinator/suppliers/{supplier_id}?notice=restored", status_code=303)

    @post("/suppliers/{supplier_id:int}/delete", name="supplier_delete")
    async def delete(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        supplier_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await suppliers.delete_supplier(
                db, actor=staff.user, supplier_id=supplier_id, expected_version=required_version(form)
            )
        except (Conflict, ValidationFailed) as exc:
            return await self._detail(db, staff, supplier_id, error=exc)
        return Redirect("/coordinator/suppliers?notice=deleted", status_code=303)

    # -- supplier selection --------------------------------------------------------------------------------------

    @get("/projects/{project_id:int}/quotes", name="project_quotes")
    async def quotes(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        quantity: Annotated[int | None, Parameter(ge=1, le=suppliers.MAX_QUANTITY)] = None,
        notice: FromQuery[str] = "",
    ) -> Template:
        """The project's quotes side by side, with the forms to request, select and decline them."""
        return await self._quotes(db, staff, project_id, quantity=quantity, notice=_notice(notice))

    @post("/projects/{project_id:int}/quotes/request", name="project_quotes_request")
    async def request_quotes(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            ids = [int(value) for value in _all(form, "supplier_id")]
        except ValueError:
            ids = []
        try:
            await suppliers.request_quotes(db, actor=staff.user, project_id=project_id, supplier_ids=ids)
        except (Conflict, ValidationFailed) as exc:
            return await self._quotes(db, staff, project_id, error=exc)
        return Redirect(f"/coordinator/projects/{project_id}/quotes?notice=requested", status_code=303)

    @post("/projects/{project_id:int}/quotes/select", name="project_quotes_select")
    async def select(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        reason = form_text(form, "reason")
        decline_others = bool(form_text(form, "decline_others"))
        chosen = form_text(form, "quote_id")
        try:
            if not chosen.isdigit():
                raise ValidationFailed(_("Choose the quote to select."), field="quote_id")
            await suppliers.select_supplier(
                db,
                actor=staff.user,
                project_id=project_id,
                quote_id=int(chosen),
                reason=reason,
                decline_others=decline_others,
            )
        except (Conflict, ValidationFailed) as exc:
            return await self._quotes(
                db,
                staff,
                project_id,
                error=exc,
                selection={"quote_id": chosen, "reason": reason, "decline_others": decline_others},
            )
        return Redirect(f"/coordinator/projects/{project_id}/quotes?notice=selected", status_code=303)

    @get("/projects/{project_id:int}/quotes/{quote_id:int}", name="project_quote")
    async def quote_form(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        quote_id: FromPath[int],
    ) -> Template:
        """The form to enter what a supplier quoted."""
        project = await suppliers.get_project(db, project_id)
        quote = await suppliers.get_quote(db, project_id=project_id, quote_id=quote_id)
        values = {
            "breaks": [
                (str(b.get("quantity", "")), str(b.get("unit_price", ""))) for b in quote.price_breaks or []
            ],
            "tooling_cost": "" if quote.tooling_cost is None else str(quote.tooling_cost),
            "lead_time_days": "" if quote.lead_time_days is None else str(quote.lead_time_days),
            "min_order_quantity": "" if quote.min_order_quantity is None else str(quote.min_order_quantity),
            "currency": quote.currency or project.currency,
            "notes": quote.notes,
            "version": str(quote.version),
        }
        return self._quote_form(staff, project, quote, values)

    @post("/projects/{project_id:int}/quotes/{quote_id:int}", name="project_quote_record")
    async def record(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        quote_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        quantities = _all(form, "break_quantity")
        prices = _all(form, "break_price")
        width = max(len(quantities), len(prices))
        breaks = [
            (quantities[i] if i < len(quantities) else "", prices[i] if i < len(prices) else "")
            for i in range(width)
        ]
        fields = {
            key: form_text(form, key)
            for key in (
                "tooling_cost",
                "lead_time_days",
                "min_order_quantity",
                "currency",
                "notes",
                "version",
            )
        }
        values: dict[str, Any] = {"breaks": breaks, **fields}
        try:
            await suppliers.record_quote(
                db,
                actor=staff.user,
                project_id=project_id,
                quote_id=quote_id,
                expected_version=required_version(form),
                price_breaks=breaks,
                tooling_cost=fields["tooling_cost"],
                lead_time_days=fields["lead_time_days"],
                min_order_quantity=fields["min_order_quantity"],
                currency=fields["currency"],
                notes=fields["notes"],
            )
        except (Conflict, ValidationFailed) as exc:
            project = await suppliers.get_project(db, project_id)
            quote = await suppliers.get_quote(db, project_id=project_id, quote_id=quote_id)
            return self._quote_form(staff, project, quote, values, error=exc)
        return Redirect(f"/coordinator/projects/{project_id}/quotes?notice=recorded", status_code=303)

    @post("/projects/{project_id:int}/quotes/{quote_id:int}/decline", name="project_quote_decline")
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        quote_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await suppliers.decline_quote(
                db,
                actor=staff.user,
                project_id=project_id,
                quote_id=quote_id,
                expected_version=required_version(form),
                reason=form_text(form, "reason"),
            )
        except (Conflict, ValidationFailed) as exc:
            return await self._quotes(db, staff, project_id, error=exc)
        return Redirect(f"/coordinator/projects/{project_id}/quotes?notice=declined", status_code=303)

    # -- rendering -----------------------------------------------------------------------------------------------

    @staticmethod
    def _status(error: Exception | None) -> int:
        if isinstance(error, Conflict | ValidationFailed):
            return error.status_code
        return 200

    def _form(
        self,
        staff: Any,
        supplier: Supplier | None,
        values: Mapping[str, str],
        *,
        error: ValidationFailed | Conflict | None = None,
        version: int | str | None = None,
        conflict: list[dict[str, str]] | None = None,
        allow_missing_zh: bool = False,
    ) -> Template:
        return Template(
            f"{TEMPLATES}/form.html",
            context={
                "user": staff,
                "supplier": supplier,
                "values": values,
                "error": error.message if error else None,
                "error_field": error.extra.get("field") if error else None,
                "ask_zh": isinstance(error, suppliers.ChineseNameMissing) or allow_missing_zh,
                "allow_missing_zh": allow_missing_zh,
                "version": version,
                "conflict": conflict or [],
                "field_label": suppliers.field_label,
            },
            status_code=self._status(error),
        )

    async def _detail(
        self,
        db: AsyncSession,
        staff: Any,
        supplier_id: int,
        *,
        notice: str | None = None,
        error: ValidationFailed | Conflict | None = None,
    ) -> Template:
        supplier = await suppliers.get_supplier(db, supplier_id)
        performance = (await supplier_record.supplier_performance(db, [supplier.id]))[supplier.id]
        references = await suppliers.supplier_references(db, supplier.id)
        inspection_yield = next(iter(await first_pass_yield(db, [supplier.id])), None)
        return Template(
            f"{TEMPLATES}/detail.html",
            context={
                "user": staff,
                "supplier": supplier,
                "perf": performance,
                "inspection_yield": inspection_yield,
                "references": references,
                "scorecard": await metrics_report.scorecard(db, supplier.id, today=utcnow().date()),
                "notice": notice,
                "error": error.message if error else None,
                **_helpers(),
            },
            status_code=self._status(error),
        )

    async def _quotes(
        self,
        db: AsyncSession,
        staff: Any,
        project_id: int,
        *,
        quantity: int | None = None,
        notice: str | None = None,
        error: ValidationFailed | Conflict | None = None,
        selection: Mapping[str, Any] | None = None,
    ) -> Template:
        comparison = await suppliers.compare_quotes(db, project_id=project_id, quantity=quantity)
        available = await suppliers.requestable_suppliers(db, project_id)
        return Template(
            f"{TEMPLATES}/quotes.html",
            context={
                "user": staff,
                "project": comparison.project,
                "comparison": comparison,
                "selected_supplier": next(
                    (r.quote.supplier for r in comparison.rows if r.quote.status == QuoteStatus.selected),
                    None,
                ),
                "available": available,
                "notice": notice,
                "error": error.message if error else None,
                "error_field": error.extra.get("field") if error else None,
                "selection": selection or {},
                **_helpers(),
            },
            status_code=self._status(error),
        )

    def _quote_form(
        self,
        staff: Any,
        project: Any,
        quote: Any,
        values: Mapping[str, Any],
        *,
        error: ValidationFailed | Conflict | None = None,
    ) -> Template:
        breaks = list(values["breaks"])
        breaks += [("", "")] * BLANK_BREAK_ROWS
        return Template(
            f"{TEMPLATES}/quote_form.html",
            context={
                "user": staff,
                "project": project,
                "quote": quote,
                "values": values,
                "breaks": breaks,
                "editable": quote.status in (QuoteStatus.requested, QuoteStatus.received),
                "error": error.message if error else None,
                "error_field": error.extra.get("field") if error else None,
            },
            status_code=self._status(error),
        )
