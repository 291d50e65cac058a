"""Coordinator page for a project's factory links: /coordinator/projects/{project_id}/factory-links.

Send the current issued revision to a supplier (the new link is shown once, on the response to the POST, never in
a URL or a later page: only its hash is stored), the project's links with their views and acknowledgements, the
suppliers that have not opened the current revision, revoke, and the factories' questions with a version-checked
answer form. Staff only (backoffice.access); every change goes through makeready.factory_links,
and a refused form shows the page again with the message, nothing of the attempt kept.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.access import Failed, Staff, form_values, provide_staff, refused_page
from backoffice.form_values import form_text, page_after
from makeready import factory_links as factory
from makeready import urls
from makeready.accounts.models import User
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound, ValidationFailed
from makeready.i18n import N_, _
from makeready.projects.access import load_project
from makeready.settings import get_settings
from makeready.specs.service import current_issued
from makeready.suppliers.models import Supplier

TEMPLATE = "backoffice/factory/links.html"
NOTICES = {
    "revoked": N_("The link was revoked: it answers “gone” from now on."),
    "answered": N_(
        "Your answer was saved; the factory sees it on its link and the brand in the decision log."
    ),
}
# the response that shows a new token must not be cached or leak it in a Referer
SECRET_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def page_url(project_id: int, *, done: str = "", anchor: str = "") -> str:
    return page_after(urls.factory_links(project_id), done=done, anchor=anchor)


def _int(form: FormMultiDict, key: str) -> int:
    try:
        return int(form_text(form, key))
    except ValueError:
        raise ValidationFailed(
            _("The form is missing a value it needs (%(field)s). Reload the page and try again.")
            % {"field": key},
            field=key,
        ) from None


async def links_context(
    db: AsyncSession,
    staff: Staff,
    project_id: int,
    *,
    failed: Failed | None = None,
    new_link: dict[str, Any] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """Everything the page shows (a fixed number of statements, whatever the number of links)."""
    now = utcnow()
    project = await load_project(db, project_id)
    current = await current_issued(db, project.id)
    rows = await factory.links_of(db, project.id)
    suppliers = (
        await db.scalars(select(Supplier).where(Supplier.archived_at.is_(None)).order_by(Supplier.name_en))
    ).all()
    questions = await factory.questions_of(db, project.id)
    answerer_ids = {q.answered_by_id for q, _s in questions if q.answered_by_id}
    answerers = (
        {
            u.id: u.display_name
            for u in (await db.scalars(select(User).where(User.id.in_(answerer_ids)))).all()
        }
        if answerer_ids
        else {}
    )
    return {
        "user": staff,
        "project": project,
        "current": current,
        "rows": rows,
        "unopened": factory.unopened_suppliers_of(rows, current, now=now),
        "suppliers": suppliers,
        "questions": questions,
        "answerers": answerers,
        "now": now,
        "failed": failed,
        "new_link": new_link,
        "notice": notice,
        "default_days": factory.DEFAULT_DAYS,
        "max_days": factory.MAX_DAYS,
    }


class FactoryLinkPages(Controller):
    """Send, list, revoke and answer: one project's factory links."""

    path = "/coordinator/projects/{project_id:int}"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/factory-links", name="coordinator_factory_links")
    async def show(
        self,
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        done: FromQuery[str] = "",
    ) -> Template:
        """The project's factory links, who has not opened the current revision, and the factories' questions."""
        notice = _(NOTICES[done]) if done in NOTICES else None
        return Template(TEMPLATE, context=await links_context(db, staff, project_id, notice=notice))

    async def _refused(
        self, db: AsyncSession, staff: Staff, project_id: int, key: str, exc: DomainError, form: FormMultiDict
    ) -> Template:
        failed = Failed(key=key, message=exc.message, values=form_values(form))

        async def page(staff: Staff) -> Template:
            return Template(TEMPLATE, context=await links_context(db, staff, project_id, failed=failed))

        return await refused_page(db, staff, page, status_code=exc.status_code)

    @post("/factory-links", name="coordinator_factory_link_send")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
    ) -> Template:
        """Send the current issued revision to a supplier; the response shows the link once."""
        form = await request.form()
        try:
            project = await load_project(db, project_id)
            current = await current_issued(db, project.id)
            if current is None:
                raise ValidationFailed(
                    _("This project has no issued revision to send yet."), field="revision"
                )
            days_text = form_text(form, "expires_in_days") or str(factory.DEFAULT_DAYS)
            try:
                days = int(days_text)
            except ValueError:
                raise ValidationFailed(
                    _("A link expires after 1 to %(limit)s days.") % {"limit": factory.MAX_DAYS},
                    field="expires_in_days",
                ) from None
            link, token = await factory.send_link(
                db,
                actor=staff.user,
                revision_id=current.id,
                supplier_id=_int(form, "supplier_id"),
                expires_in_days=days,
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, staff, project_id, "send", exc, form)
        supplier = await db.get(Supplier, link.supplier_id)
        new_link = {
            "url": get_settings().app.base_url.rstrip("/") + urls.factory_link(token),
            "supplier": supplier,
            "label": current.label,
            "expires_at": link.expires_at,
        }
        context = await links_context(db, staff, project_id, new_link=new_link)
        return Template(TEMPLATE, context=context, headers=SECRET_HEADERS)

    @post("/factory-links/{link_id:int}/revoke", name="coordinator_factory_link_revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        link_id: FromPath[int],
    ) -> Template | Redirect:
        """Revoke one link of this project."""
        form = await request.form()
        try:
            rows = await factory.links_of(db, project_id)
            if link_id not in {row.link.id for row in rows}:
                raise NotFound(_(factory.LINK_NOT_FOUND))
            await factory.revoke_link(db, actor=staff.user, link_id=link_id)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, staff, project_id, f"link-{link_id}", exc, form)
        return Redirect(page_url(project_id, done="revoked", anchor="links"), status_code=303)

    @post("/factory-questions/{factory_question_id:int}/answer", name="coordinator_factory_question_answer")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        project_id: FromPath[int],
        factory_question_id: FromPath[int],
    ) -> Template | Redirect:
        """Answer (or correct the answer to) a factory's question on this project."""
        form = await request.form()
        key = f"question-{factory_question_id}"
        try:
            questions = await factory.questions_of(db, project_id)
            if factory_question_id not in {q.id for q, _s in questions}:
                raise NotFound(_(factory.QUESTION_NOT_FOUND))
            await factory.answer_question(
                db,
                actor=staff.user,
                question_id=factory_question_id,
                answer=form_text(form, "answer"),
                expected_version=_int(form, "version"),
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, staff, project_id, key, exc, form)
        return Redirect(page_url(project_id, done="answered", anchor=key), status_code=303)
