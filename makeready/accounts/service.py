"""Account services: users, organizations, memberships, login and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts import sessions
from makeready.accounts.models import ApiToken, Membership, Organization, OrgRole, User
from makeready.accounts.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from makeready.audit import service as audit
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow
from makeready.errors import Conflict, NotFound, ValidationFailed
from makeready.i18n import _

TOKEN_PREFIX = "mr_"  # noqa: S105 - a public prefix that makes leaked tokens easy to scan for, not a secret


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or len(email) > 320 or any(c.isspace() for c in email):
        raise ValidationFailed(_("Enter a valid email address."), field="email")
    return email


def check_password_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            _("The password must be at least %(n)d characters long.") % {"n": MIN_LENGTH}, field="password"
        )


async def get_or_create_org(session: AsyncSession, *, name: str, actor_id: int | None = None) -> Organization:
    name = name.strip()
    if not name:
        raise ValidationFailed(_("The organization needs a name."), field="org")
    org = await session.scalar(select(Organization).where(Organization.name == name))
    if org:
        return org
    org = Organization(name=name)
    session.add(org)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="org.created",
        subject_type="organization",
        subject_id=org.id,
        org_id=org.id,
        after={"name": name},
    )
    return org


async def set_default_currency(
    session: AsyncSession, *, org: Organization, currency: str, actor_id: int | None = None
) -> Organization:
    """Change the currency new projects of the organization start in (an ISO 4217 code), recorded as
    `org.updated`; the same currency again changes nothing."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValidationFailed(_("The currency must be a three-letter code such as USD."), field="currency")
    before = org.default_currency
    if before == code:
        return org
    org.default_currency = code
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="org.updated",
        subject_type="organization",
        subject_id=org.id,
        org_id=org.id,
        before={"default_currency": before},
        after={"default_currency": code},
    )
    return org


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    name: str = "",
    is_staff: bool = False,
    is_admin: bool = False,
    locale: str | None = None,
    actor_id: int | None = None,
) -> User:
    email = normalize_email(email)
    check_password_strength(password)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(_("A user with this email already exists."), field="email")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        is_staff=is_staff or is_admin,
        is_admin=is_admin,
        locale=locale,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create of the same email
        raise Conflict(_("A user with this email already exists."), field="email") from exc
    await audit.record(
        session,
        actor_id=actor_id,
        action="user.created",
        subject_type="user",
        subject_id=user.id,
        after={"email": email, "is_staff": user.is_staff, "is_admin": is_admin},
    )
    return user


async def add_member(
    session: AsyncSession, *, org: Organization, user: User, role: OrgRole, actor_id: int | None = None
) -> Membership:
    existing = await session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if existing:
        if existing.role != role:
            before = existing.role
            existing.role = role
            await audit.record(
                session,
                actor_id=actor_id,
                action="membership.role_changed",
                subject_type="membership",
                subject_id=existing.id,
                org_id=org.id,
                before={"role": before},
                after={"role": role},
            )
        return existing
    membership = Membership(org_id=org.id, user_id=user.id, role=role)
    session.add(membership)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="membership.created",
        subject_type="membership",
        subject_id=membership.id,
        org_id=org.id,
        after={"user": user.email, "role": role},
    )
    return membership


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Takes the same time whether or not the email exists."""
    user = await session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    ok = verify_password(user.password_hash if user else None, password or "")
    if not (user and ok and user.is_active):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


async def change_password(session: AsyncSession, *, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(_("The current password is not correct."), field="current_password")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    # every session the user had ends, portal and back office alike (the portal starts a fresh one for the
    # browser that made the change): whoever had a copy of a cookie is out
    await sessions.end_all(session, user_id=user.id)
    await audit.record(
        session, actor_id=user.id, action="user.password_changed", subject_type="user", subject_id=user.id
    )


def password_mark(user: User) -> str:
    """Which password a portal session was started with (kept in the session): changing the password makes every
    other session's mark stale, so those sessions end."""
    return user.password_changed_at.isoformat() if user.password_changed_at else ""


async def set_preferred_locale(session: AsyncSession, *, user_id: int, locale: str) -> None:
    """Remember the interface language a user chose; it also picks the language of their emails."""
    user = await session.get(User, user_id)
    if user is not None and user.locale != locale:
        user.locale = locale


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_api_token(session: AsyncSession, *, user: User, name: str = "") -> IssuedToken:
    """A new personal API token. The plain value is returned once; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id, name=name.strip()[:100], token_hash=_token_digest(token), prefix=token[:10]
    )
    session.add(record)
    await session.flush()
    await audit.record(
        session,
        actor_id=user.id,
        action="api_token.issued",
        subject_type="api_token",
        subject_id=record.id,
        after={"prefix": record.prefix, "name": record.name},
    )
    return IssuedToken(token=token, record=record)


TOKEN_USE_RESOLUTION = timedelta(minutes=5)
"""How precisely a token's last use is kept (the account page shows it)."""


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _token_digest(token), ApiToken.revoked_at.is_(None), User.is_active)
        )
    ).first()
    if row is None:
        return None
    record, user = row
    now = utcnow()
    if record.last_used_at is None or record.last_used_at < now - TOKEN_USE_RESOLUTION:
        # at most one write per token and resolution, whatever the request rate; it commits with the request
        await session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == record.id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_USE_RESOLUTION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return user


async def memberships_of(session: AsyncSession, user_id: int) -> list[Membership]:
    """The user's memberships, oldest first (an actor's primary organization is the first)."""
    return list(
        (
            await session.scalars(
                select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)
            )
        ).all()
    )


def scope_for(user: User | None, memberships: list[Membership]) -> Scope:
    if user is None:
        return Scope.anonymous()
    if user.is_staff:
        return Scope.staff(user.id)
    return Scope.member(user.id, {m.org_id for m in memberships})


USER_FIELDS = ("email", "name", "locale", "is_active", "is_staff", "is_admin")
"""What an agency admin may change on a user (the back office's users table); each change is audited."""


async def update_user(
    session: AsyncSession, *, user_id: int, actor_id: int | None, changes: dict[str, Any], reason: str = ""
) -> User:
    """Change a user's email, name, language or access (active, coordinator, agency admin), audited. Taking access
    away (deactivating, or no longer staff) ends every session the user has, portal and back office."""
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no such user."))
    changes = dict(changes)
    if "email" in changes:
        changes["email"] = normalize_email(str(changes["email"] or ""))
        taken = await session.scalar(
            select(User.id).where(User.email == changes["email"], User.id != user_id)
        )
        if taken:
            raise Conflict(_("A user with this email already exists."), field="email")
    if changes.get("is_admin"):
        changes["is_staff"] = True  # every agency admin is staff, as create_user makes them
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        if getattr(user, name) != value:
            before[name], after[name] = getattr(user, name), value
            setattr(user, name, value)
    if not after:
        return user
    await session.flush()
    if after.get("is_active") is False or after.get("is_staff") is False:
        await sessions.end_all(session, user_id=user.id)
    await audit.record(
        session,
        actor_id=actor_id,
        action="user.updated",
        subject_type="user",
        subject_id=user.id,
        before=before,
        after=after,
        reason=reason,
    )
    return user


async def revoke_token_as_staff(
    session: AsyncSession, *, token_id: int, actor_id: int | None, reason: str = ""
) -> ApiToken:
    """Revoke anyone's API token (the back office); it stops working at once. Audited. Revoking is final."""
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("There is no such API token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor_id=actor_id,
            action="api_token.revoked",
            subject_type="api_token",
            subject_id=token.id,
            before={"prefix": token.prefix, "name": token.name, "user_id": token.user_id},
            reason=reason,
        )
    return token
