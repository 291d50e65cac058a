"""Back-office forms: actions a raw table edit cannot do safely, done by the same core services as every other door.

Each endpoint opens one SQLAlchemy transaction scoped to the signed-in coordinator, calls a makeready service (which
writes its audit event in that transaction), and turns domain errors into the message piccolo-admin shows
(it shows the text of a ValueError).
"""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from makeready.accounts import service as accounts
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.errors import DomainError

USERS_GROUP = "Users"


class CreateUser(BaseModel):
    email: str = Field(
        description="They sign in to the portal, and to the back office if staff, with this email."
    )
    name: str = ""
    password: SecretStr = Field(
        description="At least 10 characters. Tell them to change it after signing in."
    )
    is_staff: bool = Field(False, description="A coordinator: may sign in to the back office.")
    is_admin: bool = Field(False, description="An agency admin: may also change users.")


def user_forms(engine: AsyncEngine) -> list[FormConfig]:
    async def create_user(request: Request, data: CreateUser) -> str:
        actor = request.user.user
        if not actor.superuser:
            raise ValueError("Only agency admins can create users.")
        try:
            async with unit_of_work(Scope.staff(actor.id), engine=engine) as session:
                user = await accounts.create_user(
                    session,
                    email=data.email,
                    password=data.password.get_secret_value(),
                    name=data.name,
                    is_staff=data.is_staff,
                    is_admin=data.is_admin,
                    actor_id=actor.id,
                )
        except DomainError as exc:
            raise ValueError(exc.message) from None
        return f"Created {user.email}."

    return [
        FormConfig(
            name="Create a user",
            pydantic_model=CreateUser,
            endpoint=create_user,
            description="A brand user, a coordinator or an agency admin, with the password they sign in with.",
            form_group=USERS_GROUP,
        )
    ]
