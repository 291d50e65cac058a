"""The factory's production link: its order, opened at /p/<token> with no account, in Chinese first.

Same guarantees as the spec links (makeready.factory_links): 256 random bits, only the sha256 stored, an expiry, a
coordinator revokes it (live -> revoked, the PRODUCTION_LINK machine); expiry is a matter of time, not a state.
A token opens exactly one order: everything the page shows or accepts is looked up through that order.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import DomainError, NotFound
from makeready.factory_links.common import TOKEN_BYTES, TOKEN_SHAPE, hash_token
from makeready.i18n import N_, _
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.production.common import STAFF_ONLY
from makeready.production.models import ProductionLink, ProductionLinkState, ProductionOrder

LINK_NOT_FOUND = N_("This production link does not exist.")
LINK_GONE = N_("This link has expired or was withdrawn.")


class Gone(DomainError):
    """The link existed but has expired or was revoked."""

    status_code = 410


async def _revoked(ctx: Context[ProductionLink]) -> None:
    ctx.obj.revoked_by_id = ctx.actor.id if ctx.actor is not None else None


PRODUCTION_LINK: Machine[ProductionLinkState] = Machine(
    name="production_link",
    subject=N_("production link"),
    states=ProductionLinkState,
    column="state",
    final=states(ProductionLinkState.revoked),
    transitions=(
        Transition(
            "revoke",
            states(ProductionLinkState.live),
            ProductionLinkState.revoked,
            frozenset({Role.STAFF, Role.SYSTEM}),
            "production_link.revoked",
            wrong_state=N_("This link was already revoked."),
            forbidden=STAFF_ONLY,
            stamp="revoked_at",
            effect=_revoked,
        ),
    ),
)


def is_live(link: ProductionLink, now: datetime) -> bool:
    return link.state == ProductionLinkState.live and link.expires_at > now


async def revoke(
    session: AsyncSession, link: ProductionLink, *, actor: User | None, reason: str = ""
) -> None:
    await perform(
        session,
        PRODUCTION_LINK,
        link,
        "revoke",
        actor=actor,
        org_id=link.org_id,
        project_id=link.project_id,
        reason=reason,
    )


async def revoke_all(
    session: AsyncSession, order: ProductionOrder, *, actor: User | None, reason: str
) -> None:
    for link in (
        await session.scalars(
            select(ProductionLink).where(
                ProductionLink.order_id == order.id, ProductionLink.state == ProductionLinkState.live
            )
        )
    ).all():
        await revoke(session, link, actor=actor, reason=reason)


async def create_link(session: AsyncSession, order: ProductionOrder, *, actor: User, days: int) -> str:
    """A new link for the order's factory; the live ones are revoked (one working link per order)."""
    await revoke_all(session, order, actor=actor, reason=_("Replaced by a new link."))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ProductionLink(
        org_id=order.org_id,
        order_id=order.id,
        project_id=order.project_id,
        supplier_id=order.supplier_id,
        token_hash=hash_token(token),
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=days),
        state=ProductionLinkState.live,
    )
    session.add(link)
    await session.flush()
    return token


async def find_link(session: AsyncSession, token: str, *, now: datetime | None = None) -> ProductionLink:
    """The live link a token opens, with the session scoped to the link's organization from then on.

    NotFound for a token nobody issued (or of the wrong shape, without a query); Gone for an expired or revoked one.
    """
    now = now or utcnow()
    if not TOKEN_SHAPE.match(token or ""):
        raise NotFound(_(LINK_NOT_FOUND))
    set_scope(session, Scope.anonymous())
    link = await session.scalar(
        # the factory has no account: the hash is the credential, found across organizations
        select(ProductionLink)
        .where(ProductionLink.token_hash == hash_token(token))
        .execution_options(tenancy_bypass=True)
    )
    if link is None:
        raise NotFound(_(LINK_NOT_FOUND))
    set_scope(session, Scope(user_id=None, org_ids=frozenset({link.org_id})))
    if not is_live(link, now):
        raise Gone(_(LINK_GONE))
    return link


async def open_link(
    session: AsyncSession, token: str, *, now: datetime | None = None, record_view: bool = True
) -> tuple[ProductionLink, ProductionOrder]:
    """The link and its order; counts one view (an atomic UPDATE, so concurrent opens each count)."""
    now = now or utcnow()
    link = await find_link(session, token, now=now)
    if record_view:
        await session.execute(
            update(ProductionLink)
            .where(ProductionLink.id == link.id)
            .values(
                view_count=ProductionLink.view_count + 1,
                last_opened_at=now,
                first_opened_at=func.coalesce(ProductionLink.first_opened_at, now),
            )
            .execution_options(synchronize_session=False)
        )
    order = await session.get(ProductionOrder, link.order_id)
    assert order is not None
    return link, order
