"""What every back-office form shares: translated names and field titles, and one transaction per submission.

piccolo-admin (1.14) posts a form as JSON to /admin/api/forms/<slug>/, validates it with the FormConfig's pydantic
model and calls its endpoint; a ValueError raised there comes back as a 422 whose text the form shows, a returned
string as the success message. It reads the form's name, description and JSON schema on every request, so the
classes here translate them then, in the caller's language (the portal's locale middleware runs before the mount).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.requests import Request

from makeready.accounts.models import User
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.errors import DomainError
from makeready.i18n import N_, _
from makeready.kernel.stale import CONCURRENT_MESSAGE

STAFF_ONLY = N_("Only coordinators can use the back office.")


class FormModel(BaseModel):
    """A form's fields. Titles (the labels piccolo-admin shows) and descriptions are msgids, translated when
    piccolo-admin asks for the schema."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = super().model_json_schema(*args, **kwargs)
        for prop in schema.get("properties", {}).values():
            for key in ("title", "description"):
                if isinstance(prop.get(key), str):
                    prop[key] = _(prop[key])
        return schema


class Form(FormConfig):
    """A FormConfig whose name, description and group are msgids shown in the reader's language. The slug (its
    URL) comes from the English name and never changes with the language."""

    def __init__(
        self,
        name: str,
        pydantic_model: type[BaseModel],
        endpoint: Callable[[Request, Any], Coroutine[None, None, str]],
        description: str | None = None,
        form_group: str | None = None,
    ) -> None:
        super().__init__(
            name=name,
            pydantic_model=pydantic_model,
            endpoint=endpoint,
            description=description,
            form_group=form_group,
        )
        self.slug = name.replace(" ", "-").lower()

    @property  # piccolo sets a plain attribute; ours translates on read
    def name(self) -> str:
        return _(self._name)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def description(self) -> str | None:
        return _(self._description) if self._description else None

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def form_group(self) -> str | None:
        return _(self._form_group) if self._form_group else None

    @form_group.setter
    def form_group(self, value: str | None) -> None:
        self._form_group = value


Action = Callable[[AsyncSession, User], Awaitable[str]]


async def run(engine: AsyncEngine, request: Request, action: Action) -> str:
    """Run `action` for the signed-in coordinator in one transaction of its own; its message on success.

    The services write their audit events in that transaction. A refusal (any DomainError, a concurrent writer's
    version conflict) rolls everything back and becomes the ValueError whose text piccolo-admin shows."""
    staff = request.user.user  # piccolo's StaffUser row (backoffice.identity)
    try:
        async with unit_of_work(Scope.staff(int(staff.id)), engine=engine) as session:
            actor = await session.get(User, int(staff.id))
            if actor is None or not (actor.is_active and actor.is_staff):
                raise ValueError(_(STAFF_ONLY))
            return await action(session, actor)
    except DomainError as exc:
        raise ValueError(exc.message) from None
    except (StaleDataError, IntegrityError):
        raise ValueError(_(CONCURRENT_MESSAGE) % {"subject": _("record")}) from None
