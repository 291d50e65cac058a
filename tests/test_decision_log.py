"""The decision log speaks every event the core records (no raw event names), and brands read the production
stage's decisions that concern them but never the agency's working steps."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import composition, i18n
from makeready.audit.models import AuditEvent
from makeready.decisions import log
from makeready.kernel import bus, machine
from makeready.quality import inspections as qc
from tests.conftest import World, login
from tests.quality_support import produced_lot, submitted
from tests.test_api_samples import bearer
from tests.test_i18n import switch
from tests.test_quality_pages import people_of
from tests.workflow_support import call_as

AUDITED_ONLY = {
    # production-stage actions recorded without a bus event (grep `action="` under makeready/)
    "production_order.updated",
    "lot.resized",
    "production.photos_added",
    "production_photo.added",
    "inspection.defect_removed",
    "material_requirements.recomputed",
    "packing_list.contents",
    "shipment.updated",
    "shipment.documents_generated",
    "milestone_fee.attached",
    "quote.requested",
    "budget_entry.added",
    "budget_entry.updated",
    "budget_rate.set",
}


def emitted_events() -> set[str]:
    """Every event a transition of a declared machine fires, every event a service declares it fires."""
    composition.wire()
    return {event for m in machine.MACHINES.values() for event in m.events} | set(bus.declared_events())


def unspoken(names: set[str]) -> list[str]:
    return sorted(name for name in names if log.sentence_of(name) is None)


def test_every_event_the_core_emits_has_a_sentence() -> None:
    assert unspoken(emitted_events() | AUDITED_ONLY) == []


def test_an_event_without_a_sentence_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus, "_EMITTED", {*bus.declared_events(), "lot.teleported"})
    assert unspoken(emitted_events()) == ["lot.teleported"]


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_sentence_fills_from_an_event_without_its_values(locale: str) -> None:
    """An event that carries none of the values a sentence may use still reads (no KeyError, no raw name)."""
    with i18n.use_locale(locale):
        for name in sorted(emitted_events() | AUDITED_ONLY):
            event = AuditEvent(
                id=1,
                action=name,
                subject_type="x",
                subject_id=1,
                before={},
                after={},
                reason="",
                created_at=datetime(2027, 1, 1, tzinfo=UTC),
            )
            entry = log.describe(event, actor="Chen", milestones={}, subject="PO-1-1")
            assert entry.sentence, name
            assert name not in entry.sentence, name


def test_brands_never_read_prices_purchasing_or_fees() -> None:
    brand = set(log.brand_actions())
    for prefix in ("quote.", "purchase_order.", "milestone_fee.", "task.", "material_requirements."):
        assert not [a for a in brand if a.startswith(prefix)], prefix
    assert {
        "production_order.confirmed",
        "production_order.rescheduled",
        "lot.released",
        "shipment.delivered",
    } <= (brand)
    assert {"inspection.accepted_with_concession", "quality_hold.placed", "quality_hold.lifted"} <= brand
    assert {"revision_change.effective", "floor_deviation.approved", "shortage.late"} <= brand
    assert "shortage.late.escalated" not in brand
    assert not set(log.STAFF_SENTENCES) & brand


def log_section(html: str) -> str:
    section = html.split('id="log"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", section)


async def test_the_brand_reads_the_production_decisions_and_staff_read_every_step_in_words(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    people = people_of(world)
    produced = await produced_lot(engine, people, quantity=3000)
    inspection = await submitted(engine, people, produced, majors=8)
    await call_as(
        engine,
        people,
        people.owner_a,
        qc.decide_inspection,
        inspection_id=inspection.id,
        decision="concede",
        concession="Rim scratches",
        remedy="3% off",
    )
    project_id = produced.arranged.project.id
    order = produced.order.reference
    await login(client, world.owner_a.email)
    brand = log_section((await client.get(f"/projects/{project_id}?log=1")).text)
    for sentence in (
        f"confirmed production order {order}.",
        f"sent production order {order} to the factory.",
        f"The factory&#39;s acceptance of production order {order} was recorded.",
        f"Production order {order} is in production.",
        f"accepted the lot of inspection {inspection.reference} with a concession",
    ):
        assert sentence in brand, sentence
    # the agency's and the factory's working steps stay in the back office
    for staff_only in (
        f"started {order} lot 1",
        f"Progress was reported on {order} lot 1",
        "recorded a defect",
        f"submitted inspection {inspection.reference}",
        "drafted production order",
        "recorded a quote",
    ):
        assert staff_only not in brand, staff_only
    # the API's log lists the same actions for the brand
    response = await client.get(
        f"/api/v1/projects/{project_id}/decisions",
        params={"limit": 200},
        headers=await bearer(engine, world.owner_a),
    )
    assert response.status_code == 200
    actions = {item["action"] for item in response.json()["items"]}
    assert {
        "production_order.confirmed",
        "production_order.sent",
        "inspection.accepted_with_concession",
    } <= actions
    assert actions <= set(log.brand_actions())
    assert (
        not {"lot.started", "lot.progress_reported", "inspection.defect_recorded", "quote.recorded"} & actions
    )
    client.cookies.clear()
    await login(client, world.coordinator.email)
    pages = [log_section((await client.get(f"/projects/{project_id}?log={n}")).text) for n in range(1, 6)]
    staff = " ".join(pages)
    for sentence in (
        f"started {order} lot 1.",
        f"Progress was reported on {order} lot 1.",
        f"recorded a defect in inspection {inspection.reference}.",
        f"submitted inspection {inspection.reference}.",
        f"{order} lot 1 failed its inspection.",
        f"drafted production order {order}.",
    ):
        assert sentence in staff, sentence
    # no event is shown by its raw name (the fallback "actor: action")
    assert not re.search(r": [a-z_]+\.[a-z_.]+<", staff)
    assert not re.search(r"(Makeready|Coordinator): [a-z_]+\.[a-z_]+", staff)


async def test_the_kept_log_follows_new_events_and_renamed_people(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, world: World
) -> None:
    """The page's log section is a kept block (per the events, the names they quote and the language): a new event
    and a renamed actor show at once, and the Chinese page is written in Chinese."""
    from sqlalchemy import update

    from makeready.accounts.models import User
    from makeready.db.session import make_sessionmaker
    from makeready.db.tenancy import Scope, set_scope
    from makeready.projects import service as projects
    from tests.test_portal_projects import make_project

    project_id = await make_project(engine, world, "Kept lamp")
    await login(client, world.owner_a.email)
    first = log_section((await client.get(f"/projects/{project_id}")).text)
    assert world.owner_a.display_name in first
    assert log_section((await client.get(f"/projects/{project_id}")).text) == first

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await session.execute(update(User).where(User.id == world.owner_a.id).values(name="Ada Renamed"))
    renamed = log_section((await client.get(f"/projects/{project_id}")).text)
    assert "Ada Renamed" in renamed
    assert renamed != first

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await projects.update_project(
                session,
                actor=world.owner_a,
                project_id=project_id,
                expected_version=(await projects.get_project(session, project_id)).version,
                changes={"category": "Lighting"},
            )
    updated = log_section((await client.get(f"/projects/{project_id}")).text)
    assert "Lighting" in updated
    assert updated.count('<li class="log-entry') == renamed.count('<li class="log-entry') + 1

    await switch(client, "zh_Hans")
    chinese = log_section((await client.get(f"/projects/{project_id}")).text)
    with i18n.use_locale("zh_Hans"):
        assert i18n.gettext("Decision log") in chinese
    assert chinese != updated
    assert "Ada Renamed" in chinese
