"""The demo lives through its story with the clock set back: services, gates and audit events as a person's work would
cause them, at the moments the story says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready import demo
from makeready.accounts import service as accounts
from makeready.accounts.models import Organization
from makeready.audit import service as audit
from makeready.audit.models import AuditEvent
from makeready.db.types import frozen_clock, utcnow
from makeready.errors import ValidationFailed
from makeready.production.models import (
    Lot,
    LotStatus,
    OrderStatus,
    ProductionOrder,
    ProductionPhoto,
    ProgressReport,
    ToolingItem,
    ToolingStatus,
)
from makeready.production.orders import tooling_missing
from makeready.projects.models import Phase, Project
from makeready.samples.models import SampleRound, SampleStatus
from makeready.specs.models import RevisionStatus, SpecRevision
from tests.conftest import SeededDemo

TODAY = date(2026, 6, 15)


def test_frozen_clock_sets_utcnow_inside_the_block_only() -> None:
    before = utcnow()
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    later = moment + timedelta(days=3)
    with frozen_clock(moment):
        assert utcnow() == moment
        with frozen_clock(later):
            assert utcnow() == later
        assert utcnow() == moment
    assert utcnow() >= before
    with pytest.raises(ValueError, match="timezone-aware"), frozen_clock(datetime(2026, 1, 2)):
        pass


async def test_an_audit_event_inside_a_frozen_clock_carries_that_moment(db: AsyncSession) -> None:
    moment = datetime(2025, 11, 1, 12, 30, tzinfo=UTC)
    with frozen_clock(moment):
        event = await audit.record(db, actor_id=None, action="test.event", subject_type="test", subject_id=1)
    await db.commit()
    stored = await db.scalar(select(AuditEvent.created_at).where(AuditEvent.seq == event.seq))
    assert stored == moment
    assert (await audit.verify(db)).ok


async def test_the_demo_reaches_each_phase_through_its_gates_at_past_moments(
    db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    await seeded_demo(TODAY)
    projects = {p.name: p for p in (await db.scalars(select(Project))).all()}
    assert {name: p.phase for name, p in projects.items()} == {
        spec.name: spec.phase for spec in demo.PROJECTS
    }
    for spec in demo.PROJECTS:
        project = projects[spec.name]
        submitted = TODAY - timedelta(days=spec.submitted_days_ago)
        assert project.created_at == datetime(submitted.year, submitted.month, submitted.day, 9, tzinfo=UTC)
        # the brand's go-ahead (after a completed review) precedes development, as the gate asks
        assert (project.go_ahead_at is not None) == (spec.phase != Phase.feasibility), spec.name
    assert projects["Lantern Mini"].held_from == Phase.development
    currencies = (await db.execute(select(Organization.name, Organization.default_currency))).all()
    assert dict(currencies) == demo.ORGS

    for name in ("Arc Pendant 40", "Ridgeline 28L Daypack", "Tide Table Lamp"):
        project_id = projects[name].id
        samples = (
            await db.scalars(select(SampleRound.status).where(SampleRound.project_id == project_id))
        ).all()
        assert samples == [SampleStatus.approved], name
        revisions = await db.scalars(select(SpecRevision.status).where(SpecRevision.project_id == project_id))
        assert RevisionStatus.issued in revisions.all(), name

    arc = projects["Arc Pendant 40"].id
    steps = (
        await db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.project_id == arc,
                AuditEvent.action.in_(
                    [
                        "feasibility.completed",
                        "project.go_ahead_given",
                        "project.phase_changed",
                        "sample_round.approved",
                    ]
                ),
            )
            .order_by(AuditEvent.seq)
        )
    ).all()
    assert steps == [
        "feasibility.completed",
        "project.go_ahead_given",
        "project.phase_changed",
        "sample_round.approved",
        "project.phase_changed",
    ]

    # everything but the factory link sent on this run happened before the day of seeding, in seq order
    events = (await db.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    story = [e for e in events if not e.action.startswith("factory_link.")]
    assert story
    assert all(e.created_at < datetime(2026, 6, 15, tzinfo=UTC) for e in story)
    assert min(e.created_at for e in story) < datetime(2026, 1, 15, tzinfo=UTC)
    for project in projects.values():  # each project's history reads in order
        moments = [e.created_at for e in story if e.project_id == project.id]
        assert moments == sorted(moments), project.name
    assert (await audit.verify(db)).ok


async def test_an_org_currency_change_is_an_audited_service_call(db: AsyncSession) -> None:
    org = await accounts.get_or_create_org(db, name="Currency Test Co")
    for bad in ("E1R", "€UR", "EURO", ""):
        with pytest.raises(ValidationFailed):
            await accounts.set_default_currency(db, org=org, currency=bad)
    await accounts.set_default_currency(db, org=org, currency=" eur ")
    await accounts.set_default_currency(db, org=org, currency="EUR")  # the same again: nothing to record
    await db.commit()
    assert org.default_currency == "EUR"
    changes = (
        await db.scalars(
            select(AuditEvent).where(AuditEvent.action == "org.updated", AuditEvent.subject_id == org.id)
        )
    ).all()
    assert [(e.before, e.after) for e in changes] == [
        ({"default_currency": "USD"}, {"default_currency": "EUR"})
    ]


async def test_the_demo_has_a_project_in_production_with_an_order_of_five_lots(
    db: AsyncSession, seeded_demo: SeededDemo
) -> None:
    result = await seeded_demo(TODAY)
    assert result.production_link.startswith("/p/")
    order = await db.scalar(select(ProductionOrder))
    assert order is not None
    assert (order.quantity, order.status) == (3000, OrderStatus.in_production)
    lots = (await db.scalars(select(Lot).where(Lot.order_id == order.id).order_by(Lot.number))).all()
    assert [lot.status for lot in lots] == [
        LotStatus.packed,  # released in shipment 1
        LotStatus.failed,  # on quality hold
        LotStatus.passed,  # accepted with a concession
        LotStatus.in_production,
        LotStatus.planned,
    ]
    assert sum(lot.quantity for lot in lots) == 3000
    # every lot that started had its materials in house: none needed an override
    assert [lot.start_override_reason or "" for lot in lots] == [""] * 5
    reports = (await db.scalars(select(ProgressReport).where(ProgressReport.lot_id == lots[3].id))).all()
    assert len(reports) >= 3  # a report every working day
    assert lots[3].last_report_at is not None
    # the last working day before the day of seeding (a Monday): the Saturday, as the factory rests on Sundays
    assert lots[3].last_report_at.date() == date(2026, 6, 13)
    tooling = (await db.scalars(select(ToolingItem).where(ToolingItem.order_id == order.id))).all()
    assert sorted(t.status for t in tooling) == sorted([ToolingStatus.approved, ToolingStatus.trial])
    photos = (await db.scalars(select(ProductionPhoto).where(ProductionPhoto.order_id == order.id))).all()
    report_ids = {r.id for r in reports}
    assert any(p.subject_type == "progress_report" and p.subject_id in report_ids for p in photos)
    trial = next(t for t in tooling if t.status == ToolingStatus.trial)
    assert any(p.subject_type == "tooling_trial" and p.subject_id == trial.id for p in photos)
    # lot 5 cannot start: its mold is still on trial
    assert "Diffuser clip mold" in " ".join(await tooling_missing(db, order))
    # seeding again adds no second order
    await demo.seed(db, today=TODAY)
    assert len((await db.scalars(select(ProductionOrder))).all()) == 1
