"""The audit trail folded into `metric_facts`: one fold, read forward from a cursor.

`catch_up()` reads the audit events after the cursor (only the actions some kind in `kinds.KINDS` reads), in the
chain's order, and applies each: a deciding or withdrawing action closes the open fact of its key, an asking
action opens one (unless one is open already: the wait started with the first ask). It runs

- from bus rules (`metrics.rules`), in the transaction of the event, so the figures follow the work;
- from a periodic job (`metrics.jobs`) for events recorded without a bus event (a factory's question);
- from `rebuild_in_batches()` (`makeready metrics rebuild`), which empties the facts, resets the cursor and folds
  the whole chain a batch per transaction: the same code, so a rebuild gives the same rows as the incremental path.

The chain's order is the order of causation: an event stamped earlier than the one before it (a backdated
demo, a clock step) is still applied after it, and its latency counts as zero rather than negative.

The facts are agency bookkeeping read across organizations: its statements bypass the tenancy scope (a brand's
transaction that fires a rule may catch up events of other organizations); the rows keep their organization,
so every reader is scoped as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.audit.models import AuditEvent
from makeready.db.session import unit_of_work
from makeready.db.tenancy import Scope
from makeready.metrics.intervals import (
    FOREVER,
    Interval,
    add_months,
    at_midnight,
    months_between,
    subtract,
    union,
)
from makeready.metrics.kinds import ACTIONS, BY_NAME, HOLD, KINDS, PARTIES, WITHDRAWN, Kind, On
from makeready.metrics.models import MetricCursor, MetricFact, MetricWait
from makeready.production.models import ProductionOrder
from makeready.quality.models import CorrectiveAction, Inspection
from makeready.samples.models import SampleRound
from makeready.specs.models import FactoryLink, FactoryQuestion

BYPASS = {"tenancy_bypass": True}
RULE_BATCH = 500
"""At most this many events are folded inside someone's transaction; the periodic job takes the rest."""
REBUILD_BATCH = 5000
ROLL_UP_CHUNK = 200
AUDIT_LOCK = 4242001
"""The audit chain's append lock (audit.service.record): holding it, no event with a lower seq can still commit."""


ASK, DECIDE, WITHDRAW = "ask", "decide", "withdraw"
# Core inserts (executemany) of plain dicts: a third of the ORM's bulk insert cost for a rebuild's batches
FACTS_TABLE = cast(Table, MetricFact.__table__)
WAITS_TABLE = cast(Table, MetricWait.__table__)


def _index() -> dict[str, list[tuple[Kind, str, On]]]:
    """Action -> the (kind, role, matcher) entries that read it: an event looks up only its own action."""
    index: dict[str, list[tuple[Kind, str, On]]] = {}
    for kind in KINDS:
        for role, ons in ((DECIDE, kind.decided), (WITHDRAW, kind.withdrawn), (ASK, kind.asked)):
            for on in ons:
                index.setdefault(on.action, []).append((kind, role, on))
    return index


INDEX = _index()

SupplierSource = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, int | None]]]


async def _sample_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(SampleRound.id, SampleRound.supplier_id).where(SampleRound.id.in_(ids)),
        execution_options=BYPASS,
    )
    return {row.id: row.supplier_id for row in rows}


async def _link_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(FactoryLink.id, FactoryLink.supplier_id).where(FactoryLink.id.in_(ids)),
        execution_options=BYPASS,
    )
    return {row.id: row.supplier_id for row in rows}


async def _question_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(FactoryQuestion.id, FactoryLink.supplier_id)
        .join(FactoryLink, FactoryLink.id == FactoryQuestion.link_id)
        .where(FactoryQuestion.id.in_(ids)),
        execution_options=BYPASS,
    )
    return {row.id: row.supplier_id for row in rows}


async def _order_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(ProductionOrder.id, ProductionOrder.supplier_id).where(ProductionOrder.id.in_(ids)),
        execution_options=BYPASS,
    )
    return {row.id: row.supplier_id for row in rows}


async def _inspection_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(Inspection.id, Inspection.supplier_id).where(Inspection.id.in_(ids)), execution_options=BYPASS
    )
    return {row.id: row.supplier_id for row in rows}


async def _action_suppliers(session: AsyncSession, ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(CorrectiveAction.id, ProductionOrder.supplier_id)
        .join(ProductionOrder, ProductionOrder.id == CorrectiveAction.order_id)
        .where(CorrectiveAction.id.in_(ids)),
        execution_options=BYPASS,
    )
    return {row.id: row.supplier_id for row in rows}


SUPPLIER_SOURCES: dict[str, SupplierSource] = {
    "sample_round": _sample_suppliers,
    "factory_link": _link_suppliers,
    "factory_question": _question_suppliers,
    "production_order": _order_suppliers,
    "inspection": _inspection_suppliers,
    "corrective_action": _action_suppliers,
}
"""How a kind's `supplier` is found from the asking event's subject ids (one statement per batch)."""


@dataclass
class _Fact:
    """A fact as the fold sees it: `id` None until inserted; `dirty` when a loaded row was closed."""

    kind: str
    party: str
    org_id: int
    project_id: int | None
    subject_type: str
    subject_id: int | None
    key: str
    scope: str
    attempt: int
    asked_seq: int
    asked_at: datetime
    supplier_id: int | None = None
    id: int | None = None
    closed_seq: int | None = None
    closed_at: datetime | None = None
    outcome: str = ""
    latency_s: int | None = None
    passed: bool | None = None
    dirty: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "kind": self.kind,
            "party": self.party,
            "project_id": self.project_id,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "supplier_id": self.supplier_id,
            "key": self.key,
            "scope": self.scope,
            "attempt": self.attempt,
            "asked_seq": self.asked_seq,
            "asked_at": self.asked_at,
            "closed_seq": self.closed_seq,
            "closed_at": self.closed_at,
            "outcome": self.outcome,
            "latency_s": self.latency_s,
            "passed": self.passed,
        }


def _key(kind: Kind, event: Any) -> str | None:
    if kind.key == "project":
        return None if event.project_id is None else f"{kind.name}:project:{event.project_id}"
    if event.subject_id is None:
        return None
    return f"{kind.name}:{event.subject_type}:{event.subject_id}"


def _scope(kind: Kind, event: Any, key: str) -> str:
    if kind.attempts_of == "project" and event.project_id is not None:
        return f"{kind.name}:project:{event.project_id}"
    return key


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


async def _load(session: AsyncSession, events: Sequence[Any]) -> tuple[dict[str, _Fact], dict[str, int]]:
    """The open facts and the decided-attempt counts the batch can touch (two statements)."""
    keys: set[str] = set()
    scopes: set[str] = set()
    for event in events:
        for kind, _role, _on in INDEX.get(event.action, ()):
            key = _key(kind, event)
            if key is not None:
                keys.add(key)
                scopes.add(_scope(kind, event, key))
    open_facts: dict[str, _Fact] = {}
    if keys:
        rows = await session.execute(
            select(MetricFact).where(MetricFact.key.in_(keys), MetricFact.closed_seq.is_(None)),
            execution_options=BYPASS,
        )
        for (fact,) in rows:
            open_facts[fact.key] = _Fact(
                id=fact.id,
                kind=fact.kind,
                party=fact.party,
                org_id=fact.org_id,
                project_id=fact.project_id,
                subject_type=fact.subject_type,
                subject_id=fact.subject_id,
                supplier_id=fact.supplier_id,
                key=fact.key,
                scope=fact.scope,
                attempt=fact.attempt,
                asked_seq=fact.asked_seq,
                asked_at=fact.asked_at,
            )
    attempts: dict[str, int] = {}
    if scopes:
        rows2 = await session.execute(
            select(MetricFact.scope, func.count())
            .where(
                MetricFact.scope.in_(scopes),
                MetricFact.closed_seq.is_not(None),
                MetricFact.outcome != WITHDRAWN,
            )
            .group_by(MetricFact.scope),
            execution_options=BYPASS,
        )
        attempts = {scope: count for scope, count in rows2}
    return open_facts, attempts


def fold(
    events: Sequence[Any], open_facts: dict[str, _Fact], attempts: dict[str, int]
) -> tuple[list[_Fact], list[_Fact]]:
    """Apply events (in chain order) to the open facts; return (new facts, loaded facts now closed). Pure."""
    created: list[_Fact] = []
    closed: list[_Fact] = []
    for event in events:
        if event.org_id is None:
            continue  # agency-internal events (quotes) belong to no project's figures
        # close first: one action can decide one kind and ask the next (a sample received ends its making and
        # asks the brand to decide)
        entries = [
            (kind, role)
            for kind, role, on in INDEX.get(event.action, ())
            if on.matches(event.action, event.before, event.after)
        ]
        for kind, role in entries:
            if role == ASK:
                continue
            key = _key(kind, event)
            fact = open_facts.get(key) if key is not None else None
            if fact is None:
                continue  # decided without a recorded ask (before the trail knew this kind): nothing to time
            fact.closed_seq, fact.closed_at = event.seq, event.created_at
            if role == DECIDE:
                fact.outcome = event.action
                fact.latency_s = _seconds(fact.asked_at, event.created_at)
                fact.passed = event.action in kind.passes if kind.passes else None
                attempts[fact.scope] = attempts.get(fact.scope, 0) + 1
            else:
                fact.outcome = WITHDRAWN
            del open_facts[fact.key]
            if fact.id is not None:
                fact.dirty = True
                closed.append(fact)
        for kind, role in entries:
            if role != ASK:
                continue
            key = _key(kind, event)
            if key is None or key in open_facts:
                continue  # asked again while still waiting: the wait began with the first ask
            scope = _scope(kind, event, key)
            fact = _Fact(
                kind=kind.name,
                party=kind.party,
                org_id=event.org_id,
                project_id=event.project_id,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                key=key,
                scope=scope,
                attempt=attempts.get(scope, 0) + 1,
                asked_seq=event.seq,
                asked_at=event.created_at,
            )
            open_facts[key] = fact
            created.append(fact)
    return created, closed


async def _suppliers(session: AsyncSession, facts: Sequence[_Fact]) -> None:
    wanted: dict[str, set[int]] = {}
    for fact in facts:
        source = _kind(fact.kind).supplier
        if source is not None and fact.subject_id is not None:
            wanted.setdefault(source, set()).add(fact.subject_id)
    for source, ids in wanted.items():
        found = await SUPPLIER_SOURCES[source](session, sorted(ids))
        for fact in facts:
            if _kind(fact.kind).supplier == source and fact.subject_id is not None:
                fact.supplier_id = found.get(fact.subject_id)


def _kind(name: str) -> Kind:
    return BY_NAME[name]


async def _cursor(session: AsyncSession) -> int:
    last = await session.scalar(
        select(MetricCursor.last_seq).where(MetricCursor.id == 1), execution_options=BYPASS
    )
    if last is None:
        await session.execute(insert(MetricCursor).values(id=1, last_seq=0), execution_options=BYPASS)
        return 0
    return last


async def catch_up(
    session: AsyncSession, *, limit: int = RULE_BATCH, lock: bool = False, roll: bool = True
) -> int:
    """Fold up to `limit` relevant events after the cursor; returns how many were read. `lock` takes the audit
    chain's append lock first (the job does; a rule already holds it through the event it follows). `roll`
    recomputes the waiting rows of the projects the batch touched (a rebuild does every project once, at the end)."""
    if lock:
        await _lock(session)
    after = await _cursor(session)
    events = (
        await session.execute(
            select(
                AuditEvent.seq,
                AuditEvent.action,
                AuditEvent.subject_type,
                AuditEvent.subject_id,
                AuditEvent.org_id,
                AuditEvent.project_id,
                AuditEvent.before,
                AuditEvent.after,
                AuditEvent.created_at,
            )
            .where(AuditEvent.seq > after, AuditEvent.action.in_(sorted(ACTIONS)))
            .order_by(AuditEvent.seq)
            .limit(limit),
            execution_options=BYPASS,
        )
    ).all()
    if len(events) == limit:
        new_cursor = events[-1].seq
    else:
        head = await session.scalar(select(func.max(AuditEvent.seq)), execution_options=BYPASS)
        new_cursor = max(after, head or 0)
    if events:
        open_facts, attempts = await _load(session, events)
        created, closed = fold(events, open_facts, attempts)
        await _suppliers(session, created)
        if created:
            await session.execute(insert(FACTS_TABLE), [f.row() for f in created], execution_options=BYPASS)
        if closed:
            # one executemany by primary key
            await session.execute(
                update(MetricFact),
                [
                    {
                        "id": f.id,
                        "closed_seq": f.closed_seq,
                        "closed_at": f.closed_at,
                        "outcome": f.outcome,
                        "latency_s": f.latency_s,
                        "passed": f.passed,
                    }
                    for f in closed
                ],
                execution_options=BYPASS,
            )
        if roll:
            await roll_up(session, {f.project_id for f in (*created, *closed) if f.project_id is not None})
    if new_cursor != after:
        await session.execute(
            update(MetricCursor).where(MetricCursor.id == 1).values(last_seq=new_cursor),
            execution_options=BYPASS,
        )
    return len(events)


def waits_of(
    spans: dict[str, list[Interval]],
) -> tuple[dict[str, dict[date, int]], dict[str, datetime]]:
    """One project's waiting from its asks' spans by party (and its holds under HOLD; an open span ends at
    FOREVER): closed seconds per party and month, and per party the start of the wait still going on."""
    holds = union(spans.get(HOLD, []))
    closed: dict[str, dict[date, int]] = {}
    open_since: dict[str, datetime] = {}
    for party in PARTIES:
        segments = subtract(union(spans.get(party, [])), holds)
        done = [s for s in segments if s[1] != FOREVER]
        for start, end in segments:
            if end == FOREVER:
                open_since[party] = start
        seconds: dict[date, int] = {}
        for start, end in done:
            for month in months_between(start, end):
                lo, hi = at_midnight(month), at_midnight(add_months(month, 1))
                seconds[month] = seconds.get(month, 0) + int((min(end, hi) - max(start, lo)).total_seconds())
        seconds = {m: n for m, n in seconds.items() if n}
        if seconds:
            closed[party] = seconds
    return closed, open_since


async def roll_up(session: AsyncSession, project_ids: set[int]) -> None:
    """Recompute the waiting rows (`MetricWait`) of these projects from their facts: three statements."""
    if not project_ids:
        return
    ids = sorted(project_ids)
    rows = await session.execute(
        select(
            MetricFact.org_id,
            MetricFact.project_id,
            MetricFact.kind,
            MetricFact.party,
            MetricFact.asked_at,
            MetricFact.closed_at,
        ).where(MetricFact.project_id.in_(ids), or_(MetricFact.party.in_(PARTIES), MetricFact.kind == HOLD)),
        execution_options=BYPASS,
    )
    spans: dict[int, dict[str, list[Interval]]] = {}
    orgs: dict[int, int] = {}
    for org_id, project_id, kind, party, asked_at, closed_at in rows:
        if project_id is None:
            continue
        orgs[project_id] = org_id
        spans.setdefault(project_id, {}).setdefault(HOLD if kind == HOLD else party, []).append(
            (asked_at, closed_at or FOREVER)
        )
    await session.execute(delete(MetricWait).where(MetricWait.project_id.in_(ids)), execution_options=BYPASS)
    new: list[dict[str, Any]] = []
    for project_id, by_party in spans.items():
        closed, open_since = waits_of(by_party)
        base = {"org_id": orgs[project_id], "project_id": project_id}
        for party, months in closed.items():
            new.extend(
                {**base, "party": party, "month": m, "seconds": n, "open_since": None}
                for m, n in months.items()
            )
        new.extend(
            {**base, "party": party, "month": None, "seconds": 0, "open_since": since}
            for party, since in open_since.items()
        )
    if new:
        await session.execute(insert(WAITS_TABLE), new, execution_options=BYPASS)


async def _lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})"))


async def _reset(session: AsyncSession) -> None:
    await _lock(session)
    await session.execute(delete(MetricFact), execution_options=BYPASS)
    await session.execute(delete(MetricWait), execution_options=BYPASS)
    await _cursor(session)
    await session.execute(update(MetricCursor).values(last_seq=0), execution_options=BYPASS)


async def _fact_projects(session: AsyncSession) -> list[int]:
    projects = (
        await session.scalars(
            select(MetricFact.project_id).where(MetricFact.project_id.is_not(None)).distinct(),
            execution_options=BYPASS,
        )
    ).all()
    return sorted(p for p in projects if p is not None)


async def _count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(MetricFact.id)), execution_options=BYPASS) or 0


async def rebuild(session: AsyncSession, *, batch: int = REBUILD_BATCH) -> int:
    """Empty the facts and fold the whole chain again in the caller's one transaction (it holds the audit
    chain's append lock throughout on PostgreSQL: for a small chain, or tests); returns the number of facts."""
    await _reset(session)
    while await catch_up(session, limit=batch, roll=False) == batch:
        session.expunge_all()
    ids = await _fact_projects(session)
    for start in range(0, len(ids), ROLL_UP_CHUNK):
        await roll_up(session, set(ids[start : start + ROLL_UP_CHUNK]))
    return await _count(session)


async def rebuild_in_batches(engine: AsyncEngine, *, batch: int = REBUILD_BATCH) -> int:
    """The same rebuild as `rebuild`, one short transaction per batch (`makeready metrics rebuild`), so the
    app's writers wait for one batch at a time, never for the whole chain. Rules folding meanwhile continue from
    the same cursor under the same lock; the figures are partial until it ends."""
    async with unit_of_work(Scope.system(), engine=engine) as session:
        await _reset(session)
    while True:
        async with unit_of_work(Scope.system(), engine=engine) as session:
            read = await catch_up(session, limit=batch, lock=True, roll=False)
        if read < batch:
            break
    async with unit_of_work(Scope.system(), engine=engine) as session:
        ids = await _fact_projects(session)
    for start in range(0, len(ids), ROLL_UP_CHUNK):
        async with unit_of_work(Scope.system(), engine=engine) as session:
            await _lock(session)
            await roll_up(session, set(ids[start : start + ROLL_UP_CHUNK]))
    async with unit_of_work(Scope.system(), engine=engine) as session:
        return await _count(session)
