"""An organization's team: members and their roles, invitations by email, and accepting them.

Only owners (and agency staff) manage a team; an organization always keeps at least one owner. Every change is audited in the
caller's transaction (membership.role_changed, membership.removed, invitation.sent, invitation.revoked,
invitation.accepted).

Invitation links carry a random token (256 bits); only its SHA-256 is stored. A link works once, until it expires
(INVITATION_TTL) or an owner revokes it or sends a newer invitation to the same address. The email is queued in the
outbox in the invitee's language when they already have an account that chose one, else in the inviter's.
Nothing an owner sees depends on whether the invited address has an account.

Reading an invitation by its token happens before the caller belongs to its organization, so `open_invitation`,
`accept` and `accept_as_new_user` need a session with an unrestricted scope (the web layer sets `Scope.system()`
for that request, as the login form does). Everything else runs in the caller's own scope: another
organization's membership or invitation is simply not found.

`clock()` is the one source of "now" here, so tests can move time without waiting.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from makeready.accounts.models import Invitation, Membership, Organization, OrgRole, User
from makeready.accounts.service import add_member, create_user, normalize_email
from makeready.audit import service as audit
from makeready.db.tenancy import TenancyError, get_scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import N_, _
from makeready.notify.outbox import queue_email

INVITATION_TTL = timedelta(days=7)
INVITATION_TEMPLATE = "invitation"
_TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 200

# Translators: organization roles, shown in lists and sentences ("Role: owner"); owner is 所有者 (not a milestone's 负责人)
ROLE_LABELS: dict[OrgRole, str] = {
    OrgRole.owner: N_("owner"),
    OrgRole.member: N_("member"),
    OrgRole.viewer: N_("viewer"),
}
ROLE_ORDER = {OrgRole.owner: 0, OrgRole.member: 1, OrgRole.viewer: 2}


def clock() -> datetime:
    """Now, in UTC. Tests replace it to expire an invitation without waiting."""
    return utcnow()


class Gone(DomainError):
    """An invitation that existed but can no longer be used: expired, revoked, replaced or already accepted."""

    status_code = 410


class AccountExists(Conflict):
    """A new account was asked for an invitation whose address already has one: log in instead."""


def role_label(role: OrgRole | str) -> str:
    """The role's name in the current language."""
    return _(ROLE_LABELS[OrgRole(role)])


def parse_role(value: str | OrgRole | None) -> OrgRole:
    try:
        return OrgRole(value or "")
    except ValueError:
        raise ValidationFailed(_("Choose a role: owner, member or viewer."), field="role") from None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Member:
    membership: Membership
    user: User


async def get_org(session: AsyncSession, org_id: int) -> Organization:
    """The organization, if the caller's scope includes it."""
    org = await session.scalar(select(Organization).where(Organization.id == org_id))
    if org is None:
        raise NotFound(_("This organization does not exist or you do not have access to it."))
    return org


async def visible_orgs(session: AsyncSession, limit: int = 500) -> list[Organization]:
    """The organizations the caller's scope shows, by name: their own for brand users, every client for staff."""
    rows = await session.scalars(
        select(Organization)
        .where(Organization.archived_at.is_(None))
        .order_by(Organization.name)
        .limit(limit)
    )
    return list(rows.all())


async def orgs_by_id(session: AsyncSession, org_ids: list[int]) -> list[Organization]:
    if not org_ids:
        return []
    rows = await session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
    return sorted(rows.all(), key=lambda o: o.name.lower())


async def members(session: AsyncSession, org_id: int) -> list[Member]:
    """The organization's members, owners first, then by name."""
    rows = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id)
        )
    ).all()
    found = [Member(membership=m, user=u) for m, u in rows]
    return sorted(
        found, key=lambda r: (ROLE_ORDER[r.membership.role], r.user.display_name.lower(), r.user.id)
    )


async def open_invitations(session: AsyncSession, org_id: int) -> list[Invitation]:
    """Invitations neither accepted nor revoked (expired ones included, so an owner sees they need resending)."""
    rows = await session.scalars(
        select(Invitation)
        .where(Invitation.org_id == org_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return list(rows.all())


# --------------------------------------------------------------------------------------------------------------
# Guards


async def require_owner(session: AsyncSession, org_id: int, actor: User) -> None:
    """Owners manage their organization's team; so does agency staff, for every client (the back office invites a
    new client's first owner)."""
    if actor.is_staff:
        return
    role = await session.scalar(
        select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == actor.id)
    )
    if role != OrgRole.owner:
        raise PermissionDenied(_("Only owners of the organization can manage its team."))


async def _membership(session: AsyncSession, membership_id: int) -> Membership:
    membership = await session.scalar(select(Membership).where(Membership.id == membership_id))
    if membership is None:
        raise NotFound(_("This member does not exist or you do not have access to it."))
    return membership


async def _keep_an_owner(session: AsyncSession, org: Organization, leaving: Membership) -> None:
    """Refuse to leave `org` without an owner; then bump the org's version so two owners who demote or remove each
    other at the same moment cannot both pass this check (the second write is a stale-version conflict)."""
    others = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.org_id == org.id,
            Membership.role == OrgRole.owner,
            Membership.id != leaving.id,
        )
    )
    if not others:
        raise Conflict(
            _("An organization must keep at least one owner. Make another member an owner first."),
            field="role",
        )
    org.updated_at = clock()
    await session.flush()


# --------------------------------------------------------------------------------------------------------------
# Members


async def change_role(
    session: AsyncSession, *, actor: User, membership_id: int, role: str | OrgRole
) -> Membership:
    """Give a member another role. Only owners may; the last owner cannot be demoted."""
    new_role = parse_role(role)
    membership = await _membership(session, membership_id)
    await require_owner(session, membership.org_id, actor)
    if membership.role == new_role:
        return membership
    org = await get_org(session, membership.org_id)
    if membership.role == OrgRole.owner:
        await _keep_an_owner(session, org, membership)
    before = membership.role
    email = await session.scalar(select(User.email).where(User.id == membership.user_id))
    membership.role = new_role
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="membership.role_changed",
        subject_type="membership",
        subject_id=membership.id,
        org_id=membership.org_id,
        before={"user": email, "role": before},
        after={"user": email, "role": new_role},
    )
    return membership


async def remove_member(session: AsyncSession, *, actor: User, membership_id: int) -> Membership:
    """Take a member out of the organization; from their next request they no longer see its data."""
    membership = await _membership(session, membership_id)
    await require_owner(session, membership.org_id, actor)
    org = await get_org(session, membership.org_id)
    if membership.role == OrgRole.owner:
        await _keep_an_owner(session, org, membership)
    email = await session.scalar(select(User.email).where(User.id == membership.user_id))
    await audit.record(
        session,
        actor_id=actor.id,
        action="membership.removed",
        subject_type="membership",
        subject_id=membership.id,
        org_id=membership.org_id,
        before={"user": email, "role": membership.role},
    )
    await session.delete(membership)
    await session.flush()
    return membership


# --------------------------------------------------------------------------------------------------------------
# Invitations


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str
    """The plain token, for the email only; it is never stored."""


async def invite(
    session: AsyncSession,
    *,
    actor: User,
    org_id: int,
    email: str,
    role: str | OrgRole,
    inviter_locale: str | None = None,
) -> SentInvitation:
    """Invite `email` to the organization with `role`; a pending invitation to the same address is replaced."""
    org = await get_org(session, org_id)
    await require_owner(session, org.id, actor)
    address = normalize_email(email)
    new_role = parse_role(role)
    already = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org.id, User.email == address)
    )
    if already:
        raise Conflict(
            _("%(email)s is already a member of this organization.") % {"email": address}, field="email"
        )
    now = clock()
    replaced = list(
        (
            await session.scalars(
                select(Invitation).where(
                    Invitation.org_id == org.id,
                    Invitation.email == address,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                )
            )
        ).all()
    )
    for old in replaced:
        old.revoked_at = now
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    invitation = Invitation(
        org_id=org.id,
        email=address,
        role=new_role,
        token_hash=token_digest(token),
        invited_by_id=actor.id,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    await session.flush()
    # the invitee's own language when their account has one; the owner never learns whether it exists
    invitee_locale = await session.scalar(select(User.locale).where(User.email == address))
    await queue_email(
        session,
        to_email=address,
        to_name="",
        locale=invitee_locale or inviter_locale or actor.locale,
        template=INVITATION_TEMPLATE,
        context={
            "org": org.name,
            "inviter": actor.display_name,
            "role": new_role.value,
            "email": address,
            "path": f"/invitations/{token}",
            "expires_at": invitation.expires_at,
        },
        secret=("path",),  # the token lives in the email only, not in the outbox once it is sent
    )
    await audit.record(
        session,
        actor_id=actor.id,
        action="invitation.sent",
        subject_type="invitation",
        subject_id=invitation.id,
        org_id=org.id,
        before={"replaced": [old.id for old in replaced]} if replaced else None,
        after={"email": address, "role": new_role, "expires_at": invitation.expires_at},
    )
    return SentInvitation(invitation=invitation, token=token)


async def revoke_invitation(session: AsyncSession, *, actor: User, invitation_id: int) -> Invitation:
    """Withdraw a pending invitation: its link answers 410 from now on."""
    invitation = await session.scalar(select(Invitation).where(Invitation.id == invitation_id))
    if invitation is None:
        raise NotFound(_("This invitation does not exist or you do not have access to it."))
    await require_owner(session, invitation.org_id, actor)
    if invitation.accepted_at is not None:
        raise Conflict(_("This invitation has already been accepted; remove the member instead."))
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = clock()
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="invitation.revoked",
        subject_type="invitation",
        subject_id=invitation.id,
        org_id=invitation.org_id,
        before={"email": invitation.email, "role": invitation.role},
    )
    return invitation


# --------------------------------------------------------------------------------------------------------------
# Accepting


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    org_name: str
    inviter_name: str


def _require_unrestricted(session: AsyncSession) -> None:
    if not get_scope(session).unrestricted:
        raise TenancyError("reading an invitation by its token needs an unrestricted scope")


async def open_invitation(session: AsyncSession, token: str) -> OpenInvitation:
    """The invitation a link names, if it can still be accepted: NotFound for an unknown token, Gone otherwise."""
    _require_unrestricted(session)
    invitation = None
    if token and len(token) <= _MAX_TOKEN_LENGTH:
        invitation = await session.scalar(
            select(Invitation).where(Invitation.token_hash == token_digest(token))
        )
    if invitation is None:
        raise NotFound(
            _("This invitation link is not valid. Check that you opened the whole link from the email.")
        )
    if invitation.accepted_at is not None:
        raise Gone(
            _("This invitation has already been used. If it was you, log in to see your organization.")
        )
    if invitation.revoked_at is not None:
        raise Gone(
            _(
                "This invitation has been withdrawn or replaced by a newer one. Use the latest invitation email, "
                "or ask the person who invited you to send a new one."
            )
        )
    if invitation.expires_at <= clock():
        raise Gone(_("This invitation has expired. Ask the person who invited you to send a new one."))
    org_name = await session.scalar(select(Organization.name).where(Organization.id == invitation.org_id))
    inviter = await session.scalar(select(User).where(User.id == invitation.invited_by_id))
    return OpenInvitation(
        invitation=invitation, org_name=org_name or "", inviter_name=inviter.display_name if inviter else ""
    )


async def _claim(session: AsyncSession, invitation: Invitation, user: User) -> Membership:
    """Mark the invitation accepted, exactly once even when two requests race, and make the user a member."""
    now = clock()
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Gone(
            _("This invitation has already been used. If it was you, log in to see your organization.")
        )
    set_committed_value(invitation, "accepted_at", now)  # already written by the UPDATE above
    org = await get_org(session, invitation.org_id)
    existing = await session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    # someone who is already a member keeps the role they have: accepting never demotes an owner
    membership = existing or await add_member(
        session, org=org, user=user, role=invitation.role, actor_id=user.id
    )
    await audit.record(
        session,
        actor_id=user.id,
        action="invitation.accepted",
        subject_type="invitation",
        subject_id=invitation.id,
        org_id=org.id,
        after={"user": user.email, "role": membership.role, "already_member": existing is not None},
    )
    return membership


async def accept(session: AsyncSession, *, token: str, user: User) -> Membership:
    """A logged-in user accepts an invitation sent to their own email address."""
    found = await open_invitation(session, token)
    if user.email != found.invitation.email:
        raise PermissionDenied(
            _(
                "This invitation was sent to another email address. Log out, then open the link again to accept it."
            )
        )
    return await _claim(session, found.invitation, user)


async def accept_as_new_user(
    session: AsyncSession, *, token: str, name: str, password: str, locale: str | None = None
) -> User:
    """Someone new accepts: an account for the invited address, with the name and password they chose."""
    found = await open_invitation(session, token)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("Enter your name."), field="name")
    if len(name) > 200:
        raise ValidationFailed(_("The name can be at most %(n)d characters long.") % {"n": 200}, field="name")
    if await session.scalar(select(User.id).where(User.email == found.invitation.email)):
        raise AccountExists(
            _("There is already an account for this email address. Log in with it to accept the invitation."),
            field="login",
        )
    user = await create_user(
        session, email=found.invitation.email, password=password, name=name, locale=locale
    )
    await _claim(session, found.invitation, user)
    return user
