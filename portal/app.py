"""One assembly point: `create_app()` returns the whole Makeready web application."""

from __future__ import annotations

import functools
import gc
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Router, asgi
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import StructLoggingConfig
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from backoffice.board import CoordinatorPages
from backoffice.budget import BudgetPages
from backoffice.factory_links import FactoryLinkPages
from backoffice.feasibility import FeasibilityWorkspace
from backoffice.inspections import InspectionPages
from backoffice.materials import MaterialPages
from backoffice.metrics import MetricsPages
from backoffice.production import ProductionOverview
from backoffice.production import ProductionPages as CoordinatorProductionPages
from backoffice.shipping import ShippingPages
from backoffice.specs import SpecWorkspace
from backoffice.suppliers import SupplierPages
from makeready import i18n, jobs
from makeready.billing.stripe_client import billing_enabled
from makeready.composition import wire
from makeready.db.session import get_engine
from makeready.kept import KeptBlocks
from makeready.settings import BASE_DIR, Settings, get_settings
from makeready.specs import pdf
from portal.access_log import AccessLog
from portal.account import AccountPages
from portal.api import api_router
from portal.assets import CompressedAssets
from portal.auth import CSRF_COOKIE, CSRF_HEADER, provide_actor, provide_db
from portal.billing import BillingPages, stripe_webhook
from portal.bounds import PathIntBound
from portal.budget import BrandBudgetPages
from portal.budget_api import budget_api
from portal.changes import ChangePages, changes_api
from portal.database import DatabasePlugin
from portal.errors import EXCEPTION_HANDLERS
from portal.factory import FactoryPages
from portal.files import files_api, local_download, local_upload
from portal.guards import coordinators_only
from portal.health import healthz, readyz
from portal.locale import LocaleMiddleware
from portal.materials import BrandMaterialPages
from portal.materials_api import materials_api
from portal.materials_factory import FactoryMaterialPages
from portal.metrics import ProjectFigures
from portal.notifications import NotificationPages, notifications_api
from portal.pages import login_page, login_submit, logout, switch_locale
from portal.production import ProductionPages, ProductionPhotoRoutes
from portal.production_api import production_api
from portal.production_factory import ProductionLinkPages
from portal.projects_pages import ProjectPages
from portal.quality import QualityPages
from portal.quality_api import quality_api
from portal.quality_factory import FactoryQualityPages
from portal.samples import SamplePages, SamplePhotoRoutes, samples_api
from portal.security import baseline_headers, security_headers
from portal.shipping import BrandShippingPages
from portal.shipping_api import shipping_api
from portal.shipping_factory import FactoryShippingPages
from portal.specs import SpecPages, specs_api
from portal.submit import SubmitPages
from portal.team import InvitationPages, TeamPages

TEMPLATES = BASE_DIR / "templates"
STATIC = BASE_DIR / "portal" / "static"


def _derive(secret: str, purpose: str) -> bytes:
    """A separate 32-byte key per purpose, so one leaked key cannot forge the others."""
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def build_jinja(directory: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n", KeptBlocks],
        auto_reload=False,
    )
    i18n.install_gettext(env)
    # a kept block's HTML is in the reader's language: each language keeps its own
    env.kept_varies_with = i18n.get_locale  # type: ignore[attr-defined]
    # `translated` is for data that may hold a catalog message (standard milestone titles): unlike newstyle _(),
    # it neither marks the result safe nor %-formats it, so stored text stays escaped
    env.filters.update(
        money=i18n.format_money, date=i18n.format_date, datetime=i18n.format_datetime, translated=i18n.gettext
    )
    env.globals.update(
        current_locale=i18n.get_locale,
        label=i18n.label,
        languages=i18n.LANGUAGE_NAMES,
        billing_enabled=billing_enabled,
        csrf_cookie=CSRF_COOKIE,
    )
    return env


def _mount_backoffice(settings: Settings) -> Any:
    from backoffice import create_backoffice

    # piccolo-admin builds a FastAPI router per table (about two thirds of create_app's CPU), so it is built on
    # the first /admin request, not at start
    built: list[ASGIApp] = []

    @asgi("/admin", is_mount=True, copy_scope=True)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        if not built:  # no await between the check and the append: one build even under concurrent requests
            # the back office issues CSRF cookies signed like ours, so one `csrftoken` cookie serves both
            built.append(
                create_backoffice(settings, csrf_secret=_derive(settings.app.secret_key, "csrf").hex())
            )
        await built[0](scope, receive, send)

    return admin


P = ParamSpec("P")
R = TypeVar("R")

YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the garbage collector's youngest generation (CPython's default: 700)."""


def _collector_paused(build: Callable[P, R]) -> Callable[P, R]:
    """Start-up CPU: the cyclic garbage collector would walk the growing heap again and again while Litestar registers
    the routes (about 0.12 s of every start, bench/startup.py); it pauses while the app is built, and runs again after
    (also when the build fails). `makeready serve` pauses it earlier, while it imports the app (portal/cli.py)."""

    @functools.wraps(build)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            gc.enable()

    return paused


@_collector_paused
def create_app(settings: Settings | None = None) -> Litestar:
    """Assemble plugins, middleware, routes and error handlers. Reading this function tells you the whole app."""
    settings = settings or get_settings()
    settings.check()
    wire()
    engine = get_engine(settings.db.url)
    secure = settings.app.is_production
    sessions = CookieBackendConfig(
        secret=_derive(settings.app.secret_key, "session"),
        key="mr_session",
        # a day longer than the session itself, so portal.auth sees the stale session and says it expired
        max_age=(settings.app.session_hours + 24) * 3600,
        httponly=True,
        secure=secure,
        samesite="lax",
        # the factory's link pages set no cookie at all (portal/factory.py, portal/production_factory.py)
        exclude=["/healthz", "/readyz", "/static", "^/f/", "^/p/"],
    )
    csrf = CSRFConfig(
        secret=_derive(settings.app.secret_key, "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_samesite="lax",
        # the API checks its own double-submit header for cookie callers (bearer tokens need none); piccolo-admin
        # has its own CSRF middleware; Stripe signs its webhooks
        # /uploads/local is authenticated by its signed form fields, like an S3 presigned POST
        # /f/ has no session to protect: the link's token is the credential (portal/factory.py explains)
        exclude=[
            "/api/",
            "/admin",
            "/webhooks/stripe",
            "/healthz",
            "/readyz",
            "/uploads/local",
            "^/f/",
            "^/p/",
        ],
    )
    # every coordinator page, behind the one guard: staff or admins, signed in here or to the back office
    coordinator_pages = Router(
        path="/",
        guards=[coordinators_only],
        route_handlers=[
            CoordinatorPages,
            SupplierPages,
            MaterialPages,
            FeasibilityWorkspace,
            SpecWorkspace,
            FactoryLinkPages,
            CoordinatorProductionPages,
            ProductionOverview,
            InspectionPages,
            ShippingPages,
            MetricsPages,
            BudgetPages,
        ],
    )
    logging_config = StructLoggingConfig(log_exceptions="debug")
    if logging_config.standard_lib_logging_config is not None:
        logging_config.standard_lib_logging_config.configure()  # the standard library's loggers write through it
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            login_page,
            login_submit,
            logout,
            switch_locale,
            TeamPages,
            InvitationPages,
            AccountPages,
            ProjectPages,
            ProjectFigures,
            SubmitPages,
            coordinator_pages,
            api_router,
            NotificationPages,
            notifications_api,
            ChangePages,
            changes_api,
            SamplePages,
            SamplePhotoRoutes,
            samples_api,
            SpecPages,
            specs_api,
            files_api,
            local_upload,
            local_download,
            FactoryPages,
            ProductionLinkPages,
            ProductionPages,
            ProductionPhotoRoutes,
            production_api,
            FactoryMaterialPages,
            BrandMaterialPages,
            materials_api,
            FactoryQualityPages,
            QualityPages,
            quality_api,
            FactoryShippingPages,
            BrandShippingPages,
            BrandBudgetPages,
            budget_api,
            shipping_api,
            BillingPages,
            stripe_webhook,
            # the mount also answers /admin with a redirect to /admin/: a plain route at the mount's own path
            # would replace the mount's routing node (Litestar 2.25), hiding /admin/api/... behind the portal's /api
            _mount_backoffice(settings),
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        dependencies={"actor": Provide(provide_actor), "db": Provide(provide_db)},
        plugins=[
            # the request's session, committed on 2xx/3xx (portal.database: advanced-alchemy's plugin cost a second
            # of start-up CPU)
            DatabasePlugin(engine),
        ],
        # structlog, JSON lines (Litestar configures it); one access line per request from portal.access_log (below).
        # Not Litestar's StructlogPlugin: without its request logging middleware it only does this, and it imports
        # Litestar's CLI (about 20 ms of every start)
        logging_config=logging_config,
        middleware=[
            # static files, ours and the back office's, compressed once and cached by browsers (portal/assets.py)
            CompressedAssets,
            security_headers(settings),
            sessions.middleware,
            LocaleMiddleware(),
            PathIntBound(),
        ],
        before_send=[baseline_headers(settings)],
        csrf_config=csrf,
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(build_jinja())),
        openapi_config=OpenAPIConfig(
            title="Makeready API",
            version="1",
            path="/schema",
            description="Brands' API: projects, milestones, files, samples and decisions. Errors are RFC 9457 "
            "problem details. Authenticate with `Authorization: Bearer <token>` (see `makeready users token`).",
            render_plugins=[ScalarRenderPlugin()],
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[jobs.lifespan],
        # the PDF render workers stop with the app (a stopped server left its forkserver and a worker running)
        on_shutdown=[pdf.shutdown_pool],
        state=State({"settings": settings}),
        debug=False,
    )
    # the access log wraps routing and its exception handling, as Litestar wraps its CORS middleware there: it sees
    # every request, an unknown path's 404 too, and the status the client gets
    app.asgi_handler = AccessLog(app.asgi_handler)
    # Everything loaded so far (modules, the routes, the ORM's mappers) lives as long as the process: moved out of
    # the cyclic garbage collector's sight, a full collection no longer walks it (measured by bench/profile_pages.py:
    # the API list spent about 3 ms per request collecting, 0.2 ms after this)
    gc.freeze()
    # and the youngest generation is collected every 10,000 allocations instead of 700: a board page allocates a few
    # hundred thousand objects, nearly all freed by reference counting, and at 700 the collector ran hundreds of
    # times per request, walking what the request still held (bench/profile_pages.py on 10,000 projects: the board
    # spent 6-20 ms per request collecting, under 0.5 ms after; the older generations keep their defaults)
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    return app
