"""The factory's "in house" form for the materials it buys, under its production link: GET/POST
/p/<token>/materials (Chinese first, no account; the token, through makeready.production.links.find_link, is the
credential and scopes the session to the link's one order). Posts are accepted only from our own page (the same
origin check as the spec links, portal.factory)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import i18n, urls
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_
from makeready.materials.readiness import lines_of
from makeready.materials.supply import confirm_in_house
from makeready.production import links
from makeready.production.common import load_order
from portal.factory import GONE, UNKNOWN, _bilingual, _render, _same_origin, page

RECORDED = N_("Recorded: the quantity is in house.")
NOT_OURS = N_("This form must be sent from its own page.")


class FactoryMaterialPages(Controller):
    """The factory confirms its own materials in house."""

    path = "/p"
    include_in_schema = False
    opt = {"bell": False}

    async def _render(
        self, db: AsyncSession, token: str, *, message: str = "", status: int = 200
    ) -> Response[str]:
        try:
            link = await links.find_link(db, token)
        except NotFound:
            return _bilingual(404, UNKNOWN)
        except DomainError:
            return _bilingual(410, GONE)
        order = await load_order(db, link.order_id)
        lines = [line for line in await lines_of(db, order.id) if line.requirement.supplied_by == "factory"]
        with i18n.use_locale("zh_Hans"):
            html = _render(
                "factory/materials/in_house.html",
                {"order": order, "lines": lines, "action": urls.factory_materials(token), "message": message},
            )
        return page(html, status_code=status)

    @get("/{token:str}/materials")
    async def form(self, db: NamedDependency[AsyncSession], token: FromPath[str]) -> Response[str]:
        return await self._render(db, token)

    @post("/{token:str}/materials")
    async def confirm(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Response[str]:
        if not _same_origin(request):
            return _bilingual(403, NOT_OURS)
        try:
            link = await links.find_link(db, token)
        except NotFound:
            return _bilingual(404, UNKNOWN)
        except DomainError:
            return _bilingual(410, GONE)
        order = await load_order(db, link.order_id)
        form = await request.form()
        try:
            await confirm_in_house(
                db,
                order=order,
                requirement_id=form.get("requirement_id"),
                quantity=form.get("quantity"),
                note=str(form.get("note") or ""),
            )
        except DomainError as refused:
            return await self._render(db, token, message=str(refused), status=refused.status_code)
        with i18n.use_locale("zh_Hans"):
            done = i18n.gettext(RECORDED)
        return await self._render(db, token, message=done)
