"""Notifications: the bell's unread count on every page, the notifications page in the reader's language, marking
read, the API, and the emails the worker delivers from the outbox through a real SMTP server (aiosmtpd) in each
recipient's language, with markup typed by people shown as text."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready import jobs
from makeready.accounts.models import User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.notify.models import EmailOutbox, Notification, OutboxStatus
from makeready.notify.service import deliver_outbox
from makeready.samples.lifecycle import decide_sample_round
from makeready.settings import EmailSettings, JobSettings, Settings
from tests.conftest import World, csrf, login
from tests.sample_data import arrange
from tests.test_api_samples import _problem, bearer
from tests.test_email import Mailbox, free_port, parts, smtp_url

HOSTILE = '<script>alert("x")</script><b>bold</b>'


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback, in this process."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def mail_settings(settings: Settings, port: int) -> Settings:
    """The test database's settings, sending through the test SMTP server, with jobs in this process."""
    s = Settings()
    s.db = settings.db
    s.email = EmailSettings().model_copy(update={"smtp_url": smtp_url(port)})
    s.jobs = JobSettings().model_copy(update={"redis_url": "", "periodic": False})
    return s


async def _set_locale(engine: AsyncEngine, user: User, locale: str | None) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await session.execute(update(User).where(User.id == user.id).values(locale=locale))


async def _notifications(db: AsyncSession, user: User) -> list[Notification]:
    db.expire_all()
    return list(
        (
            await db.scalars(
                select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
            )
        ).all()
    )


def _bell(html: str) -> int:
    found = re.search(r'class="bell-count">(\d+|99\+)<', html)
    return int(found.group(1)) if found else 0


# --- the bell and the page ---------------------------------------------------------------------------------------


async def test_the_bell_counts_unread_notifications_on_every_page(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=2
    )
    # two rounds arrived: the brand's owner was told twice
    assert [n.kind for n in await _notifications(db, world.owner_a)] == ["sample_received", "sample_received"]
    await login(client, world.owner_a.email)
    for path in (
        "/",
        f"/projects/{arranged.project_id}",
        f"/projects/{arranged.project_id}/samples",
        "/notifications",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert 'href="/notifications"' in page.text, path
        assert _bell(page.text) == 2, path
    await client.post("/notifications/read-all", data={"_csrf_token": csrf(client)})
    assert _bell((await client.get("/")).text) == 0
    # nobody else's count moved: the coordinator has their own
    client.cookies.clear()
    await login(client, world.coordinator.email)
    told = [n.kind for n in await _notifications(db, world.coordinator)]
    assert sorted(told) == ["project_submitted", "sample_rejected"]  # the new product, and round 1 rejected
    assert _bell((await client.get("/")).text) == 2


async def test_notifications_page_in_the_readers_language_with_links(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    await _set_locale(engine, world.owner_a, "zh_Hans")
    arranged = await arrange(
        engine,
        owner=world.owner_a,
        coordinator=world.coordinator,
        org_id=world.org_a.id,
        name=f"Lamp {HOSTILE}",
        rounds=1,
    )
    await login(client, world.owner_a.email)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert "第 1 轮" in page.text or "打样" in page.text
    assert f'href="/projects/{arranged.project_id}"' in page.text
    assert "<script>alert" not in page.text
    assert "<b>bold</b>" not in page.text
    assert "Lamp &lt;script&gt;" in page.text

    client.cookies.clear()
    await login(client, world.member_a.email)  # no preference: English
    english = await client.get("/notifications", headers={"accept-language": "en"})
    assert "Sample round 1 of Lamp &lt;script&gt;" in english.text
    assert "has arrived: approve or reject it." in english.text


async def test_marking_one_and_all_read(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    await arrange(engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=2)
    first, second = [n.id for n in await _notifications(db, world.owner_a)]
    theirs = (await _notifications(db, world.member_a))[0].id
    await login(client, world.owner_a.email)

    unread = await client.get("/notifications?unread=true")
    assert unread.text.count("Mark as read") == 2
    response = await client.post(
        f"/notifications/{first}/read",
        data={"_csrf_token": csrf(client), "next": "/notifications?unread=true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications?unread=true"
    after = {n.id: n.read_at for n in await _notifications(db, world.owner_a)}
    assert after[first] is not None
    assert after[second] is None
    assert (await client.get("/notifications?unread=true")).text.count("Mark as read") == 1

    # another user's notification looks like a missing one, and stays unread
    other = await client.post(f"/notifications/{theirs}/read", data={"_csrf_token": csrf(client)})
    missing = await client.post("/notifications/987654/read", data={"_csrf_token": csrf(client)})
    assert other.status_code == missing.status_code == 404
    assert (await _notifications(db, world.member_a))[0].read_at is None

    await client.post("/notifications/read-all", data={"_csrf_token": csrf(client)})
    assert all(n.read_at is not None for n in await _notifications(db, world.owner_a))
    assert "Nothing unread." in (await client.get("/notifications?unread=true")).text
    assert (await _notifications(db, world.member_a))[0].read_at is None


# --- the API ----------------------------------------------------------------------------------------------------


async def test_notifications_api_paginates_filters_and_marks_read(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=3
    )
    headers = await bearer(engine, world.owner_a)
    _problem(await client.get("/api/v1/notifications"), 401)

    everything = await client.get("/api/v1/notifications", headers=headers)
    assert everything.status_code == 200
    body = everything.json()
    assert body["total"] == 3
    assert body["unread"] == 3
    newest = body["items"][0]
    assert newest["kind"] == "sample_received"
    assert newest["text"] == "Sample round 3 of Arc Pendant has arrived: approve or reject it."
    assert newest["link"] == f"/projects/{arranged.project_id}"
    assert newest["project_id"] == arranged.project_id
    assert newest["params"]["round"] == 3
    assert newest["read_at"] is None

    page = await client.get("/api/v1/notifications", params={"limit": 1, "offset": 1}, headers=headers)
    assert [i["params"]["round"] for i in page.json()["items"]] == [2]
    assert page.json()["total"] == 3

    marked = await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=headers)
    assert marked.status_code == 200
    assert marked.json() == {"marked": 1, "unread": 2}
    again = await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=headers)
    assert again.json() == {"marked": 0, "unread": 2}

    unread = (await client.get("/api/v1/notifications", params={"unread": "true"}, headers=headers)).json()
    assert unread["total"] == 2
    assert all(i["read_at"] is None for i in unread["items"])

    theirs = (await _notifications(db, world.member_a))[0].id
    assert _problem(
        await client.post(f"/api/v1/notifications/{theirs}/read", headers=headers), 404
    ) == _problem(await client.post("/api/v1/notifications/987654/read", headers=headers), 404)
    everyone = await client.post("/api/v1/notifications/read-all", headers=headers)
    assert everyone.json() == {"marked": 2, "unread": 0}
    assert (await _notifications(db, world.member_a))[0].read_at is None

    # in the reader's language
    zh = await client.get("/api/v1/notifications", headers={**headers, "accept-language": "zh-CN"})
    assert "打样" in zh.json()["items"][0]["text"]


async def test_openapi_documents_the_notifications_endpoints(client: AsyncTestClient[Litestar]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    listing = paths["/api/v1/notifications"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"unread", "limit", "offset"}
    assert set(listing["responses"]) >= {"200", "400", "401"}
    assert set(paths["/api/v1/notifications/{notification_id}/read"]["post"]["responses"]) >= {
        "200",
        "401",
        "404",
    }
    assert "/api/v1/notifications/read-all" in paths


# --- email through the outbox --------------------------------------------------------------------------------------


async def test_the_worker_emails_each_recipient_in_their_language(
    smtp: tuple[Mailbox, int], engine: AsyncEngine, db: AsyncSession, settings: Settings, world: World
) -> None:
    box, port = smtp
    await _set_locale(engine, world.coordinator, "zh_Hans")
    await _set_locale(engine, world.owner_a, "en")
    arranged = await arrange(
        engine,
        owner=world.owner_a,
        coordinator=world.coordinator,
        org_id=world.org_a.id,
        name=f"Lamp {HOSTILE}",
        rounds=1,
    )
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await decide_sample_round(
                session,
                actor=world.owner_a,
                round_id=arranged.round_ids[0],
                decision="reject",
                comment=f"Seam open {HOSTILE}",
            )
    async with jobs.running(mail_settings(settings, port)):
        await jobs.enqueue("deliver_outbox")
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(30):
            await worker.drain()
        assert worker.failures == []
    db.expire_all()
    assert {row.status for row in (await db.scalars(select(EmailOutbox))).all()} == {OutboxStatus.sent}

    by_recipient = {env.rcpt_tos[0]: i for i, env in enumerate(box.envelopes)}
    chinese = box.message(by_recipient[world.coordinator.email])
    assert chinese["Subject"].strip() == f"Lamp {HOSTILE} 第 1 轮打样的样品已驳回"
    text, html = parts(chinese)
    assert "Chen Coordinator，您好：" in text
    assert (
        f"owner_a 驳回了 Lamp {HOSTILE} 第 1 轮打样的样品：Seam open {HOSTILE}" in text
    )  # plain text: as typed
    assert '<html lang="zh-Hans">' in html
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "Seam open &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html
    assert f"/projects/{arranged.project_id}" in html

    english = box.message(by_recipient[world.owner_a.email])
    assert english["Subject"].strip() == f"Sample round 1 of Lamp {HOSTILE} has arrived"
    text, html = parts(english)
    assert "Hello owner_a," in text
    assert "has arrived: approve or reject it." in text
    assert "<script>" not in html


async def test_a_change_request_emails_the_coordinator_through_smtp(
    smtp: tuple[Mailbox, int],
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    settings: Settings,
    world: World,
) -> None:
    box, port = smtp
    await _set_locale(engine, world.coordinator, "zh_Hans")
    arranged = await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=1
    )
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await session.execute(update(EmailOutbox).values(status=OutboxStatus.sent))  # only the new one
    await login(client, world.member_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/changes",
        data={"_csrf_token": csrf(client), "title": f"Lid {HOSTILE}", "description": "d", "reason": "r"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    report = await deliver_outbox(engine, mail_settings(settings, port))
    assert report.sent == 1
    message = box.message()
    assert message["To"] == f"Chen Coordinator <{world.coordinator.email}>"
    assert message["Subject"].strip() == f"Arc Pendant 第 1 号变更申请：Lid {HOSTILE}"
    text, html = parts(message)
    assert f"member_a 为 Arc Pendant 提交了第 1 号变更申请：Lid {HOSTILE}" in text
    assert "<script>" not in html
    assert "Lid &lt;script&gt;" in html
