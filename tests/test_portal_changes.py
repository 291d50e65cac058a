"""Change request pages: raising one with the project's files, the refusals shown on the form, withdrawing, the
coordinator's outcome on the page and in the decision log, and markup typed into any field shown as text."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.changes.lifecycle import decide_change_request, raise_change_request
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.notify.models import Notification
from tests.conftest import World, csrf, login
from tests.sample_data import add_image, development_project

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _project_with_files(engine: AsyncEngine, world: World, *, org: str = "a") -> tuple[int, list[int]]:
    owner = world.owner_a if org == "a" else world.owner_b
    org_id = world.org_a.id if org == "a" else world.org_b.id
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await development_project(
                session, owner=owner, coordinator=world.coordinator, org_id=org_id, name=f"Lamp {org}"
            )
            files = [
                await add_image(session, project=project, uploader=owner, name=name)
                for name in ("drawing-v1.jpg", f"lid {HOSTILE}.jpg")
            ]
    return project.id, [f.id for f in files]


async def _changes(db: AsyncSession, project_id: int) -> list[ChangeRequest]:
    db.expire_all()
    return list((await db.scalars(select(ChangeRequest).where(ChangeRequest.project_id == project_id))).all())


def _form(client: AsyncTestClient[Litestar], **fields: object) -> dict[str, object]:
    return {"_csrf_token": csrf(client), **fields}


async def test_brand_raises_a_change_with_files(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, file_ids = await _project_with_files(engine, world)
    await login(client, world.member_a.email)
    page = await client.get(f"/projects/{project_id}/changes")
    assert page.status_code == 200
    offered = sorted(int(v) for v in re.findall(r'name="attachment_ids" value="(\d+)"', page.text))
    assert offered == sorted(file_ids)

    response = await client.post(
        f"/projects/{project_id}/changes",
        data=_form(
            client,
            title="Thicker lid",
            description="Make the lid 2.5 mm instead of 2 mm.",
            reason="The 2 mm lid flexes when twisted.",
            attachment_ids=[str(file_ids[0])],
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    [change] = await _changes(db, project_id)
    assert response.headers["location"] == f"/projects/{project_id}/changes/{change.id}"
    assert change.status == ChangeStatus.open
    assert change.attachment_ids == [file_ids[0]]
    assert change.raised_by_id == world.member_a.id
    assert await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "change_request.raised", AuditEvent.subject_id == change.id
        )
    )
    assert await db.scalar(
        select(Notification).where(
            Notification.user_id == world.coordinator.id, Notification.kind == "change_request_raised"
        )
    )

    detail = await client.get(response.headers["location"])
    assert detail.status_code == 200
    assert "Thicker lid" in detail.text
    assert "The 2 mm lid flexes when twisted." in detail.text
    assert "drawing-v1.jpg" in detail.text
    assert "Open" in detail.text
    assert "Withdraw this change request" in detail.text  # the raiser may withdraw it

    listing = await client.get(f"/projects/{project_id}/changes")
    assert "Thicker lid" in listing.text


async def test_refusals_show_the_form_again_with_what_was_typed(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, file_ids = await _project_with_files(engine, world)
    _other_project, other_files = await _project_with_files(engine, world, org="b")
    await login(client, world.owner_a.email)

    no_reason = await client.post(
        f"/projects/{project_id}/changes",
        data=_form(client, title="Matte finish", description="Use a matte finish.", reason=" "),
    )
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.text
    assert 'value="Matte finish"' in no_reason.text
    assert "Use a matte finish.</textarea>" in no_reason.text

    no_title = await client.post(
        f"/projects/{project_id}/changes",
        data=_form(client, title="", description="x", reason="y", attachment_ids=[str(file_ids[1])]),
    )
    assert no_title.status_code == 422
    assert "Give the change a title" in no_title.text
    assert f'value="{file_ids[1]}" checked' in no_title.text

    foreign_file = await client.post(
        f"/projects/{project_id}/changes",
        data=_form(client, title="t", description="d", reason="r", attachment_ids=[str(other_files[0])]),
    )
    assert foreign_file.status_code == 422
    assert "The attached files must belong to this project." in foreign_file.text
    assert await _changes(db, project_id) == []


async def test_viewer_cannot_raise_a_change(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, _files = await _project_with_files(engine, world)
    await login(client, world.viewer_a.email)
    page = await client.get(f"/projects/{project_id}/changes")
    assert page.status_code == 200
    assert "Viewers can look but not raise change requests" in page.text
    assert 'name="title"' not in page.text
    response = await client.post(
        f"/projects/{project_id}/changes", data=_form(client, title="t", description="d", reason="r")
    )
    assert response.status_code == 403
    assert "Viewers can look but not change anything" in response.text
    assert await _changes(db, project_id) == []


async def test_another_organizations_changes_look_missing(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, _files = await _project_with_files(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            change = await raise_change_request(
                session,
                actor=world.owner_a,
                project_id=project_id,
                title="Secret",
                description="d",
                reason="r",
            )
    await login(client, world.owner_b.email)
    for path in (
        f"/projects/{project_id}/changes",
        f"/projects/{project_id}/changes/section",
        f"/projects/{project_id}/changes/{change.id}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Secret" not in response.text
    posted = await client.post(
        f"/projects/{project_id}/changes", data=_form(client, title="t", description="d", reason="r")
    )
    assert posted.status_code == 404
    withdrawn = await client.post(f"/projects/{project_id}/changes/{change.id}/withdraw", data=_form(client))
    assert withdrawn.status_code == 404
    [kept] = await _changes(db, project_id)
    assert kept.status == ChangeStatus.open


async def test_raiser_withdraws_and_others_cannot(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, _files = await _project_with_files(engine, world)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            change = await raise_change_request(
                session,
                actor=world.member_a,
                project_id=project_id,
                title="Wider base",
                description="d",
                reason="r",
            )
    await login(client, world.owner_a.email)
    page = await client.get(f"/projects/{project_id}/changes/{change.id}")
    assert "Withdraw this change request" not in page.text
    refused = await client.post(f"/projects/{project_id}/changes/{change.id}/withdraw", data=_form(client))
    assert refused.status_code == 403
    assert "Only the person who raised a change request can withdraw it." in refused.text

    client.cookies.clear()
    await login(client, world.member_a.email)
    done = await client.post(
        f"/projects/{project_id}/changes/{change.id}/withdraw", data=_form(client), follow_redirects=False
    )
    assert done.status_code == 303
    [kept] = await _changes(db, project_id)
    assert kept.status == ChangeStatus.withdrawn
    again = await client.post(f"/projects/{project_id}/changes/{change.id}/withdraw", data=_form(client))
    assert again.status_code == 409


async def test_outcome_and_hostile_text_on_the_pages_and_in_the_decision_log(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id, file_ids = await _project_with_files(engine, world)
    await login(client, world.owner_a.email)
    response = await client.post(
        f"/projects/{project_id}/changes",
        data=_form(
            client,
            title=f"Title {HOSTILE}",
            description=f"Description {HOSTILE}",
            reason=f"Reason {HOSTILE}",
            attachment_ids=[str(file_ids[1])],
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303
    [change] = await _changes(db, project_id)
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await decide_change_request(
                session,
                actor=world.coordinator,
                change_id=change.id,
                decision="reject",
                note=f"Note {HOSTILE}",
            )

    detail = await client.get(f"/projects/{project_id}/changes/{change.id}")
    assert "Rejected by Chen Coordinator" in detail.text
    for path in (
        f"/projects/{project_id}/changes/{change.id}",
        f"/projects/{project_id}/changes",
        f"/projects/{project_id}/changes/section",
        f"/projects/{project_id}",  # the decision log
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<img src=x" not in page.text, path
        assert "&lt;script&gt;alert(" in page.text, path
    project_page = (await client.get(f"/projects/{project_id}")).text
    assert "rejected change request 1" in project_page
    assert "Note &lt;script&gt;" in project_page  # the coordinator's note is the outcome's reason


async def test_project_page_loads_the_change_section(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    project_id, _files = await _project_with_files(engine, world)
    await login(client, world.owner_a.email)
    page = await client.get(f"/projects/{project_id}")
    assert f'data-fragment="/projects/{project_id}/changes/section"' in page.text
    assert f'href="/projects/{project_id}/changes"' in page.text
    section = await client.get(f"/projects/{project_id}/changes/section")
    assert section.status_code == 200
    assert section.text.lstrip().startswith('<section id="changes"')
    assert "No change requests yet." in section.text
    assert "Request a change" in section.text
