"""The pricing page in the reader's language: a plan's Chinese description for Chinese readers, the English one
as the fallback; and it promises only what exists."""

from __future__ import annotations

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing.models import Plan
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.demo import DEMO_PLANS
from tests.billing_support import add_plan
from tests.conftest import World, login

ENGLISH = "Coordination of up to five products at a time."
CHINESE = "同时协调最多五个产品。"


async def pricing_in(client: AsyncTestClient[Litestar], email: str, language: str) -> str:
    client.cookies = httpx.Cookies()
    client.headers["Accept-Language"] = language
    await login(client, email)
    page = await client.get("/pricing")
    assert page.status_code == 200
    return page.text


async def test_a_plan_is_described_in_the_readers_language(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    plan = await add_plan(engine, name="Studio")
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await session.execute(update(Plan).where(Plan.id == plan.id).values(description_zh=CHINESE))
    chinese = await pricing_in(client, world.member_a.email, "zh-CN")
    assert CHINESE in chinese
    assert ENGLISH not in chinese
    english = await pricing_in(client, world.member_a.email, "en")
    assert ENGLISH in english
    assert CHINESE not in english


async def test_without_a_chinese_description_chinese_readers_get_the_english_one(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    await add_plan(engine, name="Studio")
    assert ENGLISH in await pricing_in(client, world.member_a.email, "zh-CN")


def test_the_demo_plans_promise_nothing_that_does_not_exist_and_speak_both_languages() -> None:
    for plan in DEMO_PLANS:
        text = f"{plan['description']} {plan['description_zh']}"
        assert "QC" not in text
        assert "checkpoint" not in text.lower()
        assert plan["description_zh"].strip()
