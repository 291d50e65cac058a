"""The `makeready` command: serve the app, seed the demo, migrate, manage users, verify the audit chain, run jobs.

Every command reads the environment afresh (`Settings()`), so what it says it uses is what is set now. Problems
with the environment (a placeholder SECRET_KEY in production, a database or Redis that cannot be reached, an old
schema, a malformed SMTP_URL) end with one line naming the variable and exit code 2; a request the domain refuses
(a duplicate email, a weak password) ends with its message and exit code 1. Tracebacks are for bugs.

Commands import the parts they use inside their functions, so `makeready --help` and each command start without
loading the whole application (start-up time, not import cycles: the layers are checked by import-linter).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready import i18n
from makeready.errors import DomainError
from makeready.i18n import _
from makeready.settings import ConfigurationError, Settings, to_async_url

T = TypeVar("T")

EXIT_REFUSED = 1
"""The command ran and the answer is no: a duplicate email, a broken audit chain."""
EXIT_ENVIRONMENT = 2
"""The command cannot run here: configuration, database, Redis. Click uses 2 for usage errors too."""

PROBE_TIMEOUT = 15.0


class CliError(click.ClickException):
    """A one-line message for the person at the terminal: the answer is no (exit 1)."""

    exit_code = EXIT_REFUSED


class EnvironmentProblem(CliError):
    """A one-line message naming what in the environment stops the command (exit 2)."""

    exit_code = EXIT_ENVIRONMENT


class _Group(click.Group):
    """Turns the errors a person can act on into messages; anything else stays a traceback (a bug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise CliError(exc.message) from exc
        except ConfigurationError as exc:
            raise EnvironmentProblem(_config_message(str(exc))) from exc
        except (OperationalError, InterfaceError) as exc:
            raise EnvironmentProblem(_database_message(_settings_url(), exc)) from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # list "db upgrade", "users create"... too, so `makeready --help` shows every command there is
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            if isinstance(command, click.Group):
                for sub in command.list_commands(ctx):
                    subcommand = command.get_command(ctx, sub)
                    if subcommand is not None and not subcommand.hidden:
                        rows.append((f"{name} {sub}", subcommand.get_short_help_str(limit=formatter.width)))
            else:
                rows.append((name, command.get_short_help_str(limit=formatter.width)))
        if rows:
            with formatter.section(_("Commands")):
                formatter.write_dl(rows)


def _config_message(problem: str) -> str:
    return _("Configuration error: %(problem)s") % {"problem": problem}


def _settings_url() -> str:
    try:
        return Settings().db.url
    except ValidationError:
        return ""


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # SQLAlchemy's wrapper repeats its own class names; the driver's error says what went wrong
        exc = exc.orig.__cause__ or exc.orig
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else ""
    return f"{type(exc).__name__}: {detail}"[:300] if detail else type(exc).__name__


def _database_message(url: str, exc: BaseException) -> str:
    return _("Cannot reach the database at DATABASE_URL=%(url)s (%(error)s).") % {
        "url": _safe_url(url),
        "error": _first_line(exc),
    }


def load_settings() -> Settings:
    """The environment as it is now, checked; exits 2 naming the variable when it cannot run Makeready."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            "%s: %s" % (".".join(str(p) for p in err["loc"]), err["msg"])  # noqa: UP031 - loc names the variable
            for err in exc.errors()
        )
        raise EnvironmentProblem(_config_message(problems)) from exc
    try:
        settings.check()
    except ConfigurationError as exc:
        raise EnvironmentProblem(_config_message(str(exc))) from exc
    # the CLI speaks DEFAULT_LOCALE, like pages for someone who has not chosen a language
    i18n.set_locale(i18n.normalize(settings.app.default_locale) or i18n.DEFAULT)
    return settings


def run(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(coro_factory())


@asynccontextmanager
async def command_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine for one command: no pool to outlive the command's event loop."""
    from makeready.db.session import make_engine

    engine = make_engine(settings.db.url, echo=settings.db.echo, null_pool=True)
    try:
        yield engine
    finally:
        await engine.dispose()


class _SchemaOutdated(Exception):
    """The database exists but its schema is behind the code: `makeready db upgrade` fixes it."""


async def _probe(settings: Settings, *, need_schema: bool) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from makeready.db.migrate import alembic_config

    url = to_async_url(settings.db.url)
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(
                parents=True, exist_ok=True
            )  # as `upgrade` would, so the probe can open it
    async with command_engine(settings) as engine:
        async with asyncio.timeout(PROBE_TIMEOUT):
            conn = await engine.connect()
        try:
            await conn.execute(text("SELECT 1"))
            if need_schema:
                current = await conn.run_sync(
                    lambda c: set(MigrationContext.configure(c).get_current_heads())
                )
                expected = set(ScriptDirectory.from_config(alembic_config(settings.db.url)).get_heads())
                if current != expected:
                    raise _SchemaOutdated
        finally:
            await conn.close()


def require_database(settings: Settings, *, need_schema: bool) -> None:
    """Exit 2 with one clear line when DATABASE_URL cannot be reached (or its schema is not current)."""
    try:
        run(lambda: _probe(settings, need_schema=need_schema))
    except _SchemaOutdated:
        raise EnvironmentProblem(
            _("The database at DATABASE_URL=%(url)s is not on the current schema. Run: makeready db upgrade")
            % {"url": _safe_url(settings.db.url)}
        ) from None
    except Exception as exc:  # every driver has its own errors; all of them mean "cannot use it"
        raise EnvironmentProblem(_database_message(settings.db.url, exc)) from exc


def require_email(settings: Settings) -> None:
    from makeready.notify.email import EmailRejected, parse_smtp_url

    if settings.email.smtp_url:
        try:
            parse_smtp_url(settings.email.smtp_url)
        except EmailRejected as exc:
            raise EnvironmentProblem(_config_message(str(exc))) from exc


def require_redis(settings: Settings) -> None:
    url = settings.jobs.redis_url

    async def ping() -> None:
        from redis import asyncio as aioredis

        client = aioredis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT)
        try:
            await cast("Awaitable[bool]", client.ping())  # redis types it for its sync and async clients
        finally:
            await client.aclose()

    try:
        run(ping)
    except Exception as exc:  # a bad URL, a refused connection, an auth error: all "cannot use it"
        raise EnvironmentProblem(
            _("Cannot reach Redis at REDIS_URL=%(url)s (%(error)s).")
            % {"url": _safe_url(url), "error": _first_line(exc)}
        ) from exc


def migrate(settings: Settings) -> None:
    from makeready.db.migrate import upgrade

    upgrade(settings.db.url)


def serve_app(host: str, port: int) -> NoReturn:
    import uvicorn

    # the collector pauses while uvicorn imports and builds the app: create_app() freezes what it built and
    # enables the collector again (portal/app.py)
    gc.disable()
    uvicorn.run("portal.app:create_app", factory=True, host=host, port=port, log_level="info")
    raise SystemExit(0)


# --------------------------------------------------------------------------------------------------------------
# Commands


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="makeready")
def main() -> None:
    """Makeready: manufacturing coordination for agencies, brands and factories."""
    # imported here for start-up time, like the commands' own imports: loading every model and rule allocates a
    # heap that lives as long as the process, which the cyclic garbage collector would walk again and again while
    # it grows (about 0.15 s of CPU here, as much again in `serve`'s create_app; bench/startup.py), so the
    # collector pauses while it loads, then what was loaded is frozen out of its sight
    gc.disable()
    try:
        from makeready.composition import wire

        wire()
    finally:
        gc.freeze()
        gc.enable()


HOST = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
PORT = click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")


@main.command()
@HOST
@PORT
def serve(host: str, port: int) -> None:
    """Migrate the database, then serve the app (http://127.0.0.1:8000)."""
    settings = load_settings()
    require_email(settings)
    require_database(settings, need_schema=False)
    migrate(settings)
    click.echo(_("Serving on http://%(host)s:%(port)d") % {"host": host, "port": port})
    serve_app(host, port)


@main.command()
@click.option("--no-serve", is_flag=True, help="Seed and print the logins, then exit.")
@HOST
@PORT
def demo(no_serve: bool, host: str, port: int) -> None:
    """Seed a demo agency (idempotent), print its logins, then serve."""
    from makeready import demo as demo_data
    from makeready.db.session import unit_of_work
    from makeready.db.tenancy import Scope

    settings = load_settings()
    if settings.app.is_production:
        raise EnvironmentProblem(
            _(
                "The demo creates accounts with published passwords; it refuses to run with APP_ENV=production."
            )
        )
    require_email(settings)
    require_database(settings, need_schema=False)
    migrate(settings)

    async def seed() -> demo_data.DemoResult:
        async with command_engine(settings) as engine, unit_of_work(Scope.system(), engine=engine) as session:
            return await demo_data.seed(session)

    result = run(seed)
    if result.created_anything:
        click.echo(
            _("Demo agency ready: %(users)d users, %(suppliers)d suppliers, %(projects)d projects added.")
            % result.created
        )
    else:
        click.echo(_("Demo agency already in place; nothing added."))
    click.echo(
        _("Logins (every demo account uses the password %(password)s):")
        % {"password": demo_data.DEMO_PASSWORD}
    )
    for login in result.logins:
        org = login.org or _("agency staff")
        click.echo(f"  {login.role:<12} {login.email:<40} {login.password:<18} {org}")
    if result.factory_link:
        base = f"http://{host}:{port}" if not no_serve else settings.app.base_url.rstrip("/")
        click.echo(
            _("A factory's link to the issued spec (new on every run, no login): %(url)s")
            % {"url": base + result.factory_link}
        )
    if result.production_link:
        base = f"http://{host}:{port}" if not no_serve else settings.app.base_url.rstrip("/")
        click.echo(
            _("The factory's link to its production order (shown once, no login): %(url)s")
            % {"url": base + result.production_link}
        )
    if not no_serve:
        click.echo(_("Serving on http://%(host)s:%(port)d") % {"host": host, "port": port})
        serve_app(host, port)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to migrate to.")
def db_upgrade(revision: str) -> None:
    """Apply the migrations to DATABASE_URL."""
    from makeready.db.migrate import upgrade

    settings = load_settings()
    require_database(settings, need_schema=False)
    upgrade(settings.db.url, revision)
    click.echo(
        _("The database at %(url)s is migrated (%(revision)s).")
        % {
            "url": _safe_url(settings.db.url),
            "revision": revision,
        }
    )


@main.group()
def users() -> None:
    """People who log in: brand users, coordinators and admins."""


@users.command("create")
@click.option("--email", required=True, help="Login email.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; asked for when not given (keeps it out of the shell history).",
)
@click.option("--name", default="", help="Display name.")
@click.option(
    "--org", "org_name", default=None, help="Organization (a brand) to join; created when it is new."
)
@click.option(
    "--role",
    type=click.Choice(["owner", "member", "viewer"]),
    default=None,
    help="Role in --org (default: member).",
)
@click.option(
    "--locale", type=click.Choice(list(i18n.SUPPORTED)), default=None, help="Language of pages and emails."
)
@click.option("--staff", is_flag=True, help="A coordinator: sees and works on every organization.")
@click.option("--admin", is_flag=True, help="An administrator (implies --staff).")
def users_create(
    email: str,
    password: str,
    name: str,
    org_name: str | None,
    role: str | None,
    locale: str | None,
    staff: bool,
    admin: bool,
) -> None:
    """Create a user, optionally as a member of an organization."""
    from makeready.accounts import service as accounts
    from makeready.accounts.models import Organization, OrgRole
    from makeready.db.session import unit_of_work
    from makeready.db.tenancy import Scope

    if role and not org_name:
        raise click.UsageError(_("--role needs --org: a role is always in an organization."))
    settings = load_settings()
    require_database(settings, need_schema=True)

    async def create() -> list[str]:
        from sqlalchemy import select

        lines: list[str] = []
        async with command_engine(settings) as engine, unit_of_work(Scope.system(), engine=engine) as session:
            user = await accounts.create_user(
                session,
                email=email,
                password=password,
                name=name,
                is_staff=staff,
                is_admin=admin,
                locale=locale,
            )
            kind = _("administrator") if user.is_admin else _("coordinator") if user.is_staff else _("user")
            lines.append(
                _("Created %(kind)s %(email)s (id %(id)d).")
                % {"kind": kind, "email": user.email, "id": user.id}
            )
            if org_name:
                existed = await session.scalar(
                    select(Organization.id).where(Organization.name == org_name.strip())
                )
                org = await accounts.get_or_create_org(session, name=org_name)
                if not existed:
                    lines.append(_("Created organization %(org)s.") % {"org": org.name})
                membership = await accounts.add_member(
                    session, org=org, user=user, role=OrgRole(role or "member")
                )
                lines.append(
                    _("%(email)s is %(role)s of %(org)s.")
                    % {"email": user.email, "role": membership.role.value, "org": org.name}
                )
        return lines

    for line in run(create):
        click.echo(line)


@users.command("token")
@click.option("--email", required=True, help="Whose token.")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
def users_token(email: str, name: str) -> None:
    """Issue a personal API token (printed once, as the last line)."""
    from sqlalchemy import select

    from makeready.accounts import service as accounts
    from makeready.accounts.models import User
    from makeready.db.session import unit_of_work
    from makeready.db.tenancy import Scope

    settings = load_settings()
    require_database(settings, need_schema=True)

    async def issue() -> str:
        address = email.strip().lower()
        async with command_engine(settings) as engine, unit_of_work(Scope.system(), engine=engine) as session:
            user = await session.scalar(select(User).where(User.email == address))
            if user is None:
                raise CliError(_("There is no user with the email %(email)s.") % {"email": address})
            if not user.is_active:
                raise CliError(
                    _("The user %(email)s is deactivated; a token would not work.") % {"email": address}
                )
            issued = await accounts.issue_api_token(session, user=user, name=name)
            return issued.token

    token = run(issue)
    click.echo(
        _("API token for %(email)s. It is shown only this once; store it now:")
        % {"email": email.strip().lower()}
    )
    click.echo(token)


@users.command("sign-out")
@click.option("--email", required=True, help="Whose sessions end.")
@click.option("--revoke-tokens", is_flag=True, help="Also revoke their API tokens (a lost laptop, a leak).")
def users_sign_out(email: str, revoke_tokens: bool) -> None:
    """End every portal and back-office session of a user at once (audited)."""
    from sqlalchemy import select

    from makeready.accounts import sessions
    from makeready.accounts.models import User
    from makeready.db.session import unit_of_work
    from makeready.db.tenancy import Scope

    settings = load_settings()
    require_database(settings, need_schema=True)

    async def sign_out() -> str:
        address = email.strip().lower()
        async with command_engine(settings) as engine, unit_of_work(Scope.system(), engine=engine) as session:
            user = await session.scalar(select(User).where(User.email == address))
            if user is None:
                raise CliError(_("There is no user with the email %(email)s.") % {"email": address})
            ended, revoked = await sessions.sign_out_everywhere(
                session,
                user=user,
                actor_id=None,
                revoke_tokens=revoke_tokens,
                reason="makeready users sign-out",
            )
        return _(
            "Signed %(email)s out everywhere: %(sessions)d sessions ended, %(tokens)d API tokens revoked."
        ) % {"email": address, "sessions": ended, "tokens": revoked}

    click.echo(run(sign_out))


@main.group()
def audit() -> None:
    """The tamper-evident record of every change."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain and check its signed checkpoints; exit 1 naming the first event altered or
    removed, or the checkpoint that the chain no longer matches."""
    from makeready.audit import service as audit_service
    from makeready.db.session import make_sessionmaker

    settings = load_settings()
    require_database(settings, need_schema=True)

    async def verify() -> audit_service.ChainReport:
        async with command_engine(settings) as engine, make_sessionmaker(engine)() as session:
            return await audit_service.verify(session, secret_key=settings.app.secret_key)

    report = run(verify)
    if not report.ok:
        intact = i18n.ngettext(
            "%(n)d event before it is intact", "%(n)d events before it are intact", report.checked
        ) % {"n": report.checked}
        raise CliError(
            _("audit chain BROKEN: %(problem)s (%(intact)s)") % {"problem": report.problem, "intact": intact}
        )
    click.echo(
        i18n.ngettext("audit chain OK: %(n)d event", "audit chain OK: %(n)d events", report.checked)
        % {"n": report.checked}
    )


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's current head (a checkpoint) and print it; infra/backup.sh keeps the line with the backup."""
    from makeready.audit import service as audit_service
    from makeready.db.session import unit_of_work
    from makeready.db.tenancy import Scope

    settings = load_settings()
    require_database(settings, need_schema=True)

    async def write() -> str:
        async with command_engine(settings) as engine, unit_of_work(Scope.system(), engine=engine) as session:
            checkpoint = await audit_service.write_checkpoint(session, secret_key=settings.app.secret_key)
            return audit_service.checkpoint_line(checkpoint) if checkpoint else ""

    line = run(write)
    click.echo(line or _("The audit chain is empty: nothing to sign."))


def _rebuild(rebuild: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    """Run a `rebuild_in_batches` on the configured database (migrated first); returns what it counted."""
    settings = load_settings()
    require_database(settings, need_schema=True)

    async def rebuilt() -> int:
        async with command_engine(settings) as engine:
            return await rebuild(engine)

    return run(rebuilt)


@main.group()
def metrics() -> None:
    """The figures read from the audit trail (decision latency, waiting, first-pass rates)."""


@metrics.command("rebuild")
@click.option(
    "--batch", default=5000, show_default=True, type=click.IntRange(100, 100_000), help="Events per read."
)
def metrics_rebuild(batch: int) -> None:
    """Recreate every metric fact from the audit trail (the same rows the incremental path keeps), a batch per
    transaction."""
    from makeready.metrics import facts

    count = _rebuild(lambda engine: facts.rebuild_in_batches(engine, batch=batch))
    click.echo(
        i18n.ngettext("metrics rebuilt: %(n)d fact", "metrics rebuilt: %(n)d facts", count) % {"n": count}
    )


@main.group()
def waiting() -> None:
    """What each project waits on and when its open milestones fall due, kept on the project for the pages that
    sort by it."""


@waiting.command("rebuild")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(10, 10_000),
    help="Projects per transaction.",
)
def waiting_rebuild(batch: int) -> None:
    """Recompute what every project waits on and its milestones' schedule (after a bulk load past the services,
    or to repair), a batch of projects per transaction."""
    from makeready.workflow import waiting_flags

    count = _rebuild(lambda engine: waiting_flags.rebuild_in_batches(engine, batch=batch))
    click.echo(
        i18n.ngettext(
            "waiting flags rebuilt: %(n)d project changed",
            "waiting flags rebuilt: %(n)d projects changed",
            count,
        )
        % {"n": count}
    )


@main.group("production-board")
def production_board() -> None:
    """The live production board: each lot's column, kept on the lot."""


@production_board.command("rebuild")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(10, 10_000),
    help="Lots per transaction.",
)
def production_board_rebuild(batch: int) -> None:
    """Recompute every lot's board column from the board rule (to repair), a batch of lots per transaction."""
    from makeready.production import board_columns

    count = _rebuild(lambda engine: board_columns.rebuild_in_batches(engine, batch=batch))
    click.echo(
        i18n.ngettext(
            "board columns rebuilt: %(n)d lot changed",
            "board columns rebuilt: %(n)d lots changed",
            count,
        )
        % {"n": count}
    )


@main.command()
@click.option(
    "--concurrency", default=10, show_default=True, type=click.IntRange(1, 200), help="Jobs at once."
)
@click.option(
    "--queue", "queue_name", default="makeready", show_default=True, help="SAQ queue name in Redis."
)
def worker(concurrency: int, queue_name: str) -> None:
    """Run background jobs (from Redis when REDIS_URL is set) until interrupted."""
    from makeready import jobs
    from makeready.specs import pdf

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    require_email(settings)
    if settings.jobs.redis_url:
        require_redis(settings)
        click.echo(
            _("Worker on %(url)s, queue %(queue)s; jobs: %(jobs)s. Ctrl-C stops it.")
            % {
                "url": _safe_url(settings.jobs.redis_url),
                "queue": queue_name,
                "jobs": ", ".join(sorted(jobs.registry.REGISTRY)),
            }
        )
    else:
        click.echo(
            _(
                "REDIS_URL is not set: jobs run inside the web process (makeready serve), and this worker can only "
                "run jobs of its own process. Set REDIS_URL to share jobs between processes. Ctrl-C stops it."
            )
        )
    try:
        run(lambda: jobs.run_worker(settings, concurrency=concurrency, queue_name=queue_name))
    finally:
        pdf.shutdown_pool()  # the PDF render workers its jobs started stop with it, as the web app's do
    click.echo(_("Worker stopped."))
