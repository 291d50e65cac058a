"""Notifications: one call writes the in-app message and the email, in the caller's transaction; a job sends the email.

`notify()` adds a Notification row (shown in the app, rendered in the reader's language when read) and an
EmailOutbox row (rendered from templates/email/<kind>.* in the recipient's language when delivered). Both are
written in the caller's transaction, so they exist exactly when the event they report committed.

`deliver_outbox()` sends pending emails, one short transaction per email:
1. claim: `attempts += 1` on a row still pending with the attempts we read (a concurrent deliverer loses the race),
   which also starts its lease: a claimed row is not due again for `retry_delay(attempts)`;
2. send through makeready.notify.email, outside any transaction;
3. mark: sent, or pending again with the error (a failure that retrying can fix), or failed (one it cannot, or the
   last attempt).
A crash between 1 and 3 leaves the row pending; it is sent when its retry delay has passed (at least once, never lost).

Each kind's in-app text is a catalog string with %(name)s placeholders; parameter values are plain text (a project
name with markup stays text: nothing here marks a value safe). Parameters named in TRANSLATED are msgids (standard
milestone titles, task titles) and are translated for the reader; those in DATES are ISO dates, formatted for them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.selectable import ScalarSelect

from makeready import i18n
from makeready.accounts.models import User
from makeready.audit.service import jsonable
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.i18n import N_
from makeready.notify import email
from makeready.notify.models import EmailOutbox, Notification, OutboxStatus
from makeready.notify.outbox import without_secrets
from makeready.projects.models import Project
from makeready.settings import Settings

log = logging.getLogger("makeready.notify")


@dataclass(frozen=True)
class Kind:
    """A kind of notification: its in-app message and the parameters it (and its email template) needs."""

    message: str
    params: tuple[str, ...]


KINDS: Mapping[str, Kind] = {
    "sample_received": Kind(
        N_("Sample round %(round)s of %(project)s has arrived: approve or reject it."), ("project", "round")
    ),
    "sample_approved": Kind(
        N_("%(actor)s approved sample round %(round)s of %(project)s."),
        ("project", "round", "actor", "comment"),
    ),
    "sample_rejected": Kind(
        N_("%(actor)s rejected sample round %(round)s of %(project)s: %(comment)s"),
        ("project", "round", "actor", "comment"),
    ),
    "change_request_raised": Kind(
        N_("%(actor)s raised change request %(number)s on %(project)s: %(title)s"),
        ("project", "number", "title", "actor"),
    ),
    "change_request_approved": Kind(
        N_("%(actor)s approved change request %(number)s on %(project)s: %(title)s"),
        ("project", "number", "title", "actor", "note"),
    ),
    "change_request_rejected": Kind(
        N_("%(actor)s rejected change request %(number)s on %(project)s: %(title)s"),
        ("project", "number", "title", "actor", "note"),
    ),
    "question_asked": Kind(
        N_("%(actor)s asked a question about %(project)s: %(question)s"), ("project", "question", "actor")
    ),
    "question_answered": Kind(
        N_("%(actor)s answered your question about %(project)s: %(answer)s"),
        ("project", "question", "answer", "actor"),
    ),
    "go_ahead_given": Kind(
        N_("%(actor)s gave the go-ahead for development of %(project)s."), ("project", "actor")
    ),
    "coordinator_assigned": Kind(
        N_("%(actor)s made you the coordinator of %(project)s for %(org)s."), ("project", "org", "actor")
    ),
    "project_submitted": Kind(
        N_("%(actor)s submitted a new product for %(org)s: %(project)s"), ("project", "org", "actor")
    ),
    "task_opened": Kind(N_("New task on %(project)s: %(task)s"), ("project", "task")),
    "spec_review_requested": Kind(
        N_("Revision %(revision)s of the specification of %(project)s is ready for your review."),
        ("project", "revision"),
    ),
    "spec_approved": Kind(
        N_("%(actor)s approved revision %(revision)s of the specification of %(project)s."),
        ("project", "revision", "actor"),
    ),
    "spec_changes_requested": Kind(
        N_(
            "%(actor)s asked for changes to revision %(revision)s of the specification of %(project)s: %(comment)s"
        ),
        ("project", "revision", "actor", "comment"),
    ),
    "spec_issued": Kind(
        N_("Revision %(revision)s of the specification of %(project)s was issued to the factory."),
        ("project", "revision"),
    ),
    "milestone_at_risk": Kind(
        N_('The milestone "%(milestone)s" of %(project)s is due on %(due_date)s and has not started.'),
        ("project", "milestone", "due_date"),
    ),
    "milestone_late": Kind(
        N_('The milestone "%(milestone)s" of %(project)s was due on %(due_date)s and is not done.'),
        ("project", "milestone", "due_date", "owner"),
    ),
    "milestone_escalated": Kind(
        N_(
            'Escalation: the milestone "%(milestone)s" of %(project)s (owner: %(owner)s) is late since %(due_date)s.'
        ),
        ("project", "milestone", "due_date", "owner"),
    ),
    "factory_acknowledged": Kind(
        N_(
            "%(person)s of %(supplier)s acknowledged revision %(revision)s of the specification of %(project)s."
        ),
        ("project", "revision", "supplier", "person"),
    ),
    "factory_question_asked": Kind(
        N_("%(person)s of %(supplier)s asked about revision %(revision)s of %(project)s: %(question)s"),
        ("project", "revision", "supplier", "person", "field", "question"),
    ),
    "invoice_issued": Kind(
        N_("Invoice %(number)s for %(description)s (%(project)s): %(amount)s, due on %(due_date)s."),
        ("project", "description", "amount", "currency", "number", "due_date", "invoice_url"),
    ),
    "inspection_ready_for_review": Kind(
        N_("The report of %(kind)s %(inspection)s of %(project)s is ready for your decision."),
        ("project", "inspection", "kind"),
    ),
    "inspection_decided": Kind(
        N_("%(actor)s decided on inspection %(inspection)s of %(project)s: %(decision)s. %(reasons)s"),
        ("project", "inspection", "actor", "decision", "reasons"),
    ),
    "inspection_action_answered": Kind(
        N_("%(person)s of the factory answered corrective action %(number)s of %(project)s."),
        ("project", "person", "number"),
    ),
    "billing_past_due": Kind(
        N_("The subscription payment for %(org)s failed. Update the payment method on the billing page."),
        ("org",),
    ),  # production (makeready.production.rules)
    "production_order_confirmed": Kind(
        N_("%(actor)s confirmed production order %(order)s of %(project)s: it can be sent to the factory."),
        ("project", "order", "actor"),
    ),
    "production_order_sent": Kind(
        N_(
            "Production order %(order)s of %(project)s was sent to %(factory)s, ex-factory %(ex_factory_date)s."
        ),
        ("project", "order", "factory", "ex_factory_date"),
    ),
    "production_order_accepted": Kind(
        N_("%(factory)s accepted production order %(order)s of %(project)s, ex-factory %(ex_factory_date)s."),
        ("project", "order", "factory", "ex_factory_date"),
    ),
    "production_order_date_proposed": Kind(
        N_(
            "%(factory)s proposes %(ex_factory_date)s as the ex-factory date of %(order)s (%(project)s): %(reason)s"
        ),
        ("project", "order", "factory", "ex_factory_date", "reason"),
    ),
    "production_order_rescheduled": Kind(
        N_("The ex-factory date of %(order)s (%(project)s) moved to %(ex_factory_date)s: %(reason)s"),
        ("project", "order", "ex_factory_date", "reason"),
    ),
    "production_alert": Kind(
        N_("%(order)s of %(project)s: %(problem)s"),
        ("project", "order", "problem"),
    ),
    "production_escalated": Kind(
        N_("Still open: %(problem)s on %(order)s of %(project)s."),
        ("project", "order", "problem"),
    ),
    # materials (makeready.materials.notifications)
    "materials_shortage": Kind(
        N_("%(order)s of %(project)s: %(problem)s. Missing: %(materials)s"),
        ("project", "order", "problem", "materials"),
    ),
    # shipping (makeready.shipping.rules)
    "shipment_released": Kind(
        N_(
            "%(actor)s released shipment %(shipment)s of %(project)s (%(order)s, lots %(lots)s) for shipment."
        ),
        ("project", "shipment", "order", "lots", "actor"),
    ),
    "shipment_problem_reported": Kind(
        N_("%(actor)s reported a problem with shipment %(shipment)s of %(project)s: %(problem)s"),
        ("project", "shipment", "problem", "actor"),
    ),
}

# parameter values that are msgids, translated for the reader
TRANSLATED = frozenset({"milestone", "task", "problem", "decision"})
# parameter values that are ISO dates, formatted for the reader
DATES = frozenset({"due_date", "ex_factory_date"})
# parameter values that are decimal amounts in the `currency` parameter, formatted for the reader
MONEY = frozenset({"amount"})

MAX_ATTEMPTS = 5
"""Tries of one email before it is marked failed."""
RETRY_DELAY = timedelta(minutes=1)
"""Wait before the second try; doubles for each further one. Also the lease of a claimed row (longer than the
SMTP timeout), so two deliverers never send the same row at once."""


def retry_delay(attempts: int) -> timedelta:
    """How long after its last claim a row that was tried `attempts` times becomes due again."""
    return RETRY_DELAY * (2 ** max(attempts - 1, 0))


# --------------------------------------------------------------------------------------------------------------
# Writing


async def notify(
    session: AsyncSession,
    *,
    user: User,
    kind: str,
    params: Mapping[str, Any],
    project_id: int | None = None,
    link: str = "",
) -> Notification | None:
    """Tell `user` about an event: a Notification and an EmailOutbox row, in the caller's transaction.

    A deactivated user is told nothing (None). Raises ValueError for an unknown kind or a missing parameter:
    a programming error, found in the caller's transaction rather than when the email is rendered.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown notification kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    missing = [name for name in spec.params if name not in params]
    if missing:
        raise ValueError(f"notification {kind!r} needs {', '.join(missing)}")
    if not user.is_active:
        return None
    values: dict[str, Any] = jsonable(dict(params))
    org_id = None
    if project_id is not None:
        org_id = await session.scalar(select(Project.org_id).where(Project.id == project_id))
    notification = Notification(
        user_id=user.id, org_id=org_id, project_id=project_id, kind=kind, params=values, link=link
    )
    session.add(notification)
    session.add(
        EmailOutbox(
            to_email=user.email,
            to_name=user.display_name,
            locale=email.recipient_locale(user.locale),
            template=kind,
            context={**values, "name": user.display_name, "project_id": project_id, "link": link},
            status=OutboxStatus.pending,
            attempts=0,
        )
    )
    await session.flush()
    return notification


# --------------------------------------------------------------------------------------------------------------
# Reading


def message_text(kind: str, params: Mapping[str, Any]) -> str:
    """The notification's text in the current locale (plain text: escape it where it is shown)."""
    spec = KINDS.get(kind)
    if spec is None:
        return kind
    values: dict[str, Any] = {}
    for key, value in params.items():
        if key in TRANSLATED and isinstance(value, str) and value:
            value = i18n.gettext(value)
        elif key in DATES and isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                value = i18n.format_date(date.fromisoformat(value[:10]))
        elif key in MONEY and isinstance(value, str) and value and params.get("currency"):
            with contextlib.suppress(ArithmeticError, ValueError):
                value = i18n.format_money(Decimal(value), str(params["currency"]))
        values[key] = "" if value is None else str(value)
    for name in spec.params:
        values.setdefault(name, "")
    return i18n.gettext(spec.message) % values


def render(notification: Notification) -> str:
    return message_text(notification.kind, notification.params or {})


async def list_notifications(
    session: AsyncSession, *, user: User, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = await session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).offset(offset).limit(limit)
    )
    return list(rows.all())


async def unread_count(session: AsyncSession, user: User) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    return int(count or 0)


@cache
def unread_count_of_user() -> ScalarSelect[int]:
    """`unread_count` as a scalar subquery correlated to the statement's `User` (see sessions.user_for_with), built
    once."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


async def mark_read(
    session: AsyncSession,
    *,
    user: User,
    notification_ids: list[int] | None = None,
    now: datetime | None = None,
) -> int:
    """Mark the user's notifications read (all when no ids are given); returns how many changed.
    Ids of other users' notifications are ignored."""
    query = select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    rows = (await session.scalars(query)).all()
    stamp = now or utcnow()
    for row in rows:
        row.read_at = stamp
    await session.flush()
    return len(rows)


# --------------------------------------------------------------------------------------------------------------
# Delivering


@dataclass
class OutboxReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _factory(target: AsyncEngine | async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    return target if isinstance(target, async_sessionmaker) else make_sessionmaker(target)


def _due(now: datetime) -> Any:
    waited = [
        and_(EmailOutbox.attempts == n, EmailOutbox.updated_at <= now - retry_delay(n))
        for n in range(1, MAX_ATTEMPTS)
    ]
    return and_(EmailOutbox.status == OutboxStatus.pending, or_(EmailOutbox.attempts == 0, *waited))


async def deliver_outbox(
    target: AsyncEngine | async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> OutboxReport:
    """Send the pending emails that are due (see the module docstring); returns what happened."""
    factory = _factory(target)

    def clock() -> datetime:
        return now or utcnow()

    report = OutboxReport()
    async with factory() as session:
        set_scope(session, Scope.system())
        query = select(EmailOutbox.id).where(_due(clock())).order_by(EmailOutbox.id).limit(limit)
        ids = list((await session.scalars(query)).all())
    for outbox_id in ids:
        claimed = await _claim(factory, outbox_id, clock())
        if claimed is None:
            continue  # another deliverer took it
        try:
            await email.send(
                to=claimed.to_email,
                to_name=claimed.to_name,
                template=claimed.template,
                context=claimed.context,
                locale=claimed.locale,
                settings=settings,
            )
        except email.EmailRejected as exc:
            await _finish(
                factory,
                outbox_id,
                OutboxStatus.failed,
                str(exc),
                at=clock(),
                context=without_secrets(claimed.context),
            )
            log.error("email %s to %s failed for good: %s", outbox_id, claimed.to_email, exc)
            report.failed += 1
        except email.EmailDeliveryFailed as exc:
            final = claimed.attempts >= MAX_ATTEMPTS
            status = OutboxStatus.failed if final else OutboxStatus.pending
            await _finish(
                factory,
                outbox_id,
                status,
                str(exc),
                at=clock(),
                context=without_secrets(claimed.context) if final else None,
            )
            log.warning("email %s attempt %d failed: %s", outbox_id, claimed.attempts, exc)
            if final:
                report.failed += 1
            else:
                report.retrying += 1
        else:
            stamp = clock()
            await _finish(
                factory,
                outbox_id,
                OutboxStatus.sent,
                "",
                at=stamp,
                sent_at=stamp,
                context=without_secrets(claimed.context),
            )
            report.sent += 1
    return report


@dataclass(frozen=True)
class _Claimed:
    to_email: str
    to_name: str
    template: str
    context: dict[str, Any]
    locale: str
    attempts: int


async def _claim(factory: async_sessionmaker[AsyncSession], outbox_id: int, now: datetime) -> _Claimed | None:
    async with factory() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            row = await session.scalar(select(EmailOutbox).where(EmailOutbox.id == outbox_id, _due(now)))
            if row is None:
                return None
            result = await session.execute(
                update(EmailOutbox)
                .where(
                    EmailOutbox.id == outbox_id,
                    EmailOutbox.status == OutboxStatus.pending,
                    EmailOutbox.attempts == row.attempts,
                )
                .values(attempts=row.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            return _Claimed(
                to_email=row.to_email,
                to_name=row.to_name,
                template=row.template,
                context=dict(row.context or {}),
                locale=row.locale,
                attempts=row.attempts + 1,
            )


async def _finish(
    factory: async_sessionmaker[AsyncSession],
    outbox_id: int,
    status: OutboxStatus,
    error: str,
    *,
    at: datetime,
    sent_at: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """Record the outcome; `context`, when given, replaces the row's (its secrets blanked once the row is final)."""
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:2000],
        "sent_at": sent_at,
        "updated_at": at,
    }
    if context is not None:
        values["context"] = context
    async with factory() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            await session.execute(
                update(EmailOutbox)
                .where(EmailOutbox.id == outbox_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def describe_kinds() -> dict[str, str]:
    """Each kind with its English message (for documentation and tests)."""
    return {name: spec.message for name, spec in KINDS.items()}


__all__ = [
    "KINDS",
    "MAX_ATTEMPTS",
    "OutboxReport",
    "deliver_outbox",
    "list_notifications",
    "mark_read",
    "message_text",
    "notify",
    "render",
    "retry_delay",
    "unread_count",
]
