"""Sample pages: the gallery (thumbnails really made, full images on click, the round before side by side), the
brand's decision from the page (roles, states, the required comment, pins of this round), and tenancy."""

from __future__ import annotations

import io
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.notify.models import Notification
from makeready.samples import gallery
from makeready.samples.models import SamplePhoto, SampleRound, SampleStatus
from makeready.storage import get_storage
from tests.conftest import World, csrf, login
from tests.sample_data import PHOTO_SIZE, Arranged, arrange

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _arranged(engine: AsyncEngine, world: World, *, rounds: int = 2) -> Arranged:
    return await arrange(
        engine, owner=world.owner_a, coordinator=world.coordinator, org_id=world.org_a.id, rounds=rounds
    )


async def _round(db: AsyncSession, round_id: int) -> SampleRound:
    db.expire_all()
    sample = await db.scalar(select(SampleRound).where(SampleRound.id == round_id))
    assert sample is not None
    return sample


def _decision(client: AsyncTestClient[Litestar], **fields: object) -> dict[str, object]:
    return {"_csrf_token": csrf(client), **fields}


# --- the gallery ------------------------------------------------------------------------------------------------


async def test_thumbnails_are_made_with_pillow_and_kept_in_storage(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    photo_id = arranged.photo_ids[arranged.round_ids[0]][0]
    await login(client, world.member_a.email)

    response = await client.get(f"/samples/photos/{photo_id}/thumbnail")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/jpeg")
    assert response.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.format == "JPEG"
        # 1200x800 fits 480x480 as 480x320: the aspect ratio is kept
        assert thumb.size == (
            gallery.THUMBNAIL_BOX[0],
            PHOTO_SIZE[1] * gallery.THUMBNAIL_BOX[0] // PHOTO_SIZE[0],
        )

    photo = await db.scalar(
        select(SamplePhoto).where(SamplePhoto.id == photo_id).execution_options(populate_existing=True)
    )
    assert photo is not None
    await db.refresh(photo, ["attachment"])
    key = gallery.thumbnail_key(photo)
    assert key.startswith(f"org/{world.org_a.id}/")
    stored = await get_storage().read(key)
    assert stored == response.content  # cached: made once, then read back
    again = await client.get(f"/samples/photos/{photo_id}/thumbnail")
    assert again.content == stored


async def test_a_stored_thumbnail_key_is_served_as_it_is(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    """Photos added by the back office carry their own thumbnail: that one is served, not remade."""
    arranged = await _arranged(engine, world, rounds=1)
    photo_id = arranged.photo_ids[arranged.round_ids[0]][0]
    small = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(small, "JPEG")
    key = f"org/{world.org_a.id}/image/{'a' * 32}/given-thumb.jpg"
    await get_storage().put(key, small.getvalue(), content_type="image/jpeg")
    photo = await db.scalar(select(SamplePhoto).where(SamplePhoto.id == photo_id))
    assert photo is not None
    photo.thumbnail_key = key
    await db.commit()

    await login(client, world.owner_a.email)
    response = await client.get(f"/samples/photos/{photo_id}/thumbnail")
    with Image.open(io.BytesIO(response.content)) as thumb:
        assert thumb.size == (64, 48)


async def test_full_image_opens_through_a_short_lived_link(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    photo_id = arranged.photo_ids[arranged.round_ids[0]][0]
    await login(client, world.owner_a.email)
    response = await client.get(f"/samples/photos/{photo_id}/image", follow_redirects=False)
    assert response.status_code == 302
    link = response.headers["location"]
    assert link.startswith("/files/local/")
    image = await client.get(link)
    assert image.status_code == 200
    assert image.headers["content-type"].startswith("image/jpeg")
    assert image.headers["content-disposition"].startswith("inline")
    with Image.open(io.BytesIO(image.content)) as full:
        assert full.size == PHOTO_SIZE


async def test_another_organizations_photos_look_missing(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    photo_id = arranged.photo_ids[arranged.round_ids[0]][0]
    await login(client, world.owner_b.email)
    for suffix in ("thumbnail", "image"):
        theirs = await client.get(f"/samples/photos/{photo_id}/{suffix}", follow_redirects=False)
        missing = await client.get(f"/samples/photos/987654/{suffix}", follow_redirects=False)
        assert theirs.status_code == missing.status_code == 404
        assert "image" not in theirs.headers.get("content-type", "")
    for path in (
        f"/projects/{arranged.project_id}/samples",
        f"/projects/{arranged.project_id}/samples/section",
        f"/projects/{arranged.project_id}/samples/{arranged.round_ids[0]}",
    ):
        page = await client.get(path)
        assert page.status_code == 404
        assert "Arc Pendant" not in page.text


async def test_anonymous_callers_get_no_photo(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    photo_id = arranged.photo_ids[arranged.round_ids[0]][0]
    response = await client.get(
        f"/samples/photos/{photo_id}/thumbnail", headers={"accept": "application/json"}
    )
    assert response.status_code == 401


async def test_round_page_shows_the_round_beside_the_one_before(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=2)
    first, second = arranged.round_ids
    await login(client, world.member_a.email)
    page = await client.get(f"/projects/{arranged.project_id}/samples/{second}")
    assert page.status_code == 200
    html = page.text
    assert 'class="compare two"' in html
    assert "Previous round" in html
    assert "Round 1" in html
    assert "Round 2" in html
    assert "Lid fits; check the seam." in html  # the coordinator's notes
    assert "Too dark." in html  # round 1's rejection comment
    for photo_id in arranged.photo_ids[first] + arranged.photo_ids[second]:
        assert f'src="/samples/photos/{photo_id}/thumbnail"' in html
        assert f'href="/samples/photos/{photo_id}/image"' in html  # works without JavaScript
    # the decision form, with a checkbox per photo of this round only
    assert f'action="/projects/{arranged.project_id}/samples/{second}/decision"' in html
    pins = re.findall(r'name="pinned_photo_ids" value="(\d+)"', html)
    assert sorted(map(int, pins)) == sorted(arranged.photo_ids[second])
    assert "/static/gallery.js" in html


async def test_a_round_of_another_project_is_not_found_under_this_one(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    one = await _arranged(engine, world, rounds=1)
    other = await arrange(
        engine,
        owner=world.owner_a,
        coordinator=world.coordinator,
        org_id=world.org_a.id,
        name="Other",
        rounds=1,
    )
    await login(client, world.owner_a.email)
    response = await client.get(f"/projects/{one.project_id}/samples/{other.round_ids[0]}")
    assert response.status_code == 404
    posted = await client.post(
        f"/projects/{one.project_id}/samples/{other.round_ids[0]}/decision",
        data=_decision(client, decision="approve"),
    )
    assert posted.status_code == 404


async def test_project_page_section_and_samples_page(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=2)
    await login(client, world.owner_a.email)
    project = await client.get(f"/projects/{arranged.project_id}")
    assert project.status_code == 200
    assert f'data-fragment="/projects/{arranged.project_id}/samples/section"' in project.text
    assert f'href="/projects/{arranged.project_id}/samples"' in project.text  # without JavaScript

    section = await client.get(f"/projects/{arranged.project_id}/samples/section")
    assert section.status_code == 200
    assert section.text.lstrip().startswith('<section id="samples"')
    assert "<html" not in section.text
    assert "Latest round" in section.text
    assert "Previous round" in section.text
    assert f'name="next" value="/projects/{arranged.project_id}#samples"' in section.text

    listing = await client.get(f"/projects/{arranged.project_id}/samples")
    assert listing.status_code == 200
    for round_id in arranged.round_ids:
        assert f"/projects/{arranged.project_id}/samples/{round_id}" in listing.text


# --- deciding from the page -------------------------------------------------------------------------------------


async def test_brand_approves_a_received_round_with_pinned_photos(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=2)
    round_id = arranged.round_ids[-1]
    pin = arranged.photo_ids[round_id][1]
    await login(client, world.member_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(
            client,
            decision="approve",
            comment="Colour matches the swatch.",
            pinned_photo_ids=str(pin),
            next=f"/projects/{arranged.project_id}#samples",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/projects/{arranged.project_id}#samples"

    sample = await _round(db, round_id)
    assert sample.status == SampleStatus.approved
    assert sample.decided_by_id == world.member_a.id
    assert sample.pinned_photo_ids == [pin]
    event = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "sample_round.approved", AuditEvent.subject_id == round_id
        )
    )
    assert event is not None
    assert event.actor_id == world.member_a.id
    assert event.after is not None
    assert event.after["pinned_photo_ids"] == [pin]
    told = await db.scalar(
        select(Notification).where(
            Notification.user_id == world.coordinator.id, Notification.kind == "sample_approved"
        )
    )
    assert told is not None

    page = await client.get(f"/projects/{arranged.project_id}/samples/{round_id}")
    assert "Approved by member_a" in page.text
    assert "Pinned to the decision" in page.text
    assert 'name="pinned_photo_ids"' not in page.text  # decided: no form any more


async def test_rejecting_without_a_comment_shows_the_form_again(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    pin = arranged.photo_ids[round_id][0]
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(client, decision="reject", comment="   ", pinned_photo_ids=str(pin)),
    )
    assert response.status_code == 422
    assert "Write a comment that says what is wrong" in response.text
    assert 'value="reject" checked' in response.text
    assert f'value="{pin}" form="decide-{round_id}" checked' in response.text  # what was chosen is kept
    assert (await _round(db, round_id)).status == SampleStatus.received


async def test_rejection_with_a_hostile_comment_is_shown_as_text(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(client, decision="reject", comment=HOSTILE),
        follow_redirects=False,
    )
    assert response.status_code == 303
    sample = await _round(db, round_id)
    assert sample.status == SampleStatus.rejected
    assert sample.decision_comment == HOSTILE
    for path in (
        f"/projects/{arranged.project_id}/samples/{round_id}",
        f"/projects/{arranged.project_id}/samples",
        f"/projects/{arranged.project_id}",  # the decision log
    ):
        page = await client.get(path)
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path


async def test_viewer_sees_no_form_and_is_refused_with_a_message(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    await login(client, world.viewer_a.email)
    page = await client.get(f"/projects/{arranged.project_id}/samples/{round_id}")
    assert page.status_code == 200
    assert "Viewers can look but not decide" in page.text
    assert "/decision" not in page.text
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(client, decision="approve"),
    )
    assert response.status_code == 403
    assert "Viewers can look but not change anything" in response.text
    assert (await _round(db, round_id)).status == SampleStatus.received


async def test_coordinator_cannot_decide_for_the_brand(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    await login(client, world.coordinator.email)
    page = await client.get(f"/projects/{arranged.project_id}/samples/{round_id}")
    assert "Only the brand&#39;s owners and members approve or reject a sample." in page.text
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(client, decision="approve"),
    )
    assert response.status_code == 403
    assert (await _round(db, round_id)).status == SampleStatus.received


async def test_a_round_not_awaiting_a_decision_is_a_conflict(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=2)
    decided = arranged.round_ids[0]  # rejected while arranging
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{decided}/decision",
        data=_decision(client, decision="approve"),
    )
    assert response.status_code == 409
    assert "once it is received; this one is Rejected" in response.text


async def test_pins_must_be_photos_of_the_round(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=2)
    first, second = arranged.round_ids
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{second}/decision",
        data=_decision(
            client,
            decision="reject",
            comment="Seam open.",
            pinned_photo_ids=str(arranged.photo_ids[first][0]),
        ),
    )
    assert response.status_code == 422
    assert "Pinned photos must be photos of this sample round." in response.text
    assert (await _round(db, second)).status == SampleStatus.received


async def test_a_stale_form_is_a_conflict(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    arranged = await _arranged(engine, world, rounds=1)
    round_id = arranged.round_ids[0]
    version = (await _round(db, round_id)).version
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{arranged.project_id}/samples/{round_id}/decision",
        data=_decision(client, decision="approve", version=str(version - 1)),
    )
    assert response.status_code == 409
    assert "Someone else changed this sample round" in response.text
    assert (await _round(db, round_id)).status == SampleStatus.received
