"""Factory links through HTTP: sending, the factory's page (Chinese first, headers, no third-party assets), views,
expiry, revoke, supersede, acknowledgement, questions and answers, the brand's decision log, and the rate limit.

One client; each identity (coordinator, brand owner, the factory with no account) has its own cookie jar.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.accounts.models import User
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.notify.models import Notification
from makeready.projects.models import Phase, Project
from makeready.specs import service as specs
from makeready.specs.models import FactoryLink, FactoryQuestion, SpecRevision
from makeready.suppliers.models import Supplier
from portal.factory import MISS_LIMIT, MISSES
from tests.conftest import World, csrf, login

HOSTILE = '<script>alert("x")</script><img src=https://evil.example/x.png style="color:red">'


def content(*, summary: str = "A brass pendant lamp", photo_id: int | None = None) -> dict[str, Any]:
    def t(en: str, zh: str) -> dict[str, str]:
        return {"en": en, "zh": zh, "status": "reviewed"}

    return {
        "overview": {
            "product_name": t("Arc Pendant", "弧形吊灯"),
            "summary": t(summary, "黄铜吊灯" + summary[-3:]),
            "model_number": "ARC-01",
        },
        "dimensions": [
            {
                "id": "d1",
                "feature": t("Shade diameter", "灯罩直径"),
                "value": "300",
                "unit": "mm",
                "tolerance_plus": "0.5",
                "tolerance_minus": "0.5",
            }
        ],
        "figures": (
            [{"id": "g1", "source": "sample_photo", "ref_id": photo_id, "caption": t("Front", "正面")}]
            if photo_id
            else []
        ),
    }


class Jar:
    """Switches the shared client between identities, each with its own cookies."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client
        self.jars: dict[str, httpx.Cookies] = {}
        self.current: str | None = None

    async def be(self, who: str, email: str | None = None) -> AsyncTestClient[Litestar]:
        if self.current is not None:
            self.jars[self.current] = httpx.Cookies(self.client.cookies)
        self.current = who
        if who in self.jars:
            self.client.cookies = httpx.Cookies(self.jars[who])
        else:
            self.client.cookies = httpx.Cookies()
            if email:
                await login(self.client, email)
        return self.client


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Any:
    MISSES.clear()
    yield
    MISSES.clear()


async def _as(engine: AsyncEngine, user: User, call: Any, **kwargs: Any) -> Any:
    async with make_sessionmaker(engine)() as session:
        set_scope(
            session, Scope.staff(user.id) if user.is_staff else Scope.member(user.id, kwargs.pop("_orgs"))
        )
        async with session.begin():
            return await call(session, actor=user, **kwargs)


async def issue_revision(
    engine: AsyncEngine, world: World, project: Project, *, summary: str, photo_id: int | None = None
) -> SpecRevision:
    """start -> save (Chinese for every English field) -> submit -> approve (brand owner) -> issue."""
    orgs = {world.org_a.id}
    revision = await _as(engine, world.coordinator, specs.start_revision, project_id=project.id)
    await _as(
        engine,
        world.coordinator,
        specs.save_content,
        revision_id=revision.id,
        content=content(summary=summary, photo_id=photo_id),
        expected_version=None,
    )
    await _as(engine, world.coordinator, specs.act, action="submit", revision_id=revision.id)
    await _as(engine, world.owner_a, specs.act, action="approve", revision_id=revision.id, _orgs=orgs)
    issued: SpecRevision = await _as(
        engine, world.coordinator, specs.act, action="issue", revision_id=revision.id
    )
    return issued


async def system_session(engine: AsyncEngine) -> Any:
    session = make_sessionmaker(engine)()
    set_scope(session, Scope.system())
    return session


@pytest.fixture
async def arranged(engine: AsyncEngine, world: World) -> dict[str, Any]:
    """Org A's project in development with revision A issued, and two suppliers."""
    async with await system_session(engine) as session, session.begin():
        project = Project(
            org_id=world.org_a.id,
            name="Arc Pendant",
            phase=Phase.development,
            coordinator_id=world.coordinator.id,
        )
        mill = Supplier(
            name_en="Foshan Metalworks", name_zh="佛山金属制品厂", contact_email="f@metal.example"
        )
        glass = Supplier(name_en="Ningbo Glass", name_zh="宁波玻璃厂")
        session.add_all([project, mill, glass])
    revision = await issue_revision(engine, world, project, summary="A brass pendant lamp")
    return {"project": project, "revision": revision, "mill": mill, "glass": glass}


async def send(client: AsyncTestClient[Litestar], project_id: int, supplier_id: int, days: str = "30") -> str:
    """The coordinator sends the current revision; returns the token from the page that shows it once."""
    response = await client.post(
        f"/coordinator/projects/{project_id}/factory-links",
        data={"_csrf_token": csrf(client), "supplier_id": str(supplier_id), "expires_in_days": days},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    found = re.search(r'<code id="new-link">http://[^<]*/f/([A-Za-z0-9_-]+)</code>', response.text)
    assert found, response.text
    return found.group(1)


async def link_of(engine: AsyncEngine, token: str) -> FactoryLink:
    async with await system_session(engine) as session:
        link = await session.scalar(
            select(FactoryLink).where(FactoryLink.token_hash == hashlib.sha256(token.encode()).hexdigest())
        )
        assert link is not None
        return link


async def events(engine: AsyncEngine, action: str) -> list[AuditEvent]:
    async with await system_session(engine) as session:
        return list((await session.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


# -- sending ----------------------------------------------------------------------------------------------------


async def test_a_link_has_256_random_bits_is_shown_once_and_only_its_hash_is_stored(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    project = arranged["project"]
    token = await send(coordinator, project.id, arranged["mill"].id)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    link = await link_of(engine, token)
    assert link.revision_id == arranged["revision"].id
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (link.expires_at - utcnow()).days in (29, 30)
    # the token is nowhere in the database: not in the link, the audit chain, nor a notification or an email
    async with await system_session(engine) as session:
        for model in (FactoryLink, AuditEvent, Notification):
            for row in (await session.scalars(select(model))).all():
                assert token not in repr({c.key: getattr(row, c.key) for c in model.__table__.columns})
    # nor on the page afterwards
    page = await coordinator.get(f"/coordinator/projects/{project.id}/factory-links")
    assert page.status_code == 200
    assert token not in page.text
    assert "Foshan Metalworks" in page.text
    sent = await events(engine, "factory_link.sent")
    assert (sent[0].after or {})["label"] == "A"


async def test_only_staff_reach_the_coordinator_page_and_only_an_issued_revision_is_sent(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    project = arranged["project"]
    anonymous = await jar.be("anonymous")
    response = await anonymous.get(
        f"/coordinator/projects/{project.id}/factory-links", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    owner = await jar.be("owner", world.owner_a.email)
    assert (await owner.get(f"/coordinator/projects/{project.id}/factory-links")).status_code == 403
    response = await owner.post(
        f"/coordinator/projects/{project.id}/factory-links",
        data={"_csrf_token": csrf(owner), "supplier_id": str(arranged["mill"].id)},
    )
    assert response.status_code == 403
    coordinator = await jar.be("coordinator", world.coordinator.email)
    # an unknown supplier, a silly expiry: the form again with the message, nothing stored
    for data in (
        {"supplier_id": "987654"},
        {"supplier_id": str(arranged["mill"].id), "expires_in_days": "0"},
    ):
        response = await coordinator.post(
            f"/coordinator/projects/{project.id}/factory-links",
            data={"_csrf_token": csrf(coordinator), **data},
        )
        assert response.status_code == 422, response.text
        assert 'role="alert"' in response.text
    assert await events(engine, "factory_link.sent") == []
    missing = await coordinator.get("/coordinator/projects/987654/factory-links")
    assert missing.status_code == 404


# -- the factory's page -----------------------------------------------------------------------------------------


async def test_the_factory_page_opens_in_chinese_sets_no_cookie_and_loads_nothing_from_elsewhere(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, arranged["project"].id, arranged["mill"].id)
    factory = await jar.be("factory")
    response = await factory.get(f"/f/{token}")
    assert response.status_code == 200, response.text
    body = response.text
    assert '<html lang="zh-Hans"' in body
    assert "弧形吊灯" in body
    assert "下载" in body
    assert '<meta name="robots" content="noindex' in body
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "set-cookie" not in response.headers
    assert "<script" not in body
    # every address the page refers to is on our own origin
    for address in re.findall(r'(?:src|href|action)="([^"]*)"', body):
        assert not re.match(r"^(https?:)?//", address), address
    assert f'href="/f/{token}/spec.pdf"' in body
    assert 'id="f-dimensions-d1-feature"' in body

    english = await factory.get(f"/f/{token}?lang=en")
    assert '<html lang="en"' in english.text
    assert "Download the PDF" in english.text
    assert english.headers["content-language"] == "en"
    also = await factory.get(f"/f/{token}/en?field=dimensions.d1.feature")
    assert '<option value="dimensions.d1.feature" selected>' in also.text


async def test_views_are_counted(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, arranged["project"].id, arranged["mill"].id)
    factory = await jar.be("factory")
    for _ in range(3):
        assert (await factory.get(f"/f/{token}")).status_code == 200
    # the PDF and the pictures are not views
    link = await link_of(engine, token)
    assert link.view_count == 3
    assert link.first_opened_at is not None
    assert link.last_opened_at is not None
    assert link.first_opened_at <= link.last_opened_at
    if engine.dialect.name == "postgresql":  # SQLite serialises writers; concurrency is PostgreSQL's to prove
        responses = await asyncio.gather(*(factory.get(f"/f/{token}") for _ in range(8)))
        assert [r.status_code for r in responses] == [200] * 8
        assert (await link_of(engine, token)).view_count == 11
    coordinator = await jar.be("coordinator")
    page = await coordinator.get(f"/coordinator/projects/{arranged['project'].id}/factory-links")
    assert re.search(r'<td class="num views">(3|11)</td>', page.text)


async def test_an_expired_link_is_gone_with_a_bilingual_message(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, arranged["project"].id, arranged["mill"].id, days="1")
    factory = await jar.be("factory")
    assert (await factory.get(f"/f/{token}")).status_code == 200
    async with await system_session(engine) as session, session.begin():
        await session.execute(
            update(FactoryLink).values(expires_at=utcnow() - timedelta(seconds=1)).where(FactoryLink.id > 0)
        )
    for response in (
        await factory.get(f"/f/{token}"),
        await factory.get(f"/f/{token}/spec.pdf"),
        await factory.post(f"/f/{token}/acknowledge", data={"name": "Li"}),
    ):
        assert response.status_code == 410
        assert "链接已过期" in response.text or "已过期" in response.text
        assert "expired" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
    assert (await link_of(engine, token)).acknowledged_at is None


async def test_a_revoked_link_is_gone(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    project = arranged["project"]
    token = await send(coordinator, project.id, arranged["mill"].id)
    link = await link_of(engine, token)
    url = f"/coordinator/projects/{project.id}/factory-links/{link.id}/revoke"
    response = await coordinator.post(url, data={"_csrf_token": csrf(coordinator)}, follow_redirects=False)
    assert response.status_code == 303
    again = await coordinator.post(url, data={"_csrf_token": csrf(coordinator)})
    assert again.status_code == 409
    factory = await jar.be("factory")
    gone = await factory.get(f"/f/{token}")
    assert gone.status_code == 410
    assert len(await events(engine, "factory_link.revoked")) == 1
    # a link of another project is not found through this project's page
    coordinator = await jar.be("coordinator")
    other = await coordinator.post(
        f"/coordinator/projects/{project.id + 1000}/factory-links/{link.id}/revoke",
        data={"_csrf_token": csrf(coordinator)},
    )
    assert other.status_code == 404


async def test_unknown_tokens_are_not_found_and_repeated_ones_rate_limited(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, arranged["project"].id, arranged["mill"].id)
    factory = await jar.be("factory")
    for index in range(MISS_LIMIT):
        guess = "x" * 20 + f"{index:023d}"
        response = await factory.get(f"/f/{guess}")
        assert response.status_code == 404
    limited = await factory.get(f"/f/{token}")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["referrer-policy"] == "no-referrer"
    MISSES.clear()
    assert (await factory.get(f"/f/{token}")).status_code == 200


# -- supersede --------------------------------------------------------------------------------------------------


async def test_a_newer_revision_supersedes_the_link_and_the_coordinator_sees_who_has_not_opened_it(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    project = arranged["project"]
    coordinator = await jar.be("coordinator", world.coordinator.email)
    old_mill = await send(coordinator, project.id, arranged["mill"].id)
    await send(coordinator, project.id, arranged["glass"].id)
    factory = await jar.be("factory")
    assert (await factory.get(f"/f/{old_mill}")).status_code == 200

    await issue_revision(engine, world, project, summary="A brass pendant lamp, taller")
    page = await factory.get(f"/f/{old_mill}")
    assert page.status_code == 200
    assert 'id="superseded"' in page.text
    assert "修订版 B" in page.text or "B" in page.text
    assert "superseded by revision B" in page.text
    assert 'id="ask"' not in page.text
    refused = await factory.post(f"/f/{old_mill}/acknowledge", data={"name": "Li Wei"})
    assert refused.status_code == 409
    refused = await factory.post(f"/f/{old_mill}/questions", data={"name": "Li Wei", "question": "?"})
    assert refused.status_code == 409

    coordinator = await jar.be("coordinator")
    links_page = await coordinator.get(f"/coordinator/projects/{project.id}/factory-links")
    unopened = links_page.text.split('id="unopened"')[1].split("</section>")[0]
    assert "Foshan Metalworks" in unopened
    assert "Ningbo Glass" in unopened
    assert "send the new one" in unopened
    new_mill = await send(coordinator, project.id, arranged["mill"].id)
    links_page = await coordinator.get(f"/coordinator/projects/{project.id}/factory-links")
    unopened = links_page.text.split('id="unopened"')[1].split("</section>")[0]
    assert "sent, not opened yet" in unopened
    factory = await jar.be("factory")
    assert 'id="superseded"' not in (await factory.get(f"/f/{new_mill}")).text
    coordinator = await jar.be("coordinator")
    links_page = await coordinator.get(f"/coordinator/projects/{project.id}/factory-links")
    unopened = links_page.text.split('id="unopened"')[1].split("</section>")[0]
    assert "Foshan Metalworks" not in unopened
    assert "Ningbo Glass" in unopened


# -- acknowledgement and questions ------------------------------------------------------------------------------


async def test_the_factory_acknowledges_once_with_its_name_and_the_brand_reads_it(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    project = arranged["project"]
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, project.id, arranged["mill"].id)
    factory = await jar.be("factory")
    blank = await factory.post(f"/f/{token}/acknowledge", data={"name": "  "})
    assert blank.status_code == 422
    assert blank.headers["referrer-policy"] == "no-referrer"
    too_long = await factory.post(f"/f/{token}/acknowledge", data={"name": "x" * 121})
    assert too_long.status_code == 422
    other_site = await factory.post(
        f"/f/{token}/acknowledge", data={"name": "Li"}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    # `Origin: null` is what Chromium sends from our own page (it has `Referrer-Policy: no-referrer`), and also
    # what a sandboxed frame or a no-referrer page on another site sends: Sec-Fetch-Site tells them apart
    for fetch_site in ("cross-site", "same-site", "none", None):
        headers = {"origin": "null"} | ({"sec-fetch-site": fetch_site} if fetch_site else {})
        hidden_site = await factory.post(f"/f/{token}/acknowledge", data={"name": "Li"}, headers=headers)
        assert hidden_site.status_code == 403, fetch_site
    cross_site = await factory.post(
        f"/f/{token}/acknowledge", data={"name": "Li"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert (await link_of(engine, token)).acknowledged_at is None

    done = await factory.post(
        f"/f/{token}/acknowledge",
        data={"name": HOSTILE},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},  # as Chromium posts from the page
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/f/{token}?done=acknowledged")
    page = await factory.get(done.headers["location"])
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(" in page.text
    again = await factory.post(f"/f/{token}/acknowledge", data={"name": "Li Wei"})
    assert again.status_code == 409

    link = await link_of(engine, token)
    assert link.acknowledged_name == HOSTILE
    [event] = await events(engine, "factory.acknowledged")
    assert (event.after or {})["content_hash"] == arranged["revision"].content_hash != ""
    assert event.project_id == project.id
    async with await system_session(engine) as session:
        kinds = (
            await session.scalars(
                select(Notification.kind).where(Notification.user_id == world.coordinator.id)
            )
        ).all()
    assert "factory_acknowledged" in kinds

    owner = await jar.be("owner", world.owner_a.email)
    project_page = await owner.get(f"/projects/{project.id}")
    assert project_page.status_code == 200
    assert "acknowledged revision A of the specification" in project_page.text
    assert "<script>alert" not in project_page.text


async def test_questions_on_a_field_are_answered_by_the_coordinator_and_the_brand_reads_both(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    project = arranged["project"]
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, project.id, arranged["mill"].id)
    factory = await jar.be("factory")
    wrong = await factory.post(
        f"/f/{token}/questions", data={"field": "dimensions.nope.feature", "name": "Li", "question": "?"}
    )
    assert wrong.status_code == 422
    assert "不是规格" in wrong.text or "not part of the specification" in wrong.text
    empty = await factory.post(f"/f/{token}/questions", data={"field": "", "name": "Li", "question": " "})
    assert empty.status_code == 422
    asked = await factory.post(
        f"/f/{token}/questions",
        data={"field": "dimensions.d1.feature", "name": "Li Wei", "question": HOSTILE, "lang": "en"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    assert "lang=en" in asked.headers["location"]
    page = await factory.get(f"/f/{token}")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;" in page.text
    async with await system_session(engine) as session:
        question = await session.scalar(select(FactoryQuestion))
        assert question is not None
        assert question.field_path == "dimensions.d1.feature"
        kinds = (await session.scalars(select(Notification.kind))).all()
    assert "factory_question_asked" in kinds

    coordinator = await jar.be("coordinator")
    links_page = await coordinator.get(f"/coordinator/projects/{project.id}/factory-links")
    assert "&lt;script&gt;" in links_page.text
    assert HOSTILE not in links_page.text
    url = f"/coordinator/projects/{project.id}/factory-questions/{question.id}/answer"
    stale = await coordinator.post(
        url, data={"_csrf_token": csrf(coordinator), "version": str(question.version + 1), "answer": "300 mm"}
    )
    assert stale.status_code == 409
    answered = await coordinator.post(
        url,
        data={
            "_csrf_token": csrf(coordinator),
            "version": str(question.version),
            "answer": "±0.5 mm <b>ok</b>",
        },
        follow_redirects=False,
    )
    assert answered.status_code == 303
    factory = await jar.be("factory")
    page = await factory.get(f"/f/{token}")
    assert "±0.5 mm &lt;b&gt;ok&lt;/b&gt;" in page.text

    owner = await jar.be("owner", world.owner_a.email)
    project_page = await owner.get(f"/projects/{project.id}")
    assert "asked about Dimensions and tolerances, row 1: Feature" in project_page.text
    assert "answered Foshan Metalworks about Dimensions and tolerances, row 1: Feature" in project_page.text
    assert "<script>alert" not in project_page.text
    assert "<b>ok</b>" not in project_page.text
    owner_b = await jar.be("owner_b", world.owner_b.email)
    assert (await owner_b.get(f"/projects/{project.id}")).status_code == 404


async def test_the_pdf_is_offered_and_downloaded(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, arranged["project"].id, arranged["mill"].id)
    factory = await jar.be("factory")
    response = await factory.get(f"/f/{token}/spec.pdf")
    for _ in range(240):  # the render runs in-process after the request commits: wait for it, not for a time
        if response.status_code != 202:
            break
        assert '<meta http-equiv="refresh"' in response.text
        await asyncio.sleep(0.25)
        response = await factory.get(f"/f/{token}/spec.pdf")
    assert response.status_code == 200, response.text[:500]
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert "rev-A.pdf" in response.headers["content-disposition"] or "rev A" in response.headers[
        "content-disposition"
    ].replace("%20", " ")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (await link_of(engine, token)).view_count == 0


async def test_the_revisions_pictures_and_nothing_else_are_served(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, arranged: dict[str, Any]
) -> None:
    from makeready.projects.models import Attachment
    from makeready.samples.models import SampleStatus
    from makeready.storage import get_storage
    from tests.s3server import png_bytes
    from tests.workflow_support import make_round

    project = arranged["project"]
    _round, [photo] = await make_round(engine, project, status=SampleStatus.approved, photos=1)
    async with await system_session(engine) as session:
        attachment = await session.get_one(Attachment, photo.attachment_id)
    image = png_bytes(64, 48)
    await get_storage().put(attachment.object_key, image, content_type="image/png")
    async with await system_session(engine) as session, session.begin():
        await session.execute(
            update(Attachment).values(content_type="image/png").where(Attachment.id == attachment.id)
        )
    await issue_revision(engine, world, project, summary="A brass pendant lamp, pictured", photo_id=photo.id)

    jar = Jar(client)
    coordinator = await jar.be("coordinator", world.coordinator.email)
    token = await send(coordinator, project.id, arranged["mill"].id)
    factory = await jar.be("factory")
    page = await factory.get(f"/f/{token}")
    assert f'src="/f/{token}/photos/g1"' in page.text
    picture = await factory.get(f"/f/{token}/photos/g1")
    assert picture.status_code == 200
    assert picture.content == image
    assert picture.headers["content-type"] == "image/png"
    assert picture.headers["referrer-policy"] == "no-referrer"
    assert (await factory.get(f"/f/{token}/photos/g2")).status_code == 404
    assert (await factory.get("/f/" + "y" * 43 + "/photos/g1")).status_code == 404
