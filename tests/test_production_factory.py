"""The factory's production link through HTTP: the order page (Chinese first, no cookie, strict CSP, no referrer),
accepting or proposing a date, progress reports with photos, tooling trials, refusals in both languages with nothing
written, another order's lot or photo a 404, revoked and expired links 410, the spec one click away.

The factory has no account: the requests carry no cookie, and the forms post as a browser on the page would.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import i18n
from makeready.db.types import utcnow
from makeready.production import links
from makeready.production import lots as lot_service
from makeready.production import tooling as tooling_service
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionLink,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
    ToolingStatus,
)
from makeready.projects.models import Attachment
from makeready.storage import get_storage
from portal.factory import MISS_LIMIT, MISSES
from tests.conftest import World
from tests.production_support import Arranged, arrange_project, in_days, make_order
from tests.workflow_support import People, call_as, reload, session_as, system

SAME_ORIGIN = {"sec-fetch-site": "same-origin", "origin": "null"}
"""What Chromium sends from our no-referrer page (portal/factory.py `_same_origin`)."""


def people_of(world: World) -> People:
    """The `People` the production helpers take, made of the HTTP tests' cast."""
    return People(
        org_a=world.org_a,
        org_b=world.org_b,
        owner_a=world.owner_a,
        member_a=world.member_a,
        viewer_a=world.viewer_a,
        owner_b=world.owner_b,
        coordinator=world.coordinator,
        coordinator2=world.coordinator,
        admin=world.admin,
    )


def zh(msgid: str) -> str:
    return i18n.translations("zh_Hans").gettext(msgid)


def jpeg(color: tuple[int, int, int] = (200, 120, 40), *, maker: str = "") -> bytes:
    """A small JPEG; with `maker`, an EXIF Make tag that verification must strip."""
    out = io.BytesIO()
    image = Image.new("RGB", (64, 48), color)
    if maker:
        exif = Image.Exif()
        exif[0x010F] = maker
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Any:
    MISSES.clear()
    yield
    MISSES.clear()


async def sent_order(
    engine: AsyncEngine, world: World, *, state: str = "sent", start_first: bool = False
) -> tuple[Arranged, ProductionOrder, list[Lot], str]:
    people = people_of(world)
    arranged = await arrange_project(engine, people)
    order, made, token = await make_order(engine, people, arranged, state=state, lots=[1000, 1000, 1000])
    assert token is not None
    if start_first:
        await call_as(engine, people, world.coordinator, lot_service.start_lot, lot_id=made[0].id)
    return arranged, order, made, token


async def count(engine: AsyncEngine, model: Any) -> int:
    async with system(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def media_files() -> set[str]:
    root = Path(os.environ["MEDIA_ROOT"])
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def test_the_order_page_is_chinese_first_with_no_cookie_and_a_strict_policy(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, made, token = await sent_order(engine, world)
    response = await client.get(f"/p/{token}")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "script-src 'none'" in policy
    assert "default-src 'self'" in policy
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="zh-Hans">' in html
    assert "<script" not in html
    heading = zh("Production order %(reference)s") % {"reference": order.reference}
    assert heading != f"Production order {order.reference}"
    assert heading in html
    assert zh("Accept the order") in html
    assert ">3000<" in html  # the quantity
    assert f"/p/{token}/spec" in html  # the spec is one click away
    assert all(f'id="lot-{lot.id}"' in html for lot in made)
    # the coordinator, the brand's people and the agency's other data are not on the factory's page
    assert world.coordinator.email not in html
    assert world.owner_a.email not in html

    english = await client.get(f"/p/{token}?lang=en")
    assert '<html lang="en">' in english.text
    assert f"Production order {order.reference}" in english.text
    async with system(engine) as session:
        link = await session.scalar(select(ProductionLink).where(ProductionLink.order_id == order.id))
        assert link is not None
        assert link.view_count == 2


async def test_the_spec_of_the_pinned_revision_opens_from_the_link(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged, _order, _made, token = await sent_order(engine, world)
    response = await client.get(f"/p/{token}/spec")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert f"Rev {arranged.revision.label}" in response.text
    assert f'href="/p/{token}/spec.pdf"' in response.text
    assert (await client.get(f"/p/{token}/spec/photos/nope")).status_code == 404


async def test_the_factory_accepts_the_order_by_name(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, _made, token = await sent_order(engine, world)
    response = await client.post(
        f"/p/{token}/accept", data={"name": "王磊"}, headers=SAME_ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/p/{token}?done=accepted#answer"
    assert "set-cookie" not in response.headers
    accepted = await reload(engine, ProductionOrder, order.id)
    assert accepted.status == OrderStatus.accepted
    assert accepted.accepted_name == "王磊"
    page = await client.get(response.headers["location"])
    assert zh("Thank you: the order is accepted.") in page.text
    assert "Thank you: the order is accepted." in page.text  # both languages, Chinese first

    # accepting again: the wrong state, in both languages, nothing written
    again = await client.post(f"/p/{token}/accept", data={"name": "王磊"}, headers=SAME_ORIGIN)
    assert again.status_code == 409
    english = "Only an order sent to the factory can be accepted; this one is Accepted by the factory."
    assert english in again.text
    assert again.text.index('lang="zh-Hans">') < again.text.index(english)
    assert (await reload(engine, ProductionOrder, order.id)).version == accepted.version


async def test_the_factory_proposes_another_date_with_a_reason(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, _made, token = await sent_order(engine, world)
    proposed = in_days(75)
    missing_reason = await client.post(
        f"/p/{token}/propose",
        data={"ex_factory_date": proposed.isoformat(), "reason": "", "name": "Wang Lei", "lang": "en"},
        headers=SAME_ORIGIN,
    )
    assert missing_reason.status_code == 422
    assert missing_reason.text.count('class="pl-error"') == 1
    assert 'value="Wang Lei"' in missing_reason.text  # what was typed is kept
    assert (await reload(engine, ProductionOrder, order.id)).proposed_ex_factory_date is None

    response = await client.post(
        f"/p/{token}/propose",
        data={"ex_factory_date": proposed.isoformat(), "reason": "模具需要多两周", "name": "Wang Lei"},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303
    changed = await reload(engine, ProductionOrder, order.id)
    assert changed.status == OrderStatus.sent
    assert changed.proposed_ex_factory_date == proposed
    assert changed.proposal_reason == "模具需要多两周"


async def test_a_progress_report_with_a_photo_is_recorded_and_shown(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, made, token = await sent_order(engine, world, state="accepted", start_first=True)
    lot = made[0]
    response = await client.post(
        f"/p/{token}/lots/{lot.id}/progress",
        data={"count_cut": "400", "count_assembled": "300", "count_finished": "200", "count_packed": "0"}
        | {"note": "第一天", "name": "王磊"},
        files=[("photos", ("line.jpg", jpeg(maker="SpyCam-9000"), "image/jpeg"))],
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/p/{token}?done=reported#lot-{lot.id}"
    async with system(engine) as session:
        report = await session.scalar(select(ProgressReport).where(ProgressReport.lot_id == lot.id))
        assert report is not None
        assert report.counts == {"cut": 400, "assembled": 300, "finished": 200, "packed": 0}
        assert report.via_link
        assert report.reporter_name == "王磊"
        assert report.note == "第一天"
        photo = await session.scalar(select(ProductionPhoto).where(ProductionPhoto.subject_id == report.id))
        assert photo is not None
        assert photo.subject_type == "progress_report"
        assert photo.order_id == order.id
        attachment = await session.get_one(Attachment, photo.attachment_id)
    stored = await get_storage().read(attachment.object_key)
    assert b"SpyCam-9000" not in stored  # re-encoded: EXIF gone
    assert attachment.content_type == "image/jpeg"
    assert (await reload(engine, Lot, lot.id)).progress["finished"] == 200

    page = await client.get(f"/p/{token}")
    assert f'src="/p/{token}/photos/{photo.id}/thumbnail"' in page.text
    assert "第一天" in page.text
    thumbnail = await client.get(f"/p/{token}/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert "set-cookie" not in thumbnail.headers
    whole = await client.get(f"/p/{token}/photos/{photo.id}/image")
    assert whole.status_code == 200
    assert whole.content == stored


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_report_that_contradicts_itself_is_refused_in_both_languages(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World, lang: str
) -> None:
    _arranged, _order, made, token = await sent_order(engine, world, state="accepted", start_first=True)
    lot = made[0]
    before_files = media_files()
    response = await client.post(
        f"/p/{token}/lots/{lot.id}/progress",
        data={"count_cut": "400", "count_assembled": "300", "count_finished": "200", "count_packed": "250"}
        | {"note": "", "name": "Wang Lei", **({"lang": "en"} if lang == "en" else {})},
        files=[("photos", ("line.jpg", jpeg(), "image/jpeg"))],
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 422
    english = (
        "Packed: 250 is more than Finished (200): a step cannot count more units than the step before it."
    )
    chinese = zh(
        "%(step)s: %(count)s is more than %(previous)s (%(previous_count)s): a step cannot count more "
        "units than the step before it."
    ) % {"step": zh("Packed"), "count": 250, "previous": zh("Finished"), "previous_count": 200}
    assert chinese != english
    assert english in response.text
    assert chinese in response.text
    assert response.text.index(chinese) < response.text.index(english)  # Chinese first
    assert 'name="count_packed" min="0" max="1000" step="1" inputmode="numeric" value="250"' in response.text
    # nothing written: no report, no photo, no attachment, no stored object
    assert await count(engine, ProgressReport) == 0
    assert await count(engine, ProductionPhoto) == 0
    assert await count(engine, Attachment) == 0
    assert media_files() == before_files
    assert (await reload(engine, Lot, lot.id)).progress == {}

    # more than the lot holds
    too_many = await client.post(
        f"/p/{token}/lots/{lot.id}/progress",
        data={"count_cut": "1001", "name": "Wang Lei"},
        headers=SAME_ORIGIN,
    )
    assert too_many.status_code == 422
    assert "Cut: 1001 is more than the lot&#39;s 1000 units." in too_many.text
    assert await count(engine, ProgressReport) == 0


async def test_a_photo_that_is_not_an_image_leaves_nothing_behind(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, _order, made, token = await sent_order(engine, world, state="accepted", start_first=True)
    before_files = media_files()
    response = await client.post(
        f"/p/{token}/lots/{made[0].id}/progress",
        data={"count_cut": "10", "name": "Wang Lei"},
        files=[
            ("photos", ("good.jpg", jpeg(), "image/jpeg")),
            ("photos", ("evil.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")),
        ],
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 422
    assert "evil.jpg" in response.text
    assert await count(engine, ProgressReport) == 0
    assert await count(engine, ProductionPhoto) == 0
    assert await count(engine, Attachment) == 0
    assert media_files() == before_files  # the good photo's verified copy and thumbnail were removed too


async def test_another_orders_lot_and_photos_are_not_found_through_this_link(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    arranged, _order, _made, token = await sent_order(engine, world, state="accepted", start_first=True)
    # a second order of the same organization and project, with its own link
    _other, other_lots, other_token = await make_order(
        engine, people, arranged, quantity=500, lots=[500], state="accepted"
    )
    assert other_token is not None
    await call_as(engine, people, world.coordinator, lot_service.start_lot, lot_id=other_lots[0].id)
    refused = await client.post(
        f"/p/{token}/lots/{other_lots[0].id}/progress",
        data={"count_cut": "10", "name": "Wang Lei"},
        headers=SAME_ORIGIN,
    )
    assert refused.status_code == 404
    assert zh("This is not part of the order of this link.") in refused.text
    assert await count(engine, ProgressReport) == 0
    # through its own link the lot takes the report, and its photo is not reachable through the first link
    own = await client.post(
        f"/p/{other_token}/lots/{other_lots[0].id}/progress",
        data={"count_cut": "10", "name": "Wang Lei"},
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert own.status_code == 303
    async with system(engine) as session:
        photo_id = await session.scalar(select(ProductionPhoto.id))
    assert (await client.get(f"/p/{other_token}/photos/{photo_id}/thumbnail")).status_code == 200
    assert (await client.get(f"/p/{token}/photos/{photo_id}/thumbnail")).status_code == 404
    assert (await client.get(f"/p/{token}/photos/{photo_id}/image")).status_code == 404


async def test_a_tooling_trial_with_photos(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    _arranged, order, _made, token = await sent_order(engine, world, state="accepted")
    item = await call_as(
        engine,
        people,
        world.coordinator,
        tooling_service.add_tooling,
        order_id=order.id,
        data={"kind": "mold", "name": "Shade mold"},
    )
    page = await client.get(f"/p/{token}")
    assert f'action="/p/{token}/tooling/{item.id}/trial"' in page.text
    response = await client.post(
        f"/p/{token}/tooling/{item.id}/trial",
        data={"note": "T1 试模"},
        files=[("photos", ("t1.jpg", jpeg((10, 10, 10)), "image/jpeg"))],
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    tried = await reload(engine, ToolingItem, item.id)
    assert tried.status == ToolingStatus.trial
    assert tried.trial_number == 1
    assert tried.trial_note == "T1 试模"
    async with system(engine) as session:
        photo = await session.scalar(
            select(ProductionPhoto).where(ProductionPhoto.subject_type == "tooling_trial")
        )
    assert photo is not None
    assert photo.subject_id == item.id
    assert photo.caption == "T1"
    # a trial while the item is on trial is refused, in both languages
    again = await client.post(
        f"/p/{token}/tooling/{item.id}/trial", data={"note": "again"}, headers=SAME_ORIGIN
    )
    assert again.status_code == 409
    assert "A trial is submitted for tooling being made; this one is Trial." in again.text
    assert (await reload(engine, ToolingItem, item.id)).trial_number == 1


async def test_revoked_expired_and_unknown_links(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, _made, token = await sent_order(engine, world)
    async with session_as(engine, people_of(world), world.coordinator) as session:
        link = await session.scalar(select(ProductionLink).where(ProductionLink.order_id == order.id))
        assert link is not None
        await links.revoke(session, link, actor=world.coordinator, reason="Replaced")
    for response in (
        await client.get(f"/p/{token}"),
        await client.get(f"/p/{token}/spec"),
        await client.post(f"/p/{token}/accept", data={"name": "x"}, headers=SAME_ORIGIN),
    ):
        assert response.status_code == 410
        assert "set-cookie" not in response.headers
        assert (
            zh("This link has expired or was withdrawn. Ask your coordinator for a new one.") in response.text
        )
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.sent

    # an expired link of another order
    _a2, order2, _m2, token2 = await sent_order(engine, world)
    async with system(engine) as session:
        await session.execute(
            update(ProductionLink)
            .where(ProductionLink.order_id == order2.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert (await client.get(f"/p/{token2}")).status_code == 410
    unknown = await client.get("/p/" + "A" * 43)
    assert unknown.status_code == 404
    assert "set-cookie" not in unknown.headers
    assert "Referrer-Policy".lower() in {k.lower() for k in unknown.headers}


async def test_a_post_from_another_site_is_refused(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, order, _made, token = await sent_order(engine, world)
    for headers in (
        {"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
        {"origin": "null"},  # a no-referrer page elsewhere, without the browser's same-origin mark
    ):
        response = await client.post(f"/p/{token}/accept", data={"name": "x"}, headers=headers)
        assert response.status_code == 403
    assert (await reload(engine, ProductionOrder, order.id)).status == OrderStatus.sent


async def test_a_lot_not_in_production_takes_no_report(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, _order, made, token = await sent_order(engine, world, state="accepted")
    page = await client.get(f"/p/{token}")
    assert f'action="/p/{token}/lots/{made[0].id}/progress"' not in page.text  # planned: no form
    response = await client.post(
        f"/p/{token}/lots/{made[0].id}/progress", data={"count_cut": "1", "name": "x"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 409
    assert (await reload(engine, Lot, made[0].id)).status == LotStatus.planned


async def test_repeated_unknown_tokens_are_rate_limited_with_the_spec_links(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    _arranged, _order, _made, token = await sent_order(engine, world)
    for index in range(MISS_LIMIT):
        missed = await client.get(f"/p/{'B' * 42}{index % 10}")
        assert missed.status_code == 404
    limited = await client.get(f"/p/{token}")  # even a good link waits once the address is limited
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert (await client.get(f"/f/{token}")).status_code == 429  # one window for /f/ and /p/
    MISSES.clear()
    assert (await client.get(f"/p/{token}")).status_code == 200
