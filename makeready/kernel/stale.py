"""The stale-write check: one message, whichever record and door.

Editable records carry a version column. A form that saw an older version is refused with the record's current
state (`check_version`), and a concurrent writer that wins between our read and our flush turns into the same kind
of Conflict (`flush`), on SQLite and PostgreSQL alike (SQLite ignores FOR UPDATE; the version column is the guard).
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from makeready.errors import Conflict
from makeready.i18n import N_, _, label

STALE_MESSAGE = N_(
    "Someone else changed this %(subject)s while you were looking at it: it is now %(state)s. Reload it and try again."
)
CONCURRENT_MESSAGE = N_("Someone else changed this %(subject)s at the same time. Reload it and try again.")


class _HasColumn(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def column(self) -> str: ...


def check_version(obj: Any, expected_version: int | None, machine: _HasColumn) -> None:
    """A form that saw an older version of the row is refused with the current state."""
    if expected_version is not None and getattr(obj, "version", None) != expected_version:
        state = getattr(obj, machine.column)
        raise Conflict(
            _(STALE_MESSAGE) % {"subject": _(machine.subject), "state": label(state)},
            current_version=obj.version,
            current_state=str(state.value) if isinstance(state, enum.Enum) else str(state),
        )


async def flush(session: AsyncSession, subject: str) -> None:
    """Flush, turning a concurrent writer's win (the version column) into a Conflict. `subject` is an N_ msgid."""
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(_(CONCURRENT_MESSAGE) % {"subject": _(subject)}) from None
    except IntegrityError as exc:
        raise Conflict(_(CONCURRENT_MESSAGE) % {"subject": _(subject)}) from exc
