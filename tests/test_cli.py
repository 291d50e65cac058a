"""The real `makeready` command against the test databases: users, tokens, the audit chain, the demo, and the
clear one-line errors for a bad environment.

Commands run in-process through click's CliRunner (on a worker thread, since the command runs its own event loop);
what is about the process itself (--help, and some of the exit codes with no traceback on stderr) runs the installed
`makeready` executable. tests/test_browser*.py start `makeready serve` and `makeready demo` as processes too.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import demo
from makeready.accounts.models import Membership, Organization, OrgRole, User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects.models import Milestone, Phase, Project
from makeready.suppliers.models import Supplier
from portal.cli import main
from tests.conftest import login

EXECUTABLE = Path(sys.executable).parent / "makeready"
PASSWORD = "a-long-enough-password"


async def cli(db_url: str, *args: str, **env: str) -> Result:
    """Run `makeready ARGS` with DATABASE_URL pointing at the test database."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, main, list(args), env={"DATABASE_URL": db_url, **env}, catch_exceptions=False
    )


def run_executable(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXECUTABLE), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def count(engine: AsyncEngine, model: type) -> int:
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def test_help_lists_every_command() -> None:
    result = run_executable("--help")
    assert result.returncode == 0
    for command in ["serve", "demo", "db upgrade", "users create", "users token", "audit verify", "worker"]:
        assert f"  {command} " in result.stdout, command


async def test_users_create_and_its_errors(db_url: str, engine: AsyncEngine) -> None:
    ok = await cli(
        db_url,
        "users",
        "create",
        "--email",
        "Maya@Lumen.example",
        "--password",
        PASSWORD,
        "--name",
        "Maya",
        "--org",
        "Lumen & Oak",
        "--role",
        "owner",
    )
    assert ok.exit_code == 0, ok.output
    assert "Created user maya@lumen.example" in ok.stdout
    assert "Created organization Lumen & Oak." in ok.stdout
    assert "maya@lumen.example is owner of Lumen & Oak." in ok.stdout

    # a second user joins the existing organization; the default role is member
    member = await cli(
        db_url,
        "users",
        "create",
        "--email",
        "tom@lumen.example",
        "--password",
        PASSWORD,
        "--org",
        "Lumen & Oak",
    )
    assert member.exit_code == 0, member.output
    assert "Created organization" not in member.stdout
    assert "tom@lumen.example is member of Lumen & Oak." in member.stdout

    admin = await cli(
        db_url, "users", "create", "--email", "ada@agency.example", "--password", PASSWORD, "--admin"
    )
    assert admin.exit_code == 0, admin.output
    assert "Created administrator ada@agency.example" in admin.stdout

    duplicate = await cli(
        db_url,
        "users",
        "create",
        "--email",
        "MAYA@lumen.example",
        "--password",
        PASSWORD,
        "--org",
        "Ghost Org",
    )
    assert duplicate.exit_code == 1
    assert duplicate.stderr.strip() == "Error: A user with this email already exists."

    weak = await cli(db_url, "users", "create", "--email", "new@lumen.example", "--password", "short")
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.stderr

    bad_email = await cli(db_url, "users", "create", "--email", "not-an-email", "--password", PASSWORD)
    assert bad_email.exit_code == 1
    assert "Enter a valid email address." in bad_email.stderr

    role_alone = await cli(
        db_url, "users", "create", "--email", "x@lumen.example", "--password", PASSWORD, "--role", "viewer"
    )
    assert role_alone.exit_code == 2
    assert "--role needs --org" in role_alone.stderr

    bad_role = await cli(
        db_url,
        "users",
        "create",
        "--email",
        "x@lumen.example",
        "--password",
        PASSWORD,
        "--org",
        "Lumen & Oak",
        "--role",
        "king",
    )
    assert bad_role.exit_code == 2
    assert "'king' is not one of 'owner', 'member', 'viewer'" in bad_role.stderr

    # the refusals wrote nothing: three users, one organization, two memberships
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        users = {u.email: u for u in (await session.scalars(select(User))).all()}
        assert set(users) == {"maya@lumen.example", "tom@lumen.example", "ada@agency.example"}
        assert users["ada@agency.example"].is_admin
        assert users["ada@agency.example"].is_staff
        assert not users["maya@lumen.example"].is_staff
        assert [o.name for o in (await session.scalars(select(Organization))).all()] == ["Lumen & Oak"]
        roles = {m.user_id: m.role for m in (await session.scalars(select(Membership))).all()}
        assert roles == {
            users["maya@lumen.example"].id: OrgRole.owner,
            users["tom@lumen.example"].id: OrgRole.member,
        }


async def test_users_token_prints_a_token_that_authenticates(
    db_url: str, client: AsyncTestClient[Litestar]
) -> None:
    created = await cli(
        db_url,
        "users",
        "create",
        "--email",
        "owner@brand.example",
        "--password",
        PASSWORD,
        "--org",
        "Brand",
        "--role",
        "owner",
    )
    assert created.exit_code == 0, created.output
    result = await cli(db_url, "users", "token", "--email", "Owner@Brand.example")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("mr_")

    response = await client.get("/api/v1/projects/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0
    refused = await client.get("/api/v1/projects/", headers={"Authorization": f"Bearer {token}x"})
    assert refused.status_code == 401

    unknown = await cli(db_url, "users", "token", "--email", "nobody@brand.example")
    assert unknown.exit_code == 1
    assert "There is no user with the email nobody@brand.example." in unknown.stderr


async def _three_users(db_url: str) -> None:
    for email in ["a@x.example", "b@x.example", "c@x.example"]:
        result = await cli(db_url, "users", "create", "--email", email, "--password", PASSWORD)
        assert result.exit_code == 0, result.output


async def test_audit_verify_passes_then_names_an_altered_event(db_url: str, engine: AsyncEngine) -> None:
    await _three_users(db_url)
    ok = await cli(db_url, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == "audit chain OK: 3 events"

    async with engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET reason='x' WHERE seq=2"))
    broken = await cli(db_url, "audit", "verify")
    assert broken.exit_code == 1
    assert "event #2 (user.created) was altered after it was written" in broken.stderr
    assert "audit chain OK" not in broken.output


async def test_audit_verify_names_a_removed_event(db_url: str, engine: AsyncEngine) -> None:
    await _three_users(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq=2"))
    broken = await cli(db_url, "audit", "verify")
    assert broken.exit_code == 1
    assert "event #2 is missing (next found is #3)" in broken.stderr


async def test_demo_is_idempotent_prints_logins_and_can_be_logged_into(
    db_url: str, engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    first = await cli(db_url, "demo", "--no-serve")
    assert first.exit_code == 0, first.output
    assert "Demo agency ready: 8 users, 6 suppliers, 7 projects added." in first.stdout
    for person in [*demo.AGENCY_STAFF, *demo.BRAND_USERS]:
        line = next(line for line in first.stdout.splitlines() if person.email in line)
        assert demo.DEMO_PASSWORD in line
        assert person.role in line
    counts = {m.__name__: await count(engine, m) for m in (User, Organization, Supplier, Project, Milestone)}
    # eight standard milestones per project, and the demo's production order's eight-step time-and-action plan
    assert counts == {"User": 8, "Organization": 2, "Supplier": 6, "Project": 7, "Milestone": 7 * 8 + 8}

    second = await cli(db_url, "demo", "--no-serve")
    assert second.exit_code == 0, second.output
    assert "nothing added" in second.stdout
    assert "maya@lumenandoak.example" in second.stdout
    assert {
        m.__name__: await count(engine, m) for m in (User, Organization, Supplier, Project, Milestone)
    } == counts

    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        projects = (await session.scalars(select(Project))).all()
        assert {p.phase for p in projects} >= {
            Phase.feasibility,
            Phase.development,
            Phase.production,
            Phase.delivered,
            Phase.on_hold,
        }
        assert all(p.coordinator_id is not None for p in projects)
        milestones = (await session.scalars(select(Milestone))).all()
        late = [m for m in milestones if m.is_late(date.today())]
        assert len(late) == 1
        done = [m for m in milestones if m.completed_at is not None]
        assert done
        for m in done:
            assert m.started_at is not None
            assert m.completed_at is not None
            assert m.started_at <= m.completed_at
        suppliers = (await session.scalars(select(Supplier))).all()
        assert all(s.name_zh and s.province in {"Guangdong", "Zhejiang", "Fujian"} for s in suppliers)

    verify = await cli(db_url, "audit", "verify")
    assert verify.exit_code == 0, verify.output

    # a printed login works in the portal, and the brand sees its own projects only
    await login(client, "maya@lumenandoak.example", demo.DEMO_PASSWORD)
    page = (await client.get("/")).text
    assert "Arc Pendant 40" in page
    assert "Ridgeline 28L Daypack" not in page


async def test_unreachable_database_is_one_clear_line_and_exit_2() -> None:
    """Through the installed executable (the process's own stderr and exit code: no traceback from anywhere) for
    the first and the last command, in-process for the two between (the same error path of the CLI's group)."""
    unreachable = "postgresql://nobody@127.0.0.1:1/x"
    for command, in_process in (
        (["db", "upgrade"], False),
        (["users", "token", "--email", "a@b.example"], True),
        (["audit", "verify"], True),
        (["demo", "--no-serve"], False),
    ):
        if in_process:
            result = await cli(unreachable, *command)
            returncode, stderr = result.exit_code, result.stderr
        else:
            ran = run_executable(*command, DATABASE_URL=unreachable)
            returncode, stderr = ran.returncode, ran.stderr
        assert returncode == 2, (command, stderr)
        assert "Traceback" not in stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith(
            "Error: Cannot reach the database at DATABASE_URL=postgresql://nobody@127.0.0.1:1/x"
        )


async def test_placeholder_secret_in_production_names_the_variable_and_exits_2() -> None:
    production = {"APP_ENV": "production", "ARGON2_PROFILE": "standard"}
    result = run_executable("audit", "verify", SECRET_KEY="change-me", **production)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Error: Configuration error: SECRET_KEY must be set to a random value of at least 32 characters"
    )
    # in-process: the demo's own refusal, not the process boundary the command above covers
    demo_refused = await cli(
        os.environ["DATABASE_URL"], "demo", "--no-serve", SECRET_KEY="x" * 40, **production
    )
    assert demo_refused.exit_code == 2
    assert "refuses to run with APP_ENV=production" in demo_refused.stderr


async def test_an_unmigrated_database_says_to_run_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'new.db'}"
    before = await cli(url, "users", "token", "--email", "a@b.example")
    assert before.exit_code == 2
    assert "is not on the current schema. Run: makeready db upgrade" in before.stderr
    upgraded = await cli(url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    created = await cli(url, "users", "create", "--email", "a@b.example", "--password", PASSWORD)
    assert created.exit_code == 0, created.output
