"""The domain machines (quote, milestone fee, factory link, feasibility review), every action from every state.

tests/test_workflow_machines.py runs the workflow's machines through one generic matrix; these services keep their
own messages for some refusals (a selected quote "is the basis of a decision"), so their outcomes are written out
here, one row per action and state, and checked through the services: the state reached, the version bumped, one
audit event under the transition's name (quotes without an organization: they are agency-internal), and for a
refusal a Conflict that changes nothing and writes no event.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.billing import fees
from makeready.billing.models import FeeStatus, MilestoneFee
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.factory_links import FACTORY_LINK, revoke_link
from makeready.feasibility.models import FeasibilityReview, ReviewStatus
from makeready.feasibility.review import FEASIBILITY_REVIEW
from makeready.feasibility.service import complete_review, reopen_review
from makeready.kernel.machine import Machine
from makeready.projects.models import MilestoneStatus, Phase
from makeready.specs.models import FactoryLink, LinkState, RevisionStatus, SpecRevision
from makeready.suppliers.models import Quote, QuoteStatus, Supplier
from makeready.suppliers.quotes import QUOTE, decline_quote, record_quote, select_supplier
from tests.billing_support import FakeStripe, fake_stripe
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_milestone,
    make_people,
    make_project,
    reload,
    system,
)

__all__ = ["fake_stripe"]

Outcome = Any
"""A state reached, or the refusal's message (a Conflict)."""


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


async def check(
    engine: AsyncEngine,
    machine: Machine[Any],
    model: type,
    row_id: int,
    action: str,
    expected: Outcome,
    call: Callable[[], Awaitable[Any]],
    *,
    org_id: int | None,
    versioned: bool = True,
) -> None:
    before = await reload(engine, model, row_id)
    events_before = len(await events(engine))
    if not isinstance(expected, enum.Enum):  # a message (the states are StrEnums: test for the enum)
        with pytest.raises(Conflict) as refused:
            await call()
        assert refused.value.message == expected
        assert refused.value.status_code == 409
        after = await reload(engine, model, row_id)
        assert getattr(after, machine.column) == getattr(before, machine.column)
        if versioned:
            assert after.version == before.version
        assert len(await events(engine)) == events_before, "a refused transition writes no audit event"
        return
    await call()
    after = await reload(engine, model, row_id)
    assert getattr(after, machine.column) == expected
    if versioned:
        assert after.version == before.version + 1
    transition = machine.transition(action)
    (event,) = [e for e in await events(engine, transition.event) if e.subject_id == row_id]
    assert (event.subject_type, event.org_id) == (machine.name, org_id)
    assert event.before is not None
    assert event.after is not None
    assert event.before[machine.column] == getattr(before, machine.column).value
    assert event.after[machine.column] == expected.value


# -- quotes --------------------------------------------------------------------------------------------------------

SELECTED = "This quote was selected: it is the basis of a decision and can no longer be changed."
DECLINED = "This quote was declined: ask the supplier for a new quote instead."
NOT_DECLINABLE = (
    "Only a requested or received quote can be declined; to replace the selected one, select another."
)
QUOTE_CASES: dict[tuple[str, QuoteStatus], Outcome] = {
    ("receive", QuoteStatus.requested): QuoteStatus.received,
    ("receive", QuoteStatus.received): QuoteStatus.received,  # a correction
    ("receive", QuoteStatus.selected): SELECTED,
    ("receive", QuoteStatus.declined): DECLINED,
    ("decline", QuoteStatus.requested): QuoteStatus.declined,
    ("decline", QuoteStatus.received): QuoteStatus.declined,
    ("decline", QuoteStatus.selected): NOT_DECLINABLE,
    ("decline", QuoteStatus.declined): NOT_DECLINABLE,
    (
        "select",
        QuoteStatus.requested,
    ): "Only a received quote can be selected: record the supplier's prices first.",
    ("select", QuoteStatus.received): QuoteStatus.selected,
    ("select", QuoteStatus.selected): "This quote is already the selected one.",
    (
        "select",
        QuoteStatus.declined,
    ): "A declined quote cannot be selected: ask the supplier for a new quote.",
}


async def arrange_quote(engine: AsyncEngine, people: People, status: QuoteStatus) -> Quote:
    project = await make_project(engine, people, phase=Phase.development)
    async with system(engine) as session:
        supplier = Supplier(name_en="Foshan Brightway Lighting", name_zh="佛山明途照明")
        session.add(supplier)
        await session.flush()
        quote = Quote(
            org_id=project.org_id,
            project_id=project.id,
            supplier_id=supplier.id,
            status=status,
            currency="USD",
            price_breaks=[] if status == QuoteStatus.requested else [{"quantity": 500, "unit_price": "4.20"}],
        )
        session.add(quote)
    return quote


@pytest.mark.parametrize(
    ("action", "state"), sorted(QUOTE_CASES), ids=[f"{a}-from-{s.value}" for a, s in sorted(QUOTE_CASES)]
)
async def test_quote_action_from_state(
    engine: AsyncEngine, people: People, action: str, state: QuoteStatus
) -> None:
    quote = await arrange_quote(engine, people, state)
    calls = {
        "receive": lambda: call_as(
            engine,
            people,
            people.coordinator,
            record_quote,
            project_id=quote.project_id,
            quote_id=quote.id,
            expected_version=quote.version,
            price_breaks=[("500", "4.10")],
        ),
        "decline": lambda: call_as(
            engine,
            people,
            people.coordinator,
            decline_quote,
            project_id=quote.project_id,
            quote_id=quote.id,
            expected_version=quote.version,
            reason="Too slow",
        ),
        "select": lambda: call_as(
            engine,
            people,
            people.coordinator,
            select_supplier,
            project_id=quote.project_id,
            quote_id=quote.id,
            reason="Best finish on the samples",
        ),
    }
    await check(
        engine, QUOTE, Quote, quote.id, action, QUOTE_CASES[(action, state)], calls[action], org_id=None
    )


@pytest.mark.parametrize("decline_others", [False, True])
async def test_selecting_another_quote_steps_the_selected_one_back(
    engine: AsyncEngine, people: People, decline_others: bool
) -> None:
    first = await arrange_quote(engine, people, QuoteStatus.selected)
    async with system(engine) as session:
        second = Quote(
            org_id=first.org_id,
            project_id=first.project_id,
            supplier_id=first.supplier_id,
            status=QuoteStatus.received,
            currency="USD",
            price_breaks=[{"quantity": 500, "unit_price": "3.90"}],
        )
        session.add(second)
    await call_as(
        engine,
        people,
        people.coordinator,
        select_supplier,
        project_id=first.project_id,
        quote_id=second.id,
        reason="Cheaper",
        decline_others=decline_others,
    )
    stepped_back = await reload(engine, Quote, first.id)
    assert stepped_back.status == (QuoteStatus.declined if decline_others else QuoteStatus.received)
    action = "set_aside" if decline_others else "unselect"
    (event,) = [e for e in await events(engine, QUOTE.transition(action).event) if e.subject_id == first.id]
    assert (event.before, event.after, event.reason) == (
        {"status": "selected"},
        {"status": stepped_back.status.value},
        "Another supplier was selected.",
    )
    assert (await reload(engine, Quote, second.id)).status == QuoteStatus.selected
    assert len(await events(engine, "supplier.selected")) == 1


# -- milestone fees ------------------------------------------------------------------------------------------------

BEING_INVOICED = "This fee is being invoiced right now; look at it again in a minute."
FEE_CASES: dict[tuple[str, FeeStatus], Outcome] = {
    **{("cancel", s): FeeStatus.canceled for s in (FeeStatus.planned, FeeStatus.due, FeeStatus.failed)},
    ("cancel", FeeStatus.invoicing): BEING_INVOICED,
    **{
        (
            "cancel",
            s,
        ): f"This fee is already {FeeStatus.labels()[s]}; an invoice is voided in Stripe, not here."
        for s in (FeeStatus.invoiced, FeeStatus.canceled)
    },
    ("retry", FeeStatus.failed): FeeStatus.due,
    **{
        (
            "retry",
            s,
        ): f"Only a fee whose invoicing failed can be retried; this one is: {FeeStatus.labels()[s]}."
        for s in FeeStatus
        if s != FeeStatus.failed
    },
}


@pytest.mark.parametrize(
    ("action", "state"), sorted(FEE_CASES), ids=[f"{a}-from-{s.value}" for a, s in sorted(FEE_CASES)]
)
async def test_fee_action_from_state(
    engine: AsyncEngine, people: People, fake_stripe: FakeStripe, action: str, state: FeeStatus
) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    milestone = await make_milestone(
        engine, project, status=MilestoneStatus.in_progress, title="First sample"
    )
    async with system(engine) as session:
        fee = MilestoneFee(
            org_id=project.org_id,
            project_id=project.id,
            milestone_id=milestone.id,
            description="Development retainer",
            amount_minor=150000,
            currency="USD",
            status=state,
            attempts=0,
            claimed_at=utcnow() if state == FeeStatus.invoicing else None,
        )
        session.add(fee)
    calls = {
        "cancel": lambda: call_as(
            engine, people, people.coordinator, fees.cancel_fee, fee_id=fee.id, reason="Agreed with the brand"
        ),
        "retry": lambda: call_as(engine, people, people.coordinator, fees.retry_fee, fee_id=fee.id),
    }
    await check(
        engine,
        fees.MILESTONE_FEE,
        MilestoneFee,
        fee.id,
        action,
        FEE_CASES[(action, state)],
        calls[action],
        org_id=project.org_id,
    )


# -- factory links -------------------------------------------------------------------------------------------------

LINK_CASES: dict[LinkState, Outcome] = {
    LinkState.live: LinkState.revoked,
    LinkState.acknowledged: LinkState.revoked,
    LinkState.revoked: "This link was already revoked.",
}


@pytest.mark.parametrize("state", list(LinkState), ids=[s.value for s in LinkState])
async def test_revoking_a_link_from_each_state(engine: AsyncEngine, people: People, state: LinkState) -> None:
    project = await make_project(engine, people, phase=Phase.development)
    now = utcnow()
    async with system(engine) as session:
        supplier = Supplier(name_en="Ningbo Harbor Plastics", name_zh="宁波海港塑料")
        revision = SpecRevision(
            org_id=project.org_id, project_id=project.id, number=1, status=RevisionStatus.issued, content={}
        )
        session.add_all([supplier, revision])
        await session.flush()
        link = FactoryLink(
            org_id=project.org_id,
            revision_id=revision.id,
            project_id=project.id,
            supplier_id=supplier.id,
            token_hash="0" * 64,
            expires_at=now + timedelta(days=30),
            acknowledged_at=now if state == LinkState.acknowledged else None,
            revoked_at=now if state == LinkState.revoked else None,
        )
        session.add(link)
    assert (await reload(engine, FactoryLink, link.id)).state == state  # the first state follows the row
    await check(
        engine,
        FACTORY_LINK,
        FactoryLink,
        link.id,
        "revoke",
        LINK_CASES[state],
        lambda: call_as(engine, people, people.coordinator, revoke_link, link_id=link.id),
        org_id=project.org_id,
        versioned=False,  # a link has no version column: concurrent opens bump its counters
    )
    if state != LinkState.revoked:
        revoked = await reload(engine, FactoryLink, link.id)
        assert revoked.revoked_at is not None
        assert revoked.revoked_by_id == people.coordinator.id


# -- feasibility review --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["complete", "reopen"])
async def test_feasibility_review_refuses_an_action_from_the_wrong_state(
    engine: AsyncEngine, people: People, action: str
) -> None:
    # make_project starts the review, completed or not (its first status follows completed_at)
    project = await make_project(
        engine, people, phase=Phase.feasibility, review_complete=action == "complete"
    )
    async with system(engine) as session:
        review = await session.scalar(
            select(FeasibilityReview).where(FeasibilityReview.project_id == project.id)
        )
        assert review is not None
    state = ReviewStatus.completed if action == "complete" else ReviewStatus.open
    assert (await reload(engine, FeasibilityReview, review.id)).status == state
    service = complete_review if action == "complete" else reopen_review
    kwargs: dict[str, Any] = {"project_id": project.id, "expected_version": review.version}
    if action == "reopen":
        kwargs["reason"] = "The brand changed the material"
    await check(
        engine,
        FEASIBILITY_REVIEW,
        FeasibilityReview,
        review.id,
        action,
        FEASIBILITY_REVIEW.transition(action).wrong_state,
        lambda: call_as(engine, people, people.coordinator, service, **kwargs),
        org_id=project.org_id,
    )
