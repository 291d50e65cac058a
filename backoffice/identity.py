"""One identity: piccolo-admin logs in the people of our `users` table, with their portal password.

piccolo-admin authenticates against a `BaseUser` table and keeps sessions in a `SessionsBase` table. Here both are
mapped onto our own tables instead of Piccolo's (`piccolo_user`, `sessions`):

- `StaffUserMixin` maps BaseUser's column names onto `users` with `db_column_name` (username -> email,
  password -> password_hash, active -> is_active, admin -> is_staff, superuser -> is_admin, last_login ->
  last_login_at, first_name -> name) and switches off the BaseUser columns we do not have (last_name, email), so
  no query ever names a column that does not exist. Its `login` checks our argon2 hashes and admits only active
  staff; its `hash_password` writes argon2, never Piccolo's pbkdf2.
- `AdminSessionMixin` stores sessions in `admin_sessions` with timezone-aware UTC timestamps (piccolo_api uses
  naive local times and compares them with `datetime.now()`).

The classes themselves are built per app in `backoffice.build_identity`, bound to that app's engine.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Boolean, Secret, Timestamptz, Varchar
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts import sessions
from makeready.accounts.models import User
from makeready.accounts.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from makeready.accounts.service import normalize_email
from makeready.audit import service as audit
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.db.types import utcnow

logger = logging.getLogger(__name__)

# argon2 encodes its parameters in the hash; anything starting so is a stored hash, never a password to hash.
_HASH_PREFIX = "$argon2"
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_HASH_PREFIX)


class StaffUserMixin:
    """BaseUser, read from and written to our `users` table. Mixed in before `BaseUser`."""

    username = Varchar(length=MAX_EMAIL_LENGTH, unique=True, db_column_name="email")
    password = Secret(length=255, db_column_name="password_hash")
    first_name = Varchar(length=200, default="", db_column_name="name")
    active = Boolean(default=True, db_column_name="is_active")
    admin = Boolean(
        default=False, db_column_name="is_staff", help_text="Staff may sign in to the back office."
    )
    superuser = Boolean(default=False, db_column_name="is_admin", help_text="Agency admins may change users.")
    last_login = Timestamptz(null=True, default=None, required=False, db_column_name="last_login_at")
    # BaseUser's other columns have no counterpart in `users`: None removes them from the Piccolo class
    last_name = None
    email = None

    _min_password_length = MIN_LENGTH
    _max_password_length = MAX_PASSWORD_LENGTH
    # SQLAlchemy engine of the same database, for writes that must leave an audit event (set per app)
    _accounts_engine: AsyncEngine | None = None

    def __init__(self, **kwargs: Any) -> None:
        # BaseUser re-hashes whatever does not look like pbkdf2, including the argon2 hash of every row it loads
        password = kwargs.get("password")
        if password and not _is_hash(password):
            kwargs["password"] = type(self).hash_password(password)
        Table.__init__(self, **kwargs)  # type: ignore[arg-type]  # self is a Table once mixed in

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "password" and value and not _is_hash(value):
            value = type(self).hash_password(value)
        Table.__setattr__(self, name, value)

    @classmethod
    def _validate_password(cls, password: str) -> None:
        if not password:
            raise ValueError("A password must be provided.")
        if len(password) < cls._min_password_length:
            raise ValueError(f"The password must be at least {cls._min_password_length} characters long.")
        if len(password) > cls._max_password_length:
            raise ValueError("The password is too long.")
        if _is_hash(password):
            raise ValueError("Do not pass a hashed password.")

    @classmethod
    def hash_password(cls, password: str, salt: str = "", iterations: int | None = None) -> str:
        """argon2id through makeready.accounts.passwords; Piccolo's salt and iteration arguments do not apply."""
        if len(password) > cls._max_password_length:
            raise ValueError("The password is too long.")
        return hash_password(password)

    @classmethod
    async def update_password(cls, user: str | int, password: str) -> None:
        """Set a new password (piccolo-admin's change-password page), recorded in the audit trail like the
        portal's change, in one transaction."""
        cls._validate_password(password)
        if cls._accounts_engine is None:
            raise RuntimeError("StaffUser was built without its accounts engine")
        where = User.id == user if isinstance(user, int) else User.email == user.strip().lower()
        async with unit_of_work(Scope.system(), engine=cls._accounts_engine) as session:
            row = await session.scalar(select(User).where(where))
            if row is None:
                raise ValueError("There is no such user.")
            row.password_hash = hash_password(password)
            row.password_changed_at = utcnow()
            # every session of the user ends, portal and back office, as after a change in the portal
            await sessions.end_all(session, user_id=row.id)
            await audit.record(
                session,
                actor_id=row.id,
                action="user.password_changed",
                subject_type="user",
                subject_id=row.id,
                reason="changed in the back office",
            )

    @classmethod
    def split_stored_password(cls, password: str) -> list[str]:
        raise ValueError("argon2 hashes are verified whole, not split")

    @classmethod
    async def login(cls, username: str, password: str) -> int | None:
        """The id of an active staff user with this email and password, else None (brand users included).

        Takes the same time whether or not the email exists, like the portal's login."""
        email = (username or "").strip().lower()
        if len(email) > MAX_EMAIL_LENGTH or len(password or "") > MAX_PASSWORD_LENGTH:
            return None
        table: Any = cls
        row = (
            await table.select(
                table._meta.primary_key.as_alias("id"),
                table.password.as_alias("password"),
                table.active.as_alias("active"),
                table.admin.as_alias("admin"),
            )
            .where(table.username == email)
            .first()
            .run()
        )
        stored = row["password"] if row else None
        if not (verify_password(stored, password or "") and row and row["active"] and row["admin"]):
            return None
        values: dict[Any, Any] = {table.last_login: datetime.now(UTC)}
        if stored and needs_rehash(stored):
            values[table.password] = hash_password(password)
        await table.update(values).where(table._meta.primary_key == row["id"]).run()
        return int(row["id"])

    @classmethod
    async def create_user(cls, username: str, password: str, **extra_params: Any) -> Any:
        cls._validate_password(password)
        extra_params["admin"] = bool(extra_params.get("admin")) or bool(extra_params.get("superuser"))
        user: Any = cls(username=normalize_email(username), password=password, **extra_params)
        await user.save().run()
        return user


def _aware(value: datetime | str | None, fallback: datetime) -> datetime:
    """UTC-aware from what either driver returns: aware datetimes (asyncpg), ISO strings (SQLite DATETIME
    columns have no Piccolo converter), or piccolo_api's naive local times."""
    if value is None:
        return fallback
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    # astimezone reads a naive value as local time, which is what piccolo_api's datetime.now() produced
    return value.astimezone(UTC)


class AdminSessionMixin:
    """SessionsBase over `admin_sessions`, with UTC-aware expiry times. Mixed in before `SessionsBase`."""

    token = Varchar(length=100, null=False, secret=True)

    @classmethod
    async def create_session(
        cls,
        user_id: int,
        expiry_date: datetime | None = None,
        max_expiry_date: datetime | None = None,
    ) -> Any:
        table: Any = cls
        now = datetime.now(UTC)
        # a good moment to forget sessions nobody can use any more
        await table.delete().where(table.max_expiry_date < now).run()
        session = table(
            token=secrets.token_urlsafe(32),
            user_id=user_id,
            expiry_date=_aware(expiry_date, now + timedelta(hours=1)),
            max_expiry_date=_aware(max_expiry_date, now + timedelta(days=1)),
        )
        await session.save().run()
        return session

    @classmethod
    async def get_user_id(cls, token: str, increase_expiry: timedelta | None = None) -> int | None:
        table: Any = cls
        row = (
            await table.select(
                table._meta.primary_key.as_alias("id"),
                table.user_id.as_alias("user_id"),
                table.expiry_date.as_alias("expiry_date"),
                table.max_expiry_date.as_alias("max_expiry_date"),
            )
            .where(table.token == token)
            .first()
            .run()
        )
        if not row:
            return None
        now = datetime.now(UTC)
        expiry = _aware(row["expiry_date"], now)
        max_expiry = _aware(row["max_expiry_date"], now)
        if not (expiry > now and max_expiry > now):
            return None
        if increase_expiry and expiry - now < increase_expiry:
            await (
                table.update({table.expiry_date: min(expiry + increase_expiry, max_expiry)})
                .where(table._meta.primary_key == row["id"])
                .run()
            )
        return int(row["user_id"])


STAFF_USER_BASES: tuple[type, ...] = (StaffUserMixin, BaseUser)
ADMIN_SESSION_BASES: tuple[type, ...] = (AdminSessionMixin, SessionsBase)
