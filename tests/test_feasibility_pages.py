"""The feasibility workspace through HTTP as a coordinator (forms with their CSRF token), the refusals brand users
and anonymous callers get at every one of its URLs, and the summary on the brand's project page."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.feasibility import service as feasibility
from makeready.feasibility.models import FeasibilityCheck, FeasibilityReview, ProductionApproach, Risk
from makeready.projects import service as projects
from tests.conftest import World, csrf, login

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PREFIX = "/coordinator/projects/{project_id:int}/feasibility"


async def make_project(db: AsyncSession, world: World, **data: Any) -> int:
    async with db.begin():
        project = await projects.create_project(
            db, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Desk lamp", **data}
        )
    return project.id


def url(project_id: int, tail: str = "") -> str:
    return f"/coordinator/projects/{project_id}/feasibility{tail}"


async def post(client: AsyncTestClient[Litestar], path: str, **data: Any) -> httpx.Response:
    return await client.post(
        path,
        data={**{k: str(v) for k, v in data.items()}, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )


async def count(db: AsyncSession, model: Any) -> int:
    await db.rollback()  # a fresh read, not the test session's earlier snapshot
    found = int(await db.scalar(select(func.count(model.id))) or 0)
    await db.commit()  # leave no transaction open (the test begins its own)
    return found


async def current_review(db: AsyncSession, project_id: int) -> FeasibilityReview:
    await db.rollback()
    review = await feasibility.get_review(db, project_id=project_id)
    await db.commit()  # leave no transaction open (the test begins its own); objects stay loaded
    assert review is not None
    return review


def workspace_routes(app: Litestar) -> list[tuple[str, str]]:
    found = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        and route.path.startswith("/coordinator/projects/{project_id:int}/feasibility")
        for method in sorted(route.methods - {"OPTIONS", "HEAD"})
    ]
    assert len(found) >= 15, found
    return found


def fill(path: str, project_id: int, row_id: int) -> str:
    path = path.replace("{project_id:int}", str(project_id))
    return re.sub(r"\{\w+:int\}", str(row_id), path)


async def test_brand_users_are_refused_at_every_workspace_url_and_nothing_is_written(
    app: Litestar, client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    async with db.begin():
        review = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    check_id = review.checks[0].id
    audit_before = await count(db, AuditEvent)
    routes = workspace_routes(app)

    # anonymous: to the login page
    await client.get("/login")
    for method, path in routes:
        target = fill(path, project_id, check_id)
        response = await client.request(
            method,
            target,
            data={"_csrf_token": csrf(client)} if method == "POST" else None,
            follow_redirects=False,
        )
        assert response.status_code == 303, (method, target, response.status_code)
        assert response.headers["location"].startswith("/login")

    # brand users, of this project's organization or another, owner or viewer: 403, the same for a missing project
    for user in (world.owner_a, world.member_a, world.viewer_a, world.owner_b):
        client.cookies = httpx.Cookies()
        await login(client, user.email)
        for method, path in routes:
            for project in (project_id, 987654):
                target = fill(path, project, check_id)
                response = await client.request(
                    method,
                    target,
                    data={
                        "_csrf_token": csrf(client),
                        "requirement": "hijacked",
                        "area": "finish",
                        "version": "2",
                    }
                    if method == "POST"
                    else None,
                    headers={"accept": "text/html"},
                    follow_redirects=False,
                )
                assert response.status_code == 403, (user.email, method, target, response.status_code)
                assert "Only coordinators can do this." in response.text
                assert "Desk lamp" not in response.text
    assert await count(db, AuditEvent) == audit_before
    assert await count(db, FeasibilityCheck) == 5


async def test_a_coordinator_runs_the_review_through_the_page(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world, target_quantity=2500, category="Lighting")
    await login(client, world.coordinator.email)

    page = await client.get(url(project_id))
    assert page.status_code == 200
    assert "Start the review" in page.text
    assert await count(db, FeasibilityReview) == 0  # looking writes nothing

    started = await post(client, url(project_id, "/start"))
    assert started.status_code == 303
    assert started.headers["location"] == url(project_id, "#checks")
    page = await client.get(url(project_id))
    assert page.status_code == 200
    assert "2,500 units per order" in page.text
    review = await current_review(db, project_id)
    assert len(review.checks) == 5

    # every check gets a verdict; one finish row is added
    for check in review.checks:
        response = await post(
            client,
            url(project_id, f"/checks/{check.id}"),
            version=check.version,
            area=check.area.value,
            requirement=check.requirement,
            constraint="Wall thickness 1.5 mm minimum",
            verdict="feasible",
            note="",
        )
        assert response.status_code == 303, response.text
    added = await post(
        client,
        url(project_id, "/checks"),
        area="finish",
        requirement="Anodised matte black",
        verdict="with_changes",
    )
    assert added.status_code == 303
    assert added.headers["location"] == url(project_id, "#area-finish")

    # three approaches
    for name, tooling, unit, lead in [
        ("CNC aluminium", "0", "12.40", "20"),
        ("Die-cast zinc + CNC finish", "8000", "3.10", "35"),
        ("Injection-moulded PC", "30,000.00", "0.85", ""),
    ]:
        response = await post(
            client,
            url(project_id, "/approaches"),
            name=name,
            process="",
            tooling_cost=tooling,
            unit_cost=unit,
            lead_time_days=lead,
            notes="",
        )
        assert response.status_code == 303, response.text
    review = await current_review(db, project_id)
    cast = next(a for a in review.approaches if a.name.startswith("Die-cast"))
    assert cast.tooling_cost == Decimal("8000.00")
    assert next(a for a in review.approaches if a.name.startswith("Injection")).tooling_cost == Decimal(
        "30000"
    )
    response = await post(
        client, url(project_id, f"/approaches/{cast.id}/recommend"), review_version=review.version
    )
    assert response.status_code == 303

    # a high risk without a mitigation
    response = await post(
        client,
        url(project_id, "/risks"),
        description="Porosity in the zinc casting",
        likelihood=4,
        impact=4,
        owner_id=world.coordinator.id,
        mitigation="",
    )
    assert response.status_code == 303

    page = await client.get(url(project_id))
    assert page.status_code == 200
    # the comparison: cost per unit at the target and the standard quantities, the break-even, the chart
    for q in ("500", "1,000", "2,500", "5,000", "10,000"):
        assert f">{q}<" in page.text
    at_target = (Decimal("3.10") + Decimal("8000") / 2500).quantize(Decimal("0.01"))
    assert f'<td class="num fz-best fz-target">${at_target}</td>' in page.text  # die-cast, cheapest at 2,500
    crossing = Decimal("8000") / (Decimal("12.40") - Decimal("3.10"))
    assert f"break-even at {math.ceil(crossing)} units" in page.text
    assert page.text.count("<polyline") == 3
    assert "Target: 2,500" in page.text
    assert "fz-line-recommended" in page.text
    assert "Needs a mitigation" in page.text
    assert "Write a mitigation for the high risk (score 16)" in page.text

    # completing now is refused with what is missing; nothing is written
    review = await current_review(db, project_id)
    refused = await post(client, url(project_id, "/complete"), review_version=review.version, summary="")
    assert refused.status_code == 422
    assert "The review cannot be completed yet:" in refused.text
    assert "<li>Write a summary for the brand.</li>" in refused.text
    assert "Write a mitigation for the high risk (score 16): Porosity in the zinc casting" in refused.text
    assert not await feasibility.review_complete(db, project_id)

    risk = (await current_review(db, project_id)).risks[0]
    response = await post(
        client,
        url(project_id, f"/risks/{risk.id}"),
        version=risk.version,
        description=risk.description,
        likelihood=4,
        impact=4,
        owner_id=world.coordinator.id,
        mitigation="Vacuum die casting; X-ray the first batch",
    )
    assert response.status_code == 303

    # the brand sees only that it is in progress
    brand = AsyncTestClient(app=client.app, base_url="http://testserver.local")
    async with brand:
        await login(brand, world.owner_a.email)
        before = await brand.get(f"/projects/{project_id}")
        assert "Feasibility review in progress" in before.text
        assert "Die-cast zinc" not in before.text

        review = await current_review(db, project_id)
        done = await post(
            client,
            url(project_id, "/complete"),
            review_version=review.version,
            summary="Feasible as die-cast zinc.",
        )
        assert done.status_code == 303, done.text
        assert await feasibility.review_complete(db, project_id)
        event = (
            await db.scalars(select(AuditEvent).where(AuditEvent.action == "feasibility.completed"))
        ).one()
        assert event.actor_id == world.coordinator.id
        assert event.after is not None
        assert event.after["summary"] == "Feasible as die-cast zinc."

        after = await brand.get(f"/projects/{project_id}")
        assert after.status_code == 200
        assert "Feasibility review in progress" not in after.text
        assert "Feasible as die-cast zinc." in after.text
        assert "Die-cast zinc + CNC finish" in after.text
        assert f"${at_target} at 2,500 units" in after.text
        assert "Feasible with changes" in after.text  # the finish area
        assert "35 days" in after.text
        # no cost breakdown, no other approach
        assert "CNC aluminium" not in after.text
        assert "Injection-moulded PC" not in after.text
        assert "$8,000.00" not in after.text
        assert "$3.10" not in after.text
        assert "/coordinator/" not in after.text

    # the workspace is read-only now; the coordinator reopens it with a reason
    page = await client.get(url(project_id))
    assert "Completed on" in page.text
    assert "<fieldset" in page.text
    assert "disabled" in page.text
    review = await current_review(db, project_id)
    no_reason = await post(client, url(project_id, "/reopen"), review_version=review.version, reason="")
    assert no_reason.status_code == 422
    assert "Say why the review is reopened." in no_reason.text
    assert await feasibility.review_complete(db, project_id)
    reopened = await post(
        client, url(project_id, "/reopen"), review_version=review.version, reason="Material changed to brass"
    )
    assert reopened.status_code == 303
    assert not await feasibility.review_complete(db, project_id)


async def test_bad_input_shows_the_form_again_with_the_message_and_writes_nothing(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    async with db.begin():
        await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    await login(client, world.coordinator.email)
    audit_before = await count(db, AuditEvent)

    response = await post(
        client,
        url(project_id, "/approaches"),
        name="Sand-cast bronze",
        process="Sand casting",
        tooling_cost="lots",
        unit_cost="4.20",
        lead_time_days="",
        notes="kept",
    )
    assert response.status_code == 422
    assert "The amount must be a number, such as 12.50." in response.text
    new_form = response.text.split('id="new-approach"', 1)[1].split("</form>", 1)[0]
    assert 'value="Sand-cast bronze"' in new_form  # what was typed is shown again
    assert 'value="lots"' in new_form
    assert "The amount must be a number" in new_form  # next to its form

    response = await post(
        client, url(project_id, "/risks"), description="Late moulds", likelihood=9, impact=2, mitigation=""
    )
    assert response.status_code == 422
    assert "Likelihood and impact are whole numbers from 1 to 5." in response.text

    response = await post(client, url(project_id, "/checks"), area="finish", requirement="   ")
    assert response.status_code == 422
    assert "Describe the requirement." in response.text

    response = await post(client, url(project_id, "/checks"), area="colour", requirement="Red")
    assert response.status_code == 422

    # a row of another review, or none at all: not found, nothing written
    response = await post(
        client, url(project_id, "/checks/987654"), version=1, area="finish", requirement="x"
    )
    assert response.status_code == 404

    assert await count(db, ProductionApproach) == 0
    assert await count(db, Risk) == 0
    assert await count(db, FeasibilityCheck) == 5
    assert await count(db, AuditEvent) == audit_before

    # a missing project is a 404 page
    assert (await client.get(url(987654))).status_code == 404


async def test_the_second_of_two_coordinators_gets_a_conflict_and_nothing_is_overwritten(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    async with db.begin():
        review = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
    check = review.checks[0]
    seen, seen_review = check.version, review.version  # what both pages were loaded with
    await login(client, world.coordinator.email)
    # both loaded the page at this version; the first saves
    first = await post(
        client,
        url(project_id, f"/checks/{check.id}"),
        version=seen,
        area=check.area.value,
        requirement="First words",
        verdict="feasible",
    )
    assert first.status_code == 303
    second = await post(
        client,
        url(project_id, f"/checks/{check.id}"),
        version=seen,
        area=check.area.value,
        requirement="Second words",
        verdict="not_feasible",
    )
    assert second.status_code == 409
    assert "Someone else changed this feasibility review" in second.text
    assert "First words" in second.text  # the current state is shown
    stored = (await current_review(db, project_id)).checks[0]
    assert (stored.requirement, stored.verdict.value) == ("First words", "feasible")

    # a removal or a completion from the stale page is refused too
    assert (
        await post(client, url(project_id, f"/checks/{check.id}/remove"), version=seen)
    ).status_code == 409
    stale = await post(client, url(project_id, "/summary"), review_version=seen_review, summary="x")
    assert stale.status_code == 409
    assert await count(db, FeasibilityCheck) == 5
    assert (await current_review(db, project_id)).summary == ""


async def test_script_in_stored_text_renders_as_text_on_both_pages(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world, target_quantity=1000)
    async with db.begin():
        review = await feasibility.get_or_start_review(db, actor=world.coordinator, project_id=project_id)
        for check in review.checks:
            await feasibility.save_check(
                db,
                actor=world.coordinator,
                project_id=project_id,
                check_id=check.id,
                expected_version=check.version,
                area=check.area,
                requirement=HOSTILE,
                constraint=HOSTILE,
                note=HOSTILE + " 50%",
                verdict="feasible",
            )
        approach = await feasibility.save_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            name=HOSTILE,
            process=HOSTILE,
            tooling_cost="100",
            unit_cost="2",
            notes=HOSTILE,
        )
        await feasibility.save_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            name=HOSTILE + "2",
            tooling_cost="0",
            unit_cost="3",
        )
        await feasibility.save_risk(
            db,
            actor=world.coordinator,
            project_id=project_id,
            description=HOSTILE,
            likelihood=5,
            impact=5,
            mitigation=HOSTILE,
        )
    await login(client, world.coordinator.email)
    page = await client.get(url(project_id))
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "50%" in page.text

    review = await current_review(db, project_id)
    async with db.begin():
        await feasibility.recommend_approach(
            db,
            actor=world.coordinator,
            project_id=project_id,
            approach_id=approach.id,
            expected_version=review.version,
        )
    review = await current_review(db, project_id)
    async with db.begin():
        await feasibility.complete_review(
            db,
            actor=world.coordinator,
            project_id=project_id,
            expected_version=review.version,
            summary=HOSTILE,
        )
    await login(client, world.owner_a.email)
    brand = await client.get(f"/projects/{project_id}")
    assert brand.status_code == 200
    assert "<script>" not in brand.text
    assert "<img src=x" not in brand.text
    assert brand.text.count("&lt;script&gt;") >= 2  # the summary and the approach's name


async def test_the_workspace_speaks_chinese(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    project_id = await make_project(db, world)
    await login(client, world.coordinator.email)
    await client.post("/locale", data={"locale": "zh_Hans", "next": "/", "_csrf_token": csrf(client)})
    page = await client.get(url(project_id))
    assert '<html lang="zh-Hans">' in page.text
    assert "可行性" in page.text
    assert "Start the review" not in page.text
