"""Account tables. One `users` table for everyone; staff roles live on the user, org roles on Membership."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makeready.db.base import Base, IdMixin, TenantOwned, TenantRoot, TimestampMixin, VersionedMixin
from makeready.db.types import utcnow


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> Enum:
    """Enum stored as its values, which equal the member names (piccolo-admin reads values)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class OrgRole(enum.StrEnum):
    owner = "owner"
    member = "member"
    viewer = "viewer"


class Organization(TenantRoot, IdMixin, TimestampMixin, VersionedMixin, Base):
    """A client brand."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    default_currency: Mapped[str] = mapped_column(String(3), default="USD")
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="org", lazy="raise")


class User(IdMixin, TimestampMixin, VersionedMixin, Base):
    """Everyone who logs in: brand users, coordinators (`is_staff`) and admins (`is_admin`)."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # portal sessions started before this moment are over (a changed password signs out every other browser)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="raise")

    @property
    def display_name(self) -> str:
        return User.name_to_show(self.name, self.email)

    @staticmethod
    def name_to_show(name: str, email: str) -> str:
        """What a user is called on pages: the name, else the email address (for rows read as columns)."""
        return name or email


class Membership(IdMixin, TenantOwned, TimestampMixin, Base):
    """A user's role in one organization."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_memberships_org_user"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole), default=OrgRole.member)

    org: Mapped[Organization] = relationship(back_populates="memberships", lazy="raise")
    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")


class ApiToken(IdMixin, TimestampMixin, Base):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Invitation(IdMixin, TenantOwned, TimestampMixin, Base):
    """An owner's invitation to join an organization; the link carries a token whose hash is stored."""

    __tablename__ = "invitations"

    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole), default=OrgRole.member)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class PortalSession(IdMixin, Base):
    """One signed-in portal browser. The session cookie carries a random id; only its SHA-256 is stored here, and
    a cookie whose row is gone is signed out (logout, a password change, an admin ending the user's sessions)."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(IdMixin, Base):
    """Failed portal logins of one account (`account:<email>`) or one client address (`address:<ip>`), and until
    when further attempts are refused. Kept in the database: the app servers are stateless replicas."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
