"""Notifications: both rows in the caller's transaction, texts in the reader's language, and outbox delivery through a
real SMTP server (aiosmtpd in this process), with its failures."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from jinja2 import Environment
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import i18n, jobs
from makeready.audit.service import jsonable
from makeready.db.session import make_sessionmaker
from makeready.db.types import utcnow
from makeready.notify import email as mail
from makeready.notify import service as notify_service
from makeready.notify.models import EmailOutbox, Notification, OutboxStatus
from makeready.notify.service import (
    KINDS,
    MAX_ATTEMPTS,
    deliver_outbox,
    list_notifications,
    mark_read,
    message_text,
    notify,
    render,
    retry_delay,
    unread_count,
)
from makeready.settings import DatabaseSettings, EmailSettings, Settings
from tests.s3server import closed_port
from tests.test_email import Mailbox, free_port, parts, smtp_url
from tests.workflow_support import People, make_people, make_project, outbox, reload, session_as, system

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def mail_settings(db_url: str, smtp: str) -> Settings:
    s = Settings()
    s.db = DatabaseSettings().model_copy(update={"url": db_url})
    s.email = EmailSettings().model_copy(update={"smtp_url": smtp})
    return s


PARAMS: dict[str, dict[str, Any]] = {
    "sample_received": {"project": f"Arc {SCRIPT}", "round": 2},
    "sample_approved": {
        "project": f"Arc {SCRIPT}",
        "round": 2,
        "actor": "Maya",
        "comment": "Good <b>finish</b>",
    },
    "sample_rejected": {
        "project": f"Arc {SCRIPT}",
        "round": 2,
        "actor": "Maya",
        "comment": "Scratched <b>lid</b>",
    },
    "change_request_raised": {
        "project": f"Arc {SCRIPT}",
        "number": 3,
        "title": "Thicker <i>lid</i>",
        "actor": "Maya",
    },
    "change_request_approved": {
        "project": f"Arc {SCRIPT}",
        "number": 3,
        "title": "Thicker <i>lid</i>",
        "actor": "Chen",
        "note": "Agreed <b>with</b> the factory",
    },
    "change_request_rejected": {
        "project": f"Arc {SCRIPT}",
        "number": 4,
        "title": "Gold <i>plating</i>",
        "actor": "Chen",
        "note": "Tooling <b>cut</b> already",
    },
    "question_asked": {"project": f"Arc {SCRIPT}", "question": "Matte <u>or</u> gloss?", "actor": "Chen"},
    "question_answered": {
        "project": f"Arc {SCRIPT}",
        "question": "Matte or gloss?",
        "answer": "Matte <b>!</b>",
        "actor": "Maya",
    },
    "go_ahead_given": {"project": f"Arc {SCRIPT}", "actor": "Maya"},
    "coordinator_assigned": {"project": f"Arc {SCRIPT}", "org": f"Lumen {SCRIPT}", "actor": "Chen <b>W</b>"},
    "project_submitted": {"project": f"Arc {SCRIPT}", "org": f"Lumen {SCRIPT}", "actor": "Maya"},
    "task_opened": {"project": f"Arc {SCRIPT}", "task": "Issue a spec revision"},
    "milestone_at_risk": {
        "project": f"Arc {SCRIPT}",
        "milestone": "First sample",
        "due_date": date(2027, 3, 5),
    },
    "milestone_late": {
        "project": f"Arc {SCRIPT}",
        "milestone": "First sample",
        "due_date": date(2027, 3, 5),
        "owner": "Chen",
    },
    "milestone_escalated": {
        "project": f"Arc {SCRIPT}",
        "milestone": "First sample",
        "due_date": date(2027, 3, 5),
        "owner": "Chen <b>W</b>",
    },
    "spec_review_requested": {"project": f"Arc {SCRIPT}", "revision": "B"},
    "spec_approved": {"project": f"Arc {SCRIPT}", "revision": "B", "actor": "Maya <i>O</i>"},
    "spec_changes_requested": {
        "project": f"Arc {SCRIPT}",
        "revision": "B",
        "actor": "Maya",
        "comment": "Use <b>matte</b> black",
    },
    "spec_issued": {"project": f"Arc {SCRIPT}", "revision": "C"},
    "invoice_issued": {
        "project": f"Arc {SCRIPT}",
        "description": "Development <b>retainer</b>",
        "amount": "1500.00",
        "currency": "USD",
        "number": "MR-0001",
        "due_date": date(2027, 3, 5),
        "invoice_url": "https://invoice.stripe.test/in_1",
    },
    "billing_past_due": {"org": f"Arc {SCRIPT}"},
    "inspection_ready_for_review": {
        "project": f"Arc {SCRIPT}",
        "inspection": "QC-4-1",
        "kind": "Final inspection",
    },
    "inspection_decided": {
        "project": f"Arc {SCRIPT}",
        "inspection": "QC-4-1",
        "actor": "Maya",
        "decision": "Rejected",
        "reasons": SCRIPT,
    },
    "inspection_action_answered": {"project": f"Arc {SCRIPT}", "person": "Wang Lei", "number": 3},
    "factory_acknowledged": {
        "project": f"Arc {SCRIPT}",
        "revision": "B",
        "supplier": "Foshan <b>Metal</b>",
        "person": "Li <i>Wei</i>",
    },
    "factory_question_asked": {
        "project": f"Arc {SCRIPT}",
        "revision": "B",
        "supplier": "Foshan Metal",
        "person": "Li Wei",
        "field": "Dimensions, row 1: <b>Feature</b>",
        "question": "Is <b>300</b> the outer diameter?",
    },
    "production_order_confirmed": {"project": f"Arc {SCRIPT}", "order": "PO-7-1", "actor": "Li <i>Wei</i>"},
    "production_order_sent": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "factory": "Foshan <b>Metal</b>",
        "ex_factory_date": "2027-03-01",
    },
    "production_order_accepted": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "factory": "Foshan <b>Metal</b>",
        "ex_factory_date": "2027-03-01",
    },
    "production_order_date_proposed": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "factory": "Foshan <b>Metal</b>",
        "ex_factory_date": "2027-03-08",
        "reason": "Chinese <b>New Year</b>",
    },
    "production_order_rescheduled": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "ex_factory_date": "2027-03-08",
        "reason": "Paint line <b>down</b>",
    },
    "production_alert": {"project": f"Arc {SCRIPT}", "order": "PO-7-1", "problem": "No progress report"},
    "production_escalated": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "problem": "Progress behind plan",
    },
    "materials_shortage": {
        "project": f"Arc {SCRIPT}",
        "order": "PO-7-1",
        "problem": "Pending parts: late",
        "materials": "Screw <b>M3</b> (12000 pcs)",
    },
    "shipment_released": {
        "project": f"Arc {SCRIPT}",
        "shipment": "SH-1-1",
        "order": "PO-1-1",
        "lots": "1, 2",
        "actor": "Chen <b>Coordinator</b>",
    },
    "shipment_problem_reported": {
        "project": f"Arc {SCRIPT}",
        "shipment": "SH-1-1",
        "problem": "Two cartons <b>crushed</b>",
        "actor": "Maya",
    },
}


def test_every_kind_has_parameters_here() -> None:
    assert set(PARAMS) == set(KINDS)
    for kind, spec in KINDS.items():
        assert set(spec.params) <= set(PARAMS[kind]), kind


# -- writing ---------------------------------------------------------------------------------------------------


async def test_notify_writes_both_rows_in_the_callers_transaction(
    engine: AsyncEngine, people: People
) -> None:
    project = await make_project(engine, people)
    async with session_as(engine, people, people.coordinator) as session:
        note = await notify(
            session,
            user=people.member_a,
            kind="sample_received",
            params={"project": "Arc Pendant", "round": 1},
            project_id=project.id,
            link=f"/projects/{project.id}",
        )
        assert note is not None
        # not visible to anyone else before the caller commits
        async with system(engine) as other:
            assert await other.scalar(select(func.count()).select_from(Notification)) == 0
            assert await other.scalar(select(func.count()).select_from(EmailOutbox)) == 0
    async with system(engine) as session:
        (stored,) = (await session.scalars(select(Notification))).all()
        (queued,) = (await session.scalars(select(EmailOutbox))).all()
    assert (
        stored.user_id,
        stored.org_id,
        stored.project_id,
        stored.kind,
        stored.params,
        stored.link,
        stored.read_at,
    ) == (
        people.member_a.id,
        people.org_a.id,
        project.id,
        "sample_received",
        {"project": "Arc Pendant", "round": 1},
        f"/projects/{project.id}",
        None,
    )
    assert (
        queued.to_email,
        queued.to_name,
        queued.locale,
        queued.template,
        queued.status,
        queued.attempts,
    ) == (
        "member@acme.test",
        "Member A",
        "zh_Hans",  # the recipient's language, not the caller's
        "sample_received",
        OutboxStatus.pending,
        0,
    )
    assert queued.context == {
        "project": "Arc Pendant",
        "round": 1,
        "name": "Member A",
        "project_id": project.id,
        "link": f"/projects/{project.id}",
    }


async def test_notify_rolls_back_with_the_caller(engine: AsyncEngine, people: People) -> None:
    class Boom(Exception):
        pass

    async def notify_then_fail() -> None:
        async with session_as(engine, people, people.coordinator) as session:
            await notify(
                session, user=people.owner_a, kind="go_ahead_given", params={"project": "P", "actor": "A"}
            )
            raise Boom

    with pytest.raises(Boom):
        await notify_then_fail()
    assert await outbox(engine) == []
    async with system(engine) as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_notify_refuses_unknown_kinds_and_missing_parameters(
    engine: AsyncEngine, people: People
) -> None:
    async with session_as(engine, people, people.coordinator) as session:
        with pytest.raises(ValueError, match="unknown notification kind 'party'"):
            await notify(session, user=people.owner_a, kind="party", params={})
        with pytest.raises(ValueError, match="needs round"):
            await notify(session, user=people.owner_a, kind="sample_received", params={"project": "P"})


async def test_a_deactivated_user_is_told_nothing(engine: AsyncEngine, people: People) -> None:
    async with system(engine) as session:
        user = await session.get(type(people.owner_a), people.owner_a.id)
        assert user is not None
        user.is_active = False
    inactive = await reload(engine, type(people.owner_a), people.owner_a.id)
    async with session_as(engine, people, people.coordinator) as session:
        assert (
            await notify(session, user=inactive, kind="go_ahead_given", params={"project": "P", "actor": "A"})
            is None
        )
    assert await outbox(engine) == []


# -- reading ---------------------------------------------------------------------------------------------------


def test_messages_are_rendered_in_the_readers_language_and_stay_text() -> None:
    params = {"project": f"Arc {SCRIPT}", "milestone": "First sample", "due_date": "2027-03-05", "owner": ""}
    with i18n.use_locale("en"):
        assert message_text("milestone_at_risk", params) == (
            f'The milestone "First sample" of Arc {SCRIPT} is due on Mar 5, 2027 and has not started.'
        )
    with i18n.use_locale("zh_Hans"):
        chinese = message_text("milestone_at_risk", params)
    assert chinese == f"Arc {SCRIPT} 的里程碑“首版样品”截止日期为 2027年3月5日，目前尚未开始。"
    # the text is plain: a template that shows it escapes the markup
    shown = Environment(autoescape=True).from_string("<p>{{ text }}</p>").render(text=chinese)
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    with i18n.use_locale("zh_Hans"):
        assert message_text("task_opened", {"project": "P", "task": "Issue a spec revision"}) == (
            "P 的新任务：发布规格书修订版"
        )
    assert message_text("no_such_kind", {}) == "no_such_kind"


async def test_list_count_and_mark_read_only_the_users_own(engine: AsyncEngine, people: People) -> None:
    async with session_as(engine, people, people.coordinator) as session:
        for n in range(3):
            await notify(
                session, user=people.owner_a, kind="sample_received", params={"project": f"P{n}", "round": n}
            )
        await notify(
            session, user=people.member_a, kind="sample_received", params={"project": "Q", "round": 1}
        )
    async with session_as(engine, people, people.owner_a) as session:
        assert await unread_count(session, people.owner_a) == 3
        listed = await list_notifications(session, user=people.owner_a)
        assert [n.params["project"] for n in listed] == ["P2", "P1", "P0"]
        with i18n.use_locale("en"):
            assert render(listed[0]) == "Sample round 2 of P2 has arrived: approve or reject it."
        others = await list_notifications(session, user=people.member_a)
        assert len(others) == 1
        # someone else's id is ignored
        assert (
            await mark_read(session, user=people.owner_a, notification_ids=[listed[0].id, others[0].id]) == 1
        )
        assert await unread_count(session, people.owner_a) == 2
        assert [n.id for n in await list_notifications(session, user=people.owner_a, unread_only=True)] == [
            listed[1].id,
            listed[2].id,
        ]
        assert await mark_read(session, user=people.owner_a) == 2
        assert await unread_count(session, people.owner_a) == 0
    async with session_as(engine, people, people.member_a) as session:
        assert await unread_count(session, people.member_a) == 1


# -- the email templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_kind_has_an_email_in_both_languages_that_escapes_values(kind: str, locale: str) -> None:
    context = {**jsonable(PARAMS[kind]), "name": "Maya", "project_id": 7, "link": "/projects/7"}
    rendered = mail.render(kind, context, locale=locale)
    assert f"Arc {SCRIPT}" in rendered.subject
    assert f"Arc {SCRIPT}" in rendered.text  # text/plain: the characters as they are
    assert "<script>" not in rendered.html
    assert "Arc &lt;script&gt;" in rendered.html
    assert "<b>" not in rendered.html
    assert 'href="http://127.0.0.1:8000/projects/7"' in rendered.html
    assert "http://127.0.0.1:8000/projects/7" in rendered.text
    if locale == "zh_Hans":
        assert "Maya，您好：" in rendered.text
        assert '<html lang="zh-Hans">' in rendered.html
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rendered.subject), rendered.subject
    else:
        assert "Hello Maya," in rendered.text
    if "milestone" in PARAMS[kind]:
        assert ("首版样品" if locale == "zh_Hans" else "First sample") in rendered.text
        assert ("2027年3月5日" if locale == "zh_Hans" else "March 5, 2027") in rendered.text


# -- delivery --------------------------------------------------------------------------------------------------


async def queue_two(engine: AsyncEngine, people: People) -> None:
    project = await make_project(engine, people, name=f"Arc {SCRIPT}")
    async with session_as(engine, people, people.coordinator) as session:
        for user in (people.owner_a, people.member_a):
            await notify(
                session,
                user=user,
                kind="sample_received",
                params={"project": project.name, "round": 1},
                project_id=project.id,
                link=f"/projects/{project.id}",
            )


async def test_outbox_is_delivered_through_smtp_once(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await queue_two(engine, people)
    settings = mail_settings(db_url, smtp_url(port))
    report = await deliver_outbox(engine, settings)
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    rows = await outbox(engine)
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [(OutboxStatus.sent, 1, "")] * 2
    assert all(r.sent_at is not None for r in rows)
    by_recipient = {env.rcpt_tos[0]: box.message(i) for i, env in enumerate(box.envelopes)}
    assert set(by_recipient) == {"owner@acme.test", "member@acme.test"}
    assert by_recipient["owner@acme.test"]["Subject"] == f"Sample round 1 of Arc {SCRIPT} has arrived"
    assert by_recipient["member@acme.test"]["Subject"] == f"Arc {SCRIPT} 第 1 轮打样的样品已到"
    text, html = parts(by_recipient["member@acme.test"])
    assert "Member A，您好：" in text
    assert "<script>" not in html
    # nothing is sent twice
    assert (await deliver_outbox(engine, settings)).sent == 0
    assert len(box.envelopes) == 2


async def test_two_deliverers_at_once_send_each_email_once(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    for _ in range(3):
        await queue_two(engine, people)
    settings = mail_settings(db_url, smtp_url(port))
    maker = make_sessionmaker(engine)
    reports = await asyncio.gather(*(deliver_outbox(maker, settings) for _ in range(3)))
    assert sum(r.sent for r in reports) == 6
    assert (
        sorted(env.rcpt_tos[0] for env in box.envelopes) == ["member@acme.test"] * 3 + ["owner@acme.test"] * 3
    )
    assert [(r.status, r.attempts) for r in await outbox(engine)] == [(OutboxStatus.sent, 1)] * 6


async def test_an_unreachable_server_is_retried_later_then_given_up(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await queue_two(engine, people)
    down = mail_settings(db_url, f"smtp://127.0.0.1:{closed_port()}")
    now = utcnow()
    report = await deliver_outbox(engine, down, now=now)
    assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
    rows = await outbox(engine)
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.pending, 1)] * 2
    assert all("cannot send through 127.0.0.1" in r.last_error for r in rows)
    # not due again until its retry delay has passed
    assert (
        await deliver_outbox(engine, down, now=now + retry_delay(1) - timedelta(seconds=1))
        == notify_service.OutboxReport()
    )
    for attempt in range(2, MAX_ATTEMPTS + 1):
        now = now + retry_delay(attempt - 1)
        report = await deliver_outbox(engine, down, now=now)
        expected = (0, 0, 2) if attempt == MAX_ATTEMPTS else (0, 2, 0)
        assert (report.sent, report.retrying, report.failed) == expected, attempt
    rows = await outbox(engine)
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.failed, MAX_ATTEMPTS)] * 2
    # a failed email is not tried again, even with the server back
    assert await deliver_outbox(
        engine, mail_settings(db_url, smtp_url(port)), now=now + timedelta(days=1)
    ) == (notify_service.OutboxReport())
    assert box.envelopes == []


async def test_the_server_back_up_sends_what_waited(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await queue_two(engine, people)
    now = utcnow()
    await deliver_outbox(engine, mail_settings(db_url, f"smtp://127.0.0.1:{closed_port()}"), now=now)
    report = await deliver_outbox(engine, mail_settings(db_url, smtp_url(port)), now=now + retry_delay(1))
    assert report.sent == 2
    assert [(r.status, r.attempts, r.last_error) for r in await outbox(engine)] == [
        (OutboxStatus.sent, 2, "")
    ] * 2
    assert len(box.envelopes) == 2


async def test_a_refused_recipient_fails_at_once(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    box.refuse.add("owner@acme.test")
    await queue_two(engine, people)
    report = await deliver_outbox(engine, mail_settings(db_url, smtp_url(port)))
    assert (report.sent, report.retrying, report.failed) == (1, 0, 1)
    rows = {r.to_email: r for r in await outbox(engine)}
    assert (rows["owner@acme.test"].status, rows["owner@acme.test"].attempts) == (OutboxStatus.failed, 1)
    assert "refused the recipient" in rows["owner@acme.test"].last_error
    assert rows["member@acme.test"].status == OutboxStatus.sent


async def test_a_crash_before_sending_leaves_the_email_pending(
    engine: AsyncEngine,
    db_url: str,
    people: People,
    mailbox: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, port = mailbox
    await queue_two(engine, people)
    settings = mail_settings(db_url, smtp_url(port))

    async def power_cut(**kwargs: Any) -> mail.Delivery:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(mail, "send", power_cut)
    now = utcnow()
    with pytest.raises(RuntimeError, match="the worker died here"):
        await deliver_outbox(engine, settings, now=now)
    rows = await outbox(engine)
    assert [(r.status, r.sent_at) for r in rows] == [(OutboxStatus.pending, None)] * 2
    assert box.envelopes == []
    monkeypatch.undo()
    # once the claim's lease is over, the next delivery sends both (the first was claimed, the second never)
    report = await deliver_outbox(engine, settings, now=now + retry_delay(1))
    assert report.sent == 2
    assert len(box.envelopes) == 2


async def test_the_outbox_job_delivers(
    engine: AsyncEngine, db_url: str, people: People, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await queue_two(engine, people)
    settings = mail_settings(db_url, smtp_url(port))
    assert "deliver_outbox" in jobs.registry.REGISTRY
    async with jobs.running(settings):
        await jobs.enqueue("deliver_outbox")
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(30):
            await worker.drain()
        assert worker.failures == []
    assert len(box.envelopes) == 2
    assert {r.status for r in await outbox(engine)} == {OutboxStatus.sent}


async def test_the_ticker_enqueues_periodic_jobs() -> None:
    from makeready.jobs import tick_forever

    ran = asyncio.Event()
    count = 0

    @jobs.job("test_tick")
    async def tick(ctx: dict[str, Any]) -> None:
        nonlocal count
        count += 1
        if count == 3:
            ran.set()

    try:
        async with jobs.running(Settings()):
            ticker = asyncio.create_task(tick_forever([("test_tick", 0.05)]))
            try:
                async with asyncio.timeout(20):
                    await ran.wait()
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
    finally:
        jobs.unregister("test_tick")
    assert count >= 3
