"""A user's own account: password, interface language and personal API tokens. Every change is audited.

These changes concern the user, not an organization, so their audit events carry no org_id; writing such an event
needs an unrestricted scope, which `_own_account()` lends for the duration of the change. Every statement inside
names the user explicitly (by id), so the wider scope reaches nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import i18n
from makeready.accounts.models import ApiToken, User
from makeready.accounts.service import IssuedToken, issue_api_token, set_preferred_locale
from makeready.accounts.service import change_password as _change_password
from makeready.audit import service as audit
from makeready.db.tenancy import Scope, get_scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import NotFound, ValidationFailed
from makeready.i18n import _

TOKEN_NAME_MAX = 100


@contextmanager
def _own_account(session: AsyncSession) -> Iterator[None]:
    previous = get_scope(session)
    set_scope(session, Scope.system())
    try:
        yield
    finally:
        set_scope(session, previous)


async def change_password(session: AsyncSession, *, user: User, current: str, new: str, confirm: str) -> None:
    """Replace the password: the current one must be right and the new one strong enough. API tokens stay valid."""
    if new != confirm:
        raise ValidationFailed(_("The two new passwords do not match."), field="new_password")
    with _own_account(session):
        await _change_password(session, user=user, current=current, new=new)


async def list_api_tokens(session: AsyncSession, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show when they were revoked)."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(rows.all())


async def create_api_token(session: AsyncSession, *, user: User, name: str) -> IssuedToken:
    """A new named token; the plain value is in the result only (show it once)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("Give the token a name, so you know later where it is used."), field="name")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationFailed(
            _("The name can be at most %(n)d characters long.") % {"n": TOKEN_NAME_MAX}, field="name"
        )
    with _own_account(session):
        return await issue_api_token(session, user=user, name=name)


async def revoke_api_token(session: AsyncSession, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once. Another user's token is not found."""
    token = await session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound(_("This token does not exist or is not yours."))
    if token.revoked_at is not None:
        return token
    token.revoked_at = utcnow()
    with _own_account(session):
        await session.flush()
        await audit.record(
            session,
            actor_id=user.id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token.id,
            before={"prefix": token.prefix, "name": token.name},
        )
    return token


async def set_language(session: AsyncSession, *, user: User, locale: str) -> str:
    """Keep the user's interface (and email) language; returns the supported locale stored."""
    chosen = locale if locale in i18n.SUPPORTED else i18n.normalize(locale)
    if chosen is None:
        raise ValidationFailed(_("Choose one of the offered languages."), field="locale")
    before = user.locale
    if before != chosen:
        with _own_account(session):
            await set_preferred_locale(session, user_id=user.id, locale=chosen)
            await audit.record(
                session,
                actor_id=user.id,
                action="user.locale_changed",
                subject_type="user",
                subject_id=user.id,
                before={"locale": before},
                after={"locale": chosen},
            )
    return chosen
