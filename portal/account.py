"""The caller's own account (/account): password, language and personal API tokens.

A form that is refused is shown again with the reason (and a 4xx status, so nothing of it is committed). A new
API token is shown once, on the page that answers its creation, and never again: only its hash is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts import profile
from makeready.accounts import service as accounts
from makeready.accounts.passwords import MIN_LENGTH
from makeready.errors import DomainError
from makeready.i18n import LANGUAGE_NAMES, N_, _, set_locale
from makeready.team import service as team
from portal.auth import Actor, login_session, provide_user

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

NOTICES = {
    "password": N_("Your password has been changed."),
    "language": N_("Your language has been saved."),
    "revoked": N_("The token has been revoked; it no longer works."),
}
NO_STORE = {"Cache-Control": "no-store"}


async def render_account(
    db: AsyncSession,
    user: Actor,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    new_token: accounts.IssuedToken | None = None,
    token_name: str = "",
) -> Template:
    orgs = {o.id: o for o in await team.orgs_by_id(db, [m.org_id for m in user.memberships])}
    context: dict[str, Any] = {
        "user": user,
        "memberships": [
            (orgs[m.org_id], team.role_label(m.role)) for m in user.memberships if m.org_id in orgs
        ],
        "tokens": await profile.list_api_tokens(db, user.user),
        "notice": notice,
        "errors": errors or {},
        "new_token": new_token,
        "token_name": token_name,
        "min_length": MIN_LENGTH,
        "languages_offered": LANGUAGE_NAMES,
    }
    return Template("portal/account.html", context=context, status_code=status_code, headers=NO_STORE)


class AccountPages(Controller):
    """Pages where a logged-in user manages their own account."""

    path = "/account"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="account")
    async def account_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        done: FromQuery[str | None] = None,
    ) -> Template:
        """Profile, organizations, password, language and API tokens."""
        notice = _(NOTICES[done]) if done in NOTICES else None
        return await render_account(db, user, notice=notice)

    @post("/password", name="account.password")
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Form,
    ) -> Template | Redirect:
        """Change the password: the current one is required and the new one must be strong enough.
        API tokens keep working."""
        try:
            await profile.change_password(
                db,
                user=user.user,
                current=data.get("current_password") or "",
                new=data.get("new_password") or "",
                confirm=data.get("new_password_confirm") or "",
            )
        except DomainError as exc:
            field = "current_password" if exc.extra.get("field") == "current_password" else "new_password"
            return await render_account(db, user, errors={field: exc.message}, status_code=exc.status_code)
        login_session(request, user.user, db)  # a fresh session: its age counts from the new password
        return Redirect("/account?done=password", status_code=303)

    @post("/language", name="account.language")
    async def change_language(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Form,
    ) -> Template | Redirect:
        """Keep the interface and email language; it applies at once and at every later login."""
        try:
            chosen = await profile.set_language(db, user=user.user, locale=data.get("locale") or "")
        except DomainError as exc:
            return await render_account(db, user, errors={"locale": exc.message}, status_code=exc.status_code)
        session = dict(request.session) if request.scope.get("session") else {}
        session["locale"] = chosen
        request.set_session(session)
        set_locale(chosen)
        return Redirect("/account?done=language", status_code=303)

    @post("/tokens", name="account.token_create")
    async def create_token(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], data: Form
    ) -> Template:
        """Create a personal API token and show its value this once."""
        name = data.get("name") or ""
        try:
            issued = await profile.create_api_token(db, user=user.user, name=name)
        except DomainError as exc:
            return await render_account(
                db, user, errors={"token": exc.message}, status_code=exc.status_code, token_name=name
            )
        return await render_account(db, user, new_token=issued, status_code=201)

    @post("/tokens/{token_id:int}/revoke", name="account.token_revoke")
    async def revoke_token(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        token_id: FromPath[int],
        data: Form,
    ) -> Redirect:
        """Revoke one of the caller's tokens; it stops authenticating at once."""
        await profile.revoke_api_token(db, user=user.user, token_id=token_id)  # another user's: 404
        return Redirect("/account?done=revoked", status_code=303)
