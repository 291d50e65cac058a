"""Team pages: an organization's members and invitations (/team), and accepting an invitation (/invitations/<token>).

Everyone in the organization sees the team; only its owners (and agency staff, for any client) change it
(makeready.team.service enforces that). A refused
change re-shows the team page with the reason and the refusal's status code, so the transaction rolls back.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import Organization, OrgRole
from makeready.accounts.passwords import MIN_LENGTH
from makeready.db.tenancy import Scope, set_scope
from makeready.errors import DomainError, NotFound
from makeready.i18n import N_, _, get_locale
from makeready.team import service as team
from portal.auth import Actor, login_session, provide_user
from portal.errors import TITLES

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

NOTICES = {
    "invited": N_("The invitation has been sent."),
    "revoked": N_("The invitation has been withdrawn; its link no longer works."),
    "role": N_("The role has been changed."),
    "removed": N_("The member has been removed from the organization."),
    "joined": N_("Welcome: you are now a member of this organization."),
}
# invitation links carry a secret: never send them on as a Referer, never keep the page in a cache
SECRET_PAGE_HEADERS = [
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),
    ResponseHeader(name="Cache-Control", value="no-store"),
]


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _pick_org(user: Actor, requested: int | None) -> int | None:
    """The organization to show: the one asked for if the caller belongs to it (staff: any), else their first."""
    mine = [m.org_id for m in user.memberships]
    if requested is not None:
        if requested not in mine and not user.is_staff:
            raise NotFound(_("This organization does not exist or you do not have access to it."))
        return requested
    return mine[0] if mine else None


def _roles() -> list[tuple[str, str]]:
    return [(role.value, team.role_label(role)) for role in OrgRole]


async def render_team(
    db: AsyncSession,
    user: Actor,
    org_id: int | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Template:
    org: Organization | None = await team.get_org(db, org_id) if org_id is not None else None
    choices = await team.visible_orgs(db)
    if org is not None and all(o.id != org.id for o in choices):
        choices.append(org)  # staff looking at an organization they do not belong to
    context: dict[str, Any] = {
        "user": user,
        "org": org,
        "orgs": choices,
        "members": await team.members(db, org.id) if org else [],
        "invitations": await team.open_invitations(db, org.id) if org else [],
        "can_manage": org is not None and (user.is_staff or user.role_in(org.id) == OrgRole.owner),
        "now": team.clock(),
        "roles": _roles(),
        "role_label": team.role_label,
        "notice": notice,
        "error": error,
        "form": form or {"email": "", "role": OrgRole.member.value},
    }
    return Template("portal/team.html", context=context, status_code=status_code)


class TeamPages(Controller):
    """The caller's organization's team."""

    path = "/team"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="team")
    async def team_page(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        org: FromQuery[int | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Template:
        """Members with their roles and open invitations; owners also get the forms that change them."""
        notice = _(NOTICES[done]) if done in NOTICES else None
        return await render_team(db, user, _pick_org(user, org), notice=notice)

    @post("/invitations", name="team.invite")
    async def invite(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], data: Form
    ) -> Template | Redirect:
        """Invite someone by email with a role (owners only)."""
        org_id = _pick_org(user, _int(data.get("org")))
        if org_id is None:
            raise NotFound(_("This organization does not exist or you do not have access to it."))
        form = {"email": (data.get("email") or "").strip(), "role": data.get("role") or ""}
        try:
            await team.invite(
                db,
                actor=user.user,
                org_id=org_id,
                email=form["email"],
                role=form["role"],
                inviter_locale=get_locale(),
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await render_team(
                db, user, org_id, error=exc.message, status_code=exc.status_code, form=form
            )
        return Redirect(f"/team?org={org_id}&done=invited", status_code=303)

    @post("/invitations/{invitation_id:int}/revoke", name="team.revoke")
    async def revoke(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        invitation_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Withdraw a pending invitation (owners only)."""
        try:
            invitation = await team.revoke_invitation(db, actor=user.user, invitation_id=invitation_id)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, user, data, exc)
        return Redirect(f"/team?org={invitation.org_id}&done=revoked", status_code=303)

    @post("/members/{membership_id:int}/role", name="team.role")
    async def change_role(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        membership_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Give a member another role (owners only; the last owner stays an owner)."""
        try:
            membership = await team.change_role(
                db, actor=user.user, membership_id=membership_id, role=data.get("role") or ""
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, user, data, exc)
        return Redirect(f"/team?org={membership.org_id}&done=role", status_code=303)

    @post("/members/{membership_id:int}/remove", name="team.remove")
    async def remove(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        membership_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Remove a member (owners only; not the last owner)."""
        try:
            membership = await team.remove_member(db, actor=user.user, membership_id=membership_id)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._refused(db, user, data, exc)
        if membership.user_id == user.user.id:
            return Redirect("/", status_code=303)  # they left: the team page is no longer theirs to see
        return Redirect(f"/team?org={membership.org_id}&done=removed", status_code=303)

    @staticmethod
    async def _refused(db: AsyncSession, user: Actor, data: dict[str, str], exc: DomainError) -> Template:
        org_id = _pick_org(user, _int(data.get("org")))
        return await render_team(db, user, org_id, error=exc.message, status_code=exc.status_code)


def _error_page(exc: DomainError) -> Template:
    return Template(
        "portal/error.html",
        context={
            "status": exc.status_code,
            "title": _(TITLES.get(exc.status_code, N_("Error"))),
            "detail": exc.message,
        },
        status_code=exc.status_code,
    )


def _invitation_page(
    found: team.OpenInvitation,
    actor: Actor | None,
    token: str,
    *,
    error: str | None = None,
    status_code: int = 200,
    name: str = "",
) -> Template:
    invitation = found.invitation
    return Template(
        "portal/invitation.html",
        context={
            "user": actor,
            "token": token,
            "org_name": found.org_name,
            "inviter_name": found.inviter_name,
            "email": invitation.email,
            "role": team.role_label(invitation.role),
            "expires_at": invitation.expires_at,
            "matches": actor is not None and actor.user.email == invitation.email,
            "error": error,
            "name": name,
            "min_length": MIN_LENGTH,
        },
        status_code=status_code,
    )


class InvitationPages(Controller):
    """The link in an invitation email. Public: the token in the path is the credential."""

    path = "/invitations"
    include_in_schema = False
    response_headers = SECRET_PAGE_HEADERS

    @get("/{token:str}", name="invitation")
    async def show(
        self, db: NamedDependency[AsyncSession], actor: NamedDependency[Actor | None], token: FromPath[str]
    ) -> Template:
        """What the invitation offers, and how to accept it: join (logged in) or create an account."""
        set_scope(db, Scope.system())  # the invitee is not a member yet: the token alone finds the invitation
        try:
            found = await team.open_invitation(db, token)
        except DomainError as exc:
            return _error_page(exc)
        return _invitation_page(found, actor, token)

    @post("/{token:str}", name="invitation.accept")
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor | None],
        token: FromPath[str],
        data: Form,
    ) -> Template | Redirect:
        """Accept: a logged-in user with the invited address joins; someone new creates their account and joins."""
        set_scope(db, Scope.system())
        try:
            found = await team.open_invitation(db, token)
        except DomainError as exc:
            return _error_page(exc)
        name = data.get("name") or ""
        try:
            if actor is not None:
                membership = await team.accept(db, token=token, user=actor.user)
                org_id = membership.org_id
            else:
                password = data.get("password") or ""
                if password != (data.get("password_confirm") or ""):
                    return _invitation_page(
                        found,
                        actor,
                        token,
                        error=_("The two passwords do not match."),
                        status_code=422,
                        name=name,
                    )
                new_user = await team.accept_as_new_user(
                    db, token=token, name=name, password=password, locale=get_locale()
                )
                login_session(request, new_user, db)
                org_id = found.invitation.org_id
        except team.Gone as exc:
            return _error_page(exc)
        except NotFound as exc:
            return _error_page(exc)
        except DomainError as exc:
            return _invitation_page(
                found, actor, token, error=exc.message, status_code=exc.status_code, name=name
            )
        return Redirect(f"/team?org={org_id}&done=joined", status_code=303)
