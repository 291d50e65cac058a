"""Forms for people: create a user (agency admins), invite a brand user to a client organization, sign a user out
everywhere (agency admins)."""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig
from pydantic import Field, SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.requests import Request

from backoffice.forms.base import Form, FormModel, run
from backoffice.forms.lookup import choose, find_org
from makeready.accounts import service as accounts
from makeready.accounts import sessions
from makeready.accounts.models import OrgRole, User
from makeready.i18n import N_, _, get_locale
from makeready.team import service as team

USERS_GROUP = N_("Users")
ROLES = {
    OrgRole.owner.value: N_("owner"),
    OrgRole.member.value: N_("member"),
    OrgRole.viewer.value: N_("viewer"),
}


class CreateUser(FormModel):
    email: str = Field(
        title=N_("Email"),
        description=N_("They sign in to the portal, and to the back office if staff, with this email."),
    )
    name: str = Field("", title=N_("Name"))
    password: SecretStr = Field(
        title=N_("Password"),
        description=N_("At least 10 characters. Tell them to change it after signing in."),
    )
    is_staff: bool = Field(
        False, title=N_("Coordinator"), description=N_("A coordinator: may sign in to the back office.")
    )
    is_admin: bool = Field(
        False, title=N_("Agency admin"), description=N_("An agency admin: may also change users.")
    )


class EndSessions(FormModel):
    email: str = Field(title=N_("Email of the user"))
    revoke_tokens: bool = Field(
        False,
        title=N_("Also revoke their API tokens"),
        description=N_("For a lost laptop or a leaked token: scripts using their tokens stop working too."),
    )


class InviteBrandUser(FormModel):
    organization: str = Field(title=N_("Client (name or number)"))
    email: str = Field(title=N_("Email of the person to invite"))
    role: str = Field("member", title=N_("Role: owner, member or viewer"))


def user_forms(engine: AsyncEngine) -> list[FormConfig]:
    async def create_user(request: Request, data: CreateUser) -> str:
        if not request.user.user.superuser:
            raise ValueError(_("Only agency admins can create users."))

        async def action(session: AsyncSession, actor: User) -> str:
            user = await accounts.create_user(
                session,
                email=data.email,
                password=data.password.get_secret_value(),
                name=data.name,
                is_staff=data.is_staff,
                is_admin=data.is_admin,
                actor_id=actor.id,
            )
            return _("Created %(email)s.") % {"email": user.email}

        return await run(engine, request, action)

    async def end_sessions(request: Request, data: EndSessions) -> str:
        if not request.user.user.superuser:
            raise ValueError(_("Only agency admins can sign a user out everywhere."))

        async def action(session: AsyncSession, actor: User) -> str:
            email = accounts.normalize_email(data.email)
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                raise ValueError(_("There is no user with this email."))
            ended, revoked = await sessions.sign_out_everywhere(
                session, user=user, actor_id=actor.id, revoke_tokens=data.revoke_tokens, reason="back office"
            )
            return _(
                "Signed %(email)s out everywhere: %(sessions)d sessions ended, %(tokens)d API tokens revoked."
            ) % {
                "email": user.email,
                "sessions": ended,
                "tokens": revoked,
            }

        return await run(engine, request, action)

    async def invite_brand_user(request: Request, data: InviteBrandUser) -> str:
        async def action(session: AsyncSession, actor: User) -> str:
            org = await find_org(session, data.organization)
            role = choose(data.role, ROLES, what=N_("role"), field="role")
            sent = await team.invite(
                session, actor=actor, org_id=org.id, email=data.email, role=role, inviter_locale=get_locale()
            )
            return _("Invited %(email)s to %(org)s as %(role)s; the invitation link was emailed to them.") % {
                "email": sent.invitation.email,
                "org": org.name,
                "role": _(ROLES[role]),
            }

        return await run(engine, request, action)

    return [
        Form(
            name=N_("Create a user"),
            pydantic_model=CreateUser,
            endpoint=create_user,
            description=N_(
                "A brand user, a coordinator or an agency admin, with the password they sign in with."
            ),
            form_group=USERS_GROUP,
        ),
        Form(
            name=N_("Invite a brand user"),
            pydantic_model=InviteBrandUser,
            endpoint=invite_brand_user,
            description=N_(
                "Emails a person a link to join a client organization (a brand) with a role. They choose their "
                "own password when they accept."
            ),
            form_group=USERS_GROUP,
        ),
        Form(
            name=N_("Sign a user out everywhere"),
            pydantic_model=EndSessions,
            endpoint=end_sessions,
            description=N_(
                "Signs the user out of the portal and the back office in every browser at once (agency admins)."
            ),
            form_group=USERS_GROUP,
        ),
    ]
