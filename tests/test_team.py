"""The team pages through HTTP: invitations by email (through the outbox and a real SMTP server), accepting them,
roles, removal, the owner-only and last-owner guards, tenancy, and audit."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from makeready.accounts import service as accounts
from makeready.accounts.models import Invitation, Membership, OrgRole, User
from makeready.audit.models import AuditEvent
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.db.types import utcnow
from makeready.errors import Conflict
from makeready.notify.models import EmailOutbox
from makeready.notify.service import deliver_outbox
from makeready.projects import service as projects
from makeready.team import service as team
from tests.conftest import PASSWORD, World, csrf, login
from tests.test_email import Mailbox, parts, settings_with, smtp, smtp_url

__all__ = ["smtp"]  # the real SMTP server fixture of tests/test_email.py

HOSTILE = '<script>alert("x")</script><b>bold</b>'
NEW_PASSWORD = "a-long-enough-passphrase"
LINK = re.compile(r"https?://[^\s\"<>]+/invitations/([A-Za-z0-9_\-]+)")


# -- helpers ---------------------------------------------------------------------------------------------------


async def invite(
    client: AsyncTestClient[Litestar], org_id: int, email: str, role: str = "member"
) -> httpx.Response:
    return await client.post(
        "/team/invitations",
        data={"org": str(org_id), "email": email, "role": role, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )


async def outbox(db: AsyncSession, to_email: str) -> list[EmailOutbox]:
    rows = await db.scalars(
        select(EmailOutbox)
        .where(EmailOutbox.to_email == to_email)
        .order_by(EmailOutbox.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def link_for(db: AsyncSession, to_email: str) -> str:
    """The path of the newest invitation emailed to `to_email`, as the outbox row will render it."""
    rows = await outbox(db, to_email)
    assert rows, f"no email queued for {to_email}"
    return str(rows[-1].context["path"])


def anonymous(client: AsyncTestClient[Litestar]) -> None:
    client.cookies = httpx.Cookies()


async def membership_of(db: AsyncSession, org_id: int, user_id: int) -> Membership | None:
    return await db.scalar(
        select(Membership)
        .where(Membership.org_id == org_id, Membership.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def actions(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))).all())


def form_action_ids(html: str, pattern: str) -> list[int]:
    return [int(x) for x in re.findall(pattern, html)]


# -- inviting and accepting ------------------------------------------------------------------------------------


async def test_invitation_email_arrives_and_its_link_works_once(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    db: AsyncSession,
    world: World,
    smtp: tuple[Mailbox, int],
) -> None:
    await login(client, world.owner_a.email)
    response = await invite(client, world.org_a.id, "New.Person@Example.com", "viewer")
    assert response.status_code == 303
    assert response.headers["location"] == f"/team?org={world.org_a.id}&done=invited"
    page = await client.get(response.headers["location"])
    assert "The invitation has been sent." in page.text
    assert "new.person@example.com" in page.text

    # the outbox row, written in the same transaction, in the inviter's language (the invitee has no account)
    [row] = await outbox(db, "new.person@example.com")
    assert row.template == "invitation"
    assert row.locale == "en"
    assert row.context["org"] == "Acme Lamps"
    assert row.context["role"] == "viewer"

    # the invitation stores only the token's hash
    invitation = await db.scalar(select(Invitation).where(Invitation.email == "new.person@example.com"))
    assert invitation is not None
    token = str(row.context["path"]).rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 random bits, base64url
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=7), abs=timedelta(seconds=5)
    )

    # delivered through a real SMTP server
    box, port = smtp
    report = await deliver_outbox(engine, settings_with(smtp_url=smtp_url(port)))
    assert report.sent == 1
    message: EmailMessage = box.message()
    assert box.envelopes[0].rcpt_tos == ["new.person@example.com"]
    assert message["Subject"] == "owner_a invited you to Acme Lamps on Makeready"
    text, html = parts(message)
    assert "with the role viewer" in text
    [found] = LINK.findall(text)
    assert found == token
    assert f"/invitations/{token}" in html
    # once sent, the outbox no longer holds the token
    [sent] = await outbox(db, "new.person@example.com")
    assert sent.context["path"] == ""
    assert token not in str(sent.context)

    # a new person opens the link, chooses a name and password, and is logged in as a viewer of org A
    anonymous(client)
    path = f"/invitations/{token}"
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Join Acme Lamps on Makeready" in page.text
    assert "new.person@example.com" in page.text
    response = await client.post(
        path,
        data={
            "name": "Nina New",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    team_page = await client.get(response.headers["location"])
    assert team_page.status_code == 200
    assert "Welcome: you are now a member of this organization." in team_page.text
    assert "Nina New" in team_page.text
    new_user = await db.scalar(select(User).where(User.email == "new.person@example.com"))
    assert new_user is not None
    membership = await membership_of(db, world.org_a.id, new_user.id)
    assert membership is not None
    assert membership.role == OrgRole.viewer

    # single use: the link is gone now, for everyone
    again = await client.get(path)
    assert again.status_code == 410
    assert "already been used" in again.text
    anonymous(client)
    assert (await client.get(path)).status_code == 410
    repeat = await client.post(
        path,
        data={
            "name": "X",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf(client),
        },
    )
    assert repeat.status_code == 410

    # they can log in with the password they chose
    await login(client, "new.person@example.com", NEW_PASSWORD)
    assert [
        a for a in await actions(db) if a.startswith(("invitation.", "user.created", "membership.created"))
    ][-4:] == ["invitation.sent", "user.created", "membership.created", "invitation.accepted"]


async def test_unknown_token_is_404_and_says_so(client: AsyncTestClient[Litestar], world: World) -> None:
    page = await client.get("/invitations/not-a-real-token")
    assert page.status_code == 404
    assert "This invitation link is not valid" in page.text
    post = await client.post("/invitations/not-a-real-token", data={"_csrf_token": csrf(client)})
    assert post.status_code == 404


async def test_expired_invitation_is_410(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await login(client, world.owner_a.email)
    assert (await invite(client, world.org_a.id, "late@example.com")).status_code == 303
    path = await link_for(db, "late@example.com")
    anonymous(client)
    assert (await client.get(path)).status_code == 200
    eight_days_later = utcnow() + timedelta(days=8)
    monkeypatch.setattr(team, "clock", lambda: eight_days_later)
    page = await client.get(path)
    assert page.status_code == 410
    assert "This invitation has expired" in page.text
    response = await client.post(
        path,
        data={
            "name": "Late",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf(client),
        },
    )
    assert response.status_code == 410
    assert await db.scalar(select(User.id).where(User.email == "late@example.com")) is None
    # the owner sees it as expired, to send again
    await login(client, world.owner_a.email)
    assert "Expired on" in (await client.get("/team")).text


async def test_expired_message_is_in_chinese_for_a_chinese_browser(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await login(client, world.owner_a.email)
    await invite(client, world.org_a.id, "wang@example.com")
    path = await link_for(db, "wang@example.com")
    anonymous(client)
    eight_days_later = utcnow() + timedelta(days=8)
    monkeypatch.setattr(team, "clock", lambda: eight_days_later)
    page = await client.get(path, headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 410
    assert page.headers["content-language"] == "zh-Hans"
    assert "邀请已过期" in page.text


async def test_revoked_invitation_is_410_and_reinviting_replaces(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    await invite(client, world.org_a.id, "twice@example.com")
    first = await link_for(db, "twice@example.com")
    await invite(client, world.org_a.id, "twice@example.com", "owner")
    second = await link_for(db, "twice@example.com")
    assert first != second
    pending = (
        await db.scalars(
            select(Invitation).where(
                Invitation.email == "twice@example.com",
                Invitation.revoked_at.is_(None),
                Invitation.accepted_at.is_(None),
            )
        )
    ).all()
    assert [i.role for i in pending] == [OrgRole.owner]
    page = await client.get("/team")
    assert page.text.count("twice@example.com") == 1  # one open invitation shown

    anonymous(client)
    gone = await client.get(first)
    assert gone.status_code == 410
    assert "replaced by a newer one" in gone.text
    assert (await client.get(second)).status_code == 200

    await login(client, world.owner_a.email)
    [invitation_id] = form_action_ids((await client.get("/team")).text, r"/team/invitations/(\d+)/revoke")
    response = await client.post(
        f"/team/invitations/{invitation_id}/revoke",
        data={"org": str(world.org_a.id), "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "No open invitations." in (await client.get(response.headers["location"])).text
    anonymous(client)
    assert (await client.get(second)).status_code == 410
    assert "invitation.revoked" in await actions(db)


async def test_logged_in_user_with_the_invited_email_joins_in_their_language(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    # owner_b already has an account and prefers Chinese: the email is written in Chinese
    async with db.begin():
        await accounts.set_preferred_locale(db, user_id=world.owner_b.id, locale="zh_Hans")
    await login(client, world.owner_a.email)
    response = await invite(client, world.org_a.id, world.owner_b.email, "member")
    assert response.status_code == 303
    [row] = await outbox(db, world.owner_b.email)
    assert row.locale == "zh_Hans"
    path = str(row.context["path"])

    # the owner's page is the same whether the address has an account or not
    await invite(client, world.org_a.id, "nobody@example.com", "member")
    page = await client.get("/team")
    assert "owner@borealis.test" in page.text

    anonymous(client)
    await login(client, world.owner_b.email)
    page = await client.get(path)
    assert page.status_code == 200
    assert "接受并加入" in page.text  # "Accept and join", in their language
    response = await client.post(path, data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    membership = await membership_of(db, world.org_a.id, world.owner_b.id)
    assert membership is not None
    assert membership.role == OrgRole.member
    # with two organizations, the team page offers a picker limited to their memberships
    page = await client.get(f"/team?org={world.org_a.id}")
    assert page.status_code == 200
    assert 'name="org"' in page.text
    assert "Borealis Bags" in page.text
    assert "Acme Lamps" in page.text
    assert (await client.get(f"/team?org={world.org_b.id}")).status_code == 200


async def test_a_user_with_another_email_must_log_in_as_the_invitee(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    await invite(client, world.org_a.id, "someone@example.com")
    path = await link_for(db, "someone@example.com")
    anonymous(client)
    await login(client, world.owner_b.email)
    page = await client.get(path)
    assert page.status_code == 200
    assert "logged in with another email address" in page.text
    response = await client.post(path, data={"_csrf_token": csrf(client)})
    assert response.status_code == 403
    assert await membership_of(db, world.org_a.id, world.owner_b.id) is None
    # the invitation is still there for its addressee
    anonymous(client)
    assert (await client.get(path)).status_code == 200


async def test_new_account_form_refusals_leave_the_invitation_usable(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    await invite(client, world.org_a.id, "fresh@example.com")
    await invite(client, world.org_a.id, world.owner_b.email)
    fresh = await link_for(db, "fresh@example.com")
    existing = await link_for(db, world.owner_b.email)
    anonymous(client)
    await client.get(fresh)

    async def submit(path: str, **fields: str) -> httpx.Response:
        return await client.post(path, data={**fields, "_csrf_token": csrf(client)}, follow_redirects=False)

    weak = await submit(fresh, name="Fay", password="short", password_confirm="short")
    assert weak.status_code == 422
    assert "at least 10 characters" in weak.text
    assert 'value="Fay"' in weak.text  # the form is shown again with what was typed
    mismatch = await submit(fresh, name="Fay", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 422
    assert "The two passwords do not match." in mismatch.text
    nameless = await submit(fresh, name="  ", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert nameless.status_code == 422
    # an address that has an account cannot get a second one: log in instead
    taken = await submit(existing, name="Imposter", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert taken.status_code == 409
    assert "Log in with it to accept" in taken.text
    assert await membership_of(db, world.org_a.id, world.owner_b.id) is None
    assert await db.scalar(select(User.id).where(User.email == "fresh@example.com")) is None
    ok = await submit(fresh, name="Fay", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert ok.status_code == 303


async def test_inviting_a_current_member_or_a_bad_address_is_refused(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    taken = await invite(client, world.org_a.id, world.member_a.email)
    assert taken.status_code == 409
    assert "is already a member of this organization" in taken.text
    bad = await invite(client, world.org_a.id, "not an address")
    assert bad.status_code == 422
    assert "Enter a valid email address." in bad.text
    assert 'value="not an address"' in bad.text
    role = await invite(client, world.org_a.id, "x@example.com", "emperor")
    assert role.status_code == 422
    assert await outbox(db, "x@example.com") == []


# -- roles and guards ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member_a", "viewer_a"])
async def test_members_and_viewers_see_the_team_but_cannot_change_it(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World, who: str
) -> None:
    user: User = getattr(world, who)
    await login(client, user.email)
    page = await client.get("/team")
    assert page.status_code == 200
    for email in (world.owner_a.email, world.member_a.email, world.viewer_a.email):
        assert email in page.text
    assert "/team/invitations" not in page.text  # no forms
    assert "Only owners of the organization can invite people" in page.text

    refused = await invite(client, world.org_a.id, "friend@example.com")
    assert refused.status_code == 403
    assert "Only owners of the organization can manage its team." in refused.text
    assert await outbox(db, "friend@example.com") == []
    owner_membership = await membership_of(db, world.org_a.id, world.owner_a.id)
    assert owner_membership is not None
    for url, data in [
        (f"/team/members/{owner_membership.id}/role", {"role": "viewer"}),
        (f"/team/members/{owner_membership.id}/remove", {}),
    ]:
        response = await client.post(url, data={**data, "_csrf_token": csrf(client)})
        assert response.status_code == 403
        assert "Only owners" in response.text
    owner_membership = await membership_of(db, world.org_a.id, world.owner_a.id)
    assert owner_membership is not None
    assert owner_membership.role == OrgRole.owner


async def test_owner_changes_roles_and_the_last_owner_is_kept(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    own = await membership_of(db, world.org_a.id, world.owner_a.id)
    member = await membership_of(db, world.org_a.id, world.member_a.id)
    assert own is not None
    assert member is not None

    async def set_role(membership_id: int, role: str) -> httpx.Response:
        return await client.post(
            f"/team/members/{membership_id}/role",
            data={"role": role, "org": str(world.org_a.id), "_csrf_token": csrf(client)},
            follow_redirects=False,
        )

    # the only owner can neither demote nor remove themselves
    refused = await set_role(own.id, "member")
    assert refused.status_code == 409
    assert "must keep at least one owner" in refused.text
    removed = await client.post(
        f"/team/members/{own.id}/remove", data={"org": str(world.org_a.id), "_csrf_token": csrf(client)}
    )
    assert removed.status_code == 409
    assert "must keep at least one owner" in removed.text
    assert (await membership_of(db, world.org_a.id, world.owner_a.id)) is not None

    # with a second owner, the first may step down
    promoted = await set_role(member.id, "owner")
    assert promoted.status_code == 303
    assert "The role has been changed." in (await client.get(promoted.headers["location"])).text
    stepped_down = await set_role(own.id, "viewer")
    assert stepped_down.status_code == 303
    own = await membership_of(db, world.org_a.id, world.owner_a.id)
    assert own is not None
    assert own.role == OrgRole.viewer
    # now a viewer: the next change is refused
    assert (await set_role(member.id, "member")).status_code == 403
    events = (
        await db.scalars(select(AuditEvent).where(AuditEvent.action == "membership.role_changed"))
    ).all()
    assert [(e.before, e.after) for e in events][-2:] == [
        ({"user": world.member_a.email, "role": "member"}, {"user": world.member_a.email, "role": "owner"}),
        ({"user": world.owner_a.email, "role": "owner"}, {"user": world.owner_a.email, "role": "viewer"}),
    ]
    assert all(e.actor_id == world.owner_a.id and e.org_id == world.org_a.id for e in events)


async def test_two_owners_cannot_both_step_down(engine: AsyncEngine, db: AsyncSession, world: World) -> None:
    """The last-owner rule holds when two owners demote themselves in overlapping transactions."""
    async with db.begin():
        second = await accounts.add_member(db, org=world.org_a, user=world.member_a, role=OrgRole.owner)
        first = await membership_of(db, world.org_a.id, world.owner_a.id)
        assert first is not None
        first_id, second_id = first.id, second.id
    maker = make_sessionmaker(engine)
    async with maker() as one, maker() as two:
        for session in (one, two):
            set_scope(session, Scope.member(0, {world.org_a.id}))
        owner_a = await one.get(User, world.owner_a.id)
        member_a = await two.get(User, world.member_a.id)
        assert owner_a is not None
        assert member_a is not None
        # both load the organization while it still has two owners
        await team.get_org(one, world.org_a.id)
        await team.get_org(two, world.org_a.id)
        await team.change_role(
            one, actor=owner_a, membership_id=first_id, role="member"
        )  # written, not committed

        async def step_down() -> None:
            await team.change_role(two, actor=member_a, membership_id=second_id, role="member")
            await two.commit()

        racer = asyncio.create_task(step_down())
        await one.commit()
        # either it counted after the first commit (the rule), or before it (then its write of the organization's
        # version finds a newer one)
        with pytest.raises((StaleDataError, Conflict)):
            await racer
        await two.rollback()
    owners = (
        await db.scalars(
            select(Membership).where(Membership.org_id == world.org_a.id, Membership.role == OrgRole.owner)
        )
    ).all()
    assert [m.id for m in owners] == [second_id]


async def test_removed_member_loses_access_to_the_orgs_projects_at_once(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await projects.create_project(
                session, actor=world.owner_a, org_id=world.org_a.id, data={"name": "Arc Pendant"}
            )
    await login(client, world.member_a.email)
    assert (await client.get(f"/projects/{project.id}")).status_code == 200
    member_cookies = httpx.Cookies(client.cookies)

    anonymous(client)
    await login(client, world.owner_a.email)
    membership = await membership_of(db, world.org_a.id, world.member_a.id)
    assert membership is not None
    response = await client.post(
        f"/team/members/{membership.id}/remove",
        data={"org": str(world.org_a.id), "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "The member has been removed" in page.text
    assert world.member_a.email not in page.text

    client.cookies = member_cookies  # the same session as before: nothing about it changed but the membership
    assert (await client.get(f"/projects/{project.id}")).status_code == 404
    assert "Arc Pendant" not in (await client.get("/")).text
    assert (await client.get(f"/team?org={world.org_a.id}")).status_code == 404
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "membership.removed"))
    assert event is not None
    assert event.before == {"user": world.member_a.email, "role": "member"}


async def test_another_orgs_members_and_invitations_are_not_found(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_a.email)
    await invite(client, world.org_a.id, "a-only@example.com")
    invitation = await db.scalar(select(Invitation).where(Invitation.email == "a-only@example.com"))
    member = await membership_of(db, world.org_a.id, world.member_a.id)
    assert invitation is not None
    assert member is not None

    anonymous(client)
    await login(client, world.owner_b.email)
    for url, data in [
        (f"/team/members/{member.id}/role", {"role": "viewer"}),
        (f"/team/members/{member.id}/remove", {}),
        (f"/team/invitations/{invitation.id}/revoke", {}),
    ]:
        response = await client.post(url, data={**data, "_csrf_token": csrf(client)})
        assert response.status_code == 404, url
        assert "Acme" not in response.text
    assert (await client.get(f"/team?org={world.org_a.id}")).status_code == 404
    # inviting into org A by naming it in the form is refused the same way
    assert (await invite(client, world.org_a.id, "sneaky@example.com")).status_code == 404
    member = await membership_of(db, world.org_a.id, world.member_a.id)
    assert member is not None
    assert member.role == OrgRole.member
    refreshed = await db.get(Invitation, invitation.id, populate_existing=True)
    assert refreshed is not None
    assert refreshed.revoked_at is None


async def test_staff_pick_any_client_and_manage_its_team(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.coordinator.email)
    page = await client.get("/team")
    assert page.status_code == 200
    assert "Choose a client organization to see its team." in page.text
    assert "Acme Lamps" in page.text
    assert "Borealis Bags" in page.text
    page = await client.get(f"/team?org={world.org_a.id}")
    assert page.status_code == 200
    assert world.member_a.email in page.text
    assert "/team/invitations" in page.text
    response = await invite(client, world.org_a.id, "first.owner@example.com", "owner")
    assert response.status_code == 303
    [row] = await outbox(db, "first.owner@example.com")
    assert row.context["inviter"] == "Chen Coordinator"
    assert (await client.get("/team?org=987654")).status_code == 404


# -- hostile text ----------------------------------------------------------------------------------------------


async def test_names_with_markup_are_text_on_pages_and_in_emails(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    db: AsyncSession,
    world: World,
    smtp: tuple[Mailbox, int],
) -> None:
    async with db.begin():
        owner = await db.get(User, world.owner_a.id)
        assert owner is not None
        owner.name = HOSTILE
    await login(client, world.owner_a.email)
    page = await client.get("/team")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "&lt;script&gt;" in page.text
    await invite(client, world.org_a.id, "xss@example.com")
    path = await link_for(db, "xss@example.com")

    box, port = smtp
    assert (await deliver_outbox(engine, settings_with(smtp_url=smtp_url(port)))).sent == 1
    message = box.message()
    text, html = parts(message)
    assert HOSTILE in text  # text/plain shows the characters as they are
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html
    assert "\n" not in str(message["Subject"])

    anonymous(client)
    invitation_page = await client.get(path)
    assert "<script>alert" not in invitation_page.text
    assert "&lt;script&gt;" in invitation_page.text
    # a newcomer's name with markup is stored as typed and shown as text
    await client.post(
        path,
        data={
            "name": HOSTILE,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "_csrf_token": csrf(client),
        },
    )
    page = await client.get(f"/team?org={world.org_a.id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert page.text.count("&lt;script&gt;") >= 2


async def test_log_in_from_the_invitation_page_then_accept(
    client: AsyncTestClient[Litestar], db: AsyncSession, world: World
) -> None:
    await login(client, world.owner_b.email)
    await invite(client, world.org_b.id, world.viewer_a.email, "viewer")
    path = await link_for(db, world.viewer_a.email)
    anonymous(client)
    page = await client.get(path)
    login_link = f'href="/login?next={path}"'
    assert login_link in page.text
    await client.get(f"/login?next={path}")
    response = await client.post(
        "/login",
        data={"email": world.viewer_a.email, "password": PASSWORD, "next": path, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == path
    assert "Accept and join" in (await client.get(path)).text
    joined = await client.post(path, data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert joined.status_code == 303
    membership = await membership_of(db, world.org_b.id, world.viewer_a.id)
    assert membership is not None
    assert membership.role == OrgRole.viewer


async def test_two_accepts_of_one_link_at_once_make_one_member(
    engine: AsyncEngine, db: AsyncSession, world: World
) -> None:
    async with db.begin():
        sent = await team.invite(
            db, actor=world.owner_a, org_id=world.org_a.id, email=world.owner_b.email, role="member"
        )
    maker = make_sessionmaker(engine)
    async with maker() as one, maker() as two:
        for session in (one, two):
            set_scope(session, Scope.system())
        user_one = await one.get(User, world.owner_b.id)
        user_two = await two.get(User, world.owner_b.id)
        assert user_one is not None
        assert user_two is not None
        await team.open_invitation(two, sent.token)  # the second has seen the link as still open
        await team.accept(one, token=sent.token, user=user_one)  # written, not committed

        async def second() -> None:
            await team.accept(two, token=sent.token, user=user_two)
            await two.commit()

        racer = asyncio.create_task(second())
        await one.commit()
        with pytest.raises(team.Gone):
            await racer
        await two.rollback()
    accepted = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "invitation.accepted"))).all()
    assert len(accepted) == 1
    assert await membership_of(db, world.org_a.id, world.owner_b.id) is not None
