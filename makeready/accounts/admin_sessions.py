"""Back-office login sessions: the table piccolo-admin's session auth reads and writes.

The columns are those of piccolo_api's `SessionsBase` (token, user_id, expiry_date, max_expiry_date), so the back
office can store its sessions here, in the same database and through the same migrations as everything else. The
timestamps use our UTC column type: Piccolo and SQLAlchemy then read each other's values on SQLite too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from makeready.db.base import Base, IdMixin


class AdminSession(IdMixin, Base):
    """One signed-in back-office browser. Only staff users ever get a row (the login refuses everyone else)."""

    __tablename__ = "admin_sessions"

    token: Mapped[str] = mapped_column(String(100), unique=True)
    # a deleted user's sessions go with them; piccolo only ever compares this id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expiry_date: Mapped[datetime]
    max_expiry_date: Mapped[datetime]
