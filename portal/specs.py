"""Spec revisions for brands: the revisions of a project, one revision to read and decide on, the diff, the PDF,
and the JSON API (brands and coordinators).

Brands never see drafts: a draft's number answers exactly like a revision that does not exist (404), as does another
organization's project. Approving and sending back go through `makeready.specs.service.act` (owners and members
only; a viewer or a coordinator is refused there) in the request's transaction; a refused decision shows the page
again with the message and the typed comment.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Router, get, post, put
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.form_values import form_version
from backoffice.specs import KIND_LABELS, changes_between, columns, default_pair, parse_label
from makeready import urls
from makeready.accounts.models import OrgRole
from makeready.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from makeready.i18n import _
from makeready.projects.models import Project
from makeready.specs import document as document_module
from makeready.specs import documents
from makeready.specs import service as specs
from makeready.specs.content import SECTIONS
from makeready.specs.models import DocumentStatus, RevisionStatus, SpecDocument, SpecRevision
from portal.api import PROBLEMS
from portal.auth import Actor, provide_user
from portal.samples import load_project
from portal.schemas_specs import (
    SpecActionIn,
    SpecContentIn,
    SpecRevisionOut,
    SpecRevisionSummary,
)

HIDDEN_FROM_BRANDS = frozenset({RevisionStatus.draft})
ISSUED = frozenset({RevisionStatus.issued, RevisionStatus.superseded})
BRAND_DECISIONS = ("approve", "request_changes")
STAFF_API_ACTIONS = ("submit", "withdraw", "issue")


def visible(revisions: list[SpecRevision]) -> list[SpecRevision]:
    return [r for r in revisions if r.status not in HIDDEN_FROM_BRANDS]


async def brand_revision(db: AsyncSession, project_id: int, number: int) -> SpecRevision:
    """A revision the brand may see (not a draft), through the caller's scope; anything else is NotFound."""
    revision = await db.scalar(
        select(SpecRevision).where(SpecRevision.project_id == project_id, SpecRevision.number == number)
    )
    if revision is None or revision.status in HIDDEN_FROM_BRANDS:
        raise NotFound(_(specs.REVISION_NOT_FOUND))
    return revision


def decider_note(user: Actor, project: Project) -> str:
    """Why the caller sees no decision form, or "" when they may decide."""
    if user.is_staff:
        return _("Only the brand's owners and members approve a spec revision or send it back.")
    if user.role_in(project.org_id) == OrgRole.viewer:
        return _("Viewers can look but not decide. Ask an owner for a member role.")
    return ""


async def page_context(
    db: AsyncSession,
    user: Actor,
    project: Project,
    revision: SpecRevision | None,
    *,
    form: FormMultiDict | None = None,
    error: str = "",
) -> dict[str, Any]:
    revisions = visible(await specs.revisions_of(db, project.id))
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "revisions": revisions,
        "revision": revision,
        "base": urls.spec(project.id, staff=False),
        "error": error,
        "comment": str(form.get("comment") or "") if form is not None else "",
    }
    if revision is not None:
        previous = next((r for r in revisions if r.number < revision.number and r.status in ISSUED), None)
        context.update(
            {
                "content": specs.content_of(revision).to_json(),
                "sections": [(key, _(title)) for key, title in SECTIONS.items()],
                "columns": columns(),
                "decider_note": decider_note(user, project),
                "previous": previous,
                "changes": changes_between(previous, revision) if previous is not None else [],
                "kinds": {k: _(v) for k, v in KIND_LABELS.items()},
                "has_pdf": revision.status in ISSUED,
            }
        )
    return context


class SpecPages(Controller):
    """The brand's spec pages of one project."""

    path = "/projects/{project_id:int}/spec"
    include_in_schema = False
    dependencies = {"user": Provide(provide_user)}

    @get("/", name="brand_spec")
    async def overview(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> Template:
        """The revisions the brand may see, and the newest of them."""
        project = await load_project(db, project_id)
        revisions = visible(await specs.revisions_of(db, project_id))
        context = await page_context(db, user, project, revisions[0] if revisions else None)
        return Template("portal/specs/revision.html", context=context)

    @get("/diff", name="brand_spec_diff")
    async def diff(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        from_label: Annotated[str, QueryParameter(name="from")] = "",
        to_label: Annotated[str, QueryParameter(name="to")] = "",
    ) -> Template:
        """Two revisions the brand may see, compared field by field in both languages."""
        project = await load_project(db, project_id)
        revisions = visible(await specs.revisions_of(db, project_id))
        from_label, to_label = default_pair(revisions, from_label, to_label)
        older, newer = parse_label(from_label), parse_label(to_label)
        if older is None or newer is None:
            raise NotFound(_(specs.REVISION_NOT_FOUND))
        a = await brand_revision(db, project_id, older)
        b = await brand_revision(db, project_id, newer)
        return Template(
            "portal/specs/diff.html",
            context={
                "user": user,
                "project": project,
                "older": a,
                "newer": b,
                "changes": changes_between(a, b),
                "kinds": {k: _(v) for k, v in KIND_LABELS.items()},
                "revisions": revisions,
                "base": urls.spec(project_id, staff=False),
            },
        )

    @get("/{number:int}", name="brand_spec_revision")
    async def revision(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Template:
        """One revision, English first with the Chinese alongside; the decision form while it is in review."""
        project = await load_project(db, project_id)
        revision = await brand_revision(db, project_id, number)
        return Template("portal/specs/revision.html", context=await page_context(db, user, project, revision))

    @post("/{number:int}/decision", name="brand_spec_decision")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Template | Redirect:
        """Approve the revision in review, or send it back with a comment."""
        form = await request.form()
        project = await load_project(db, project_id)
        revision = await brand_revision(db, project_id, number)
        decision = str(form.get("decision") or "")
        try:
            if decision not in BRAND_DECISIONS:
                raise ValidationFailed(_("Choose approve or request changes."), field="decision")
            await specs.act(
                db,
                decision,
                actor=user.user,
                revision_id=revision.id,
                inputs={"comment": str(form.get("comment") or "")},
                expected_version=form_version(form),
            )
        except DomainError as exc:
            if not db.is_active or db.dirty or db.new:
                raise  # refused while writing (a concurrent change): the error page, and the transaction rolls back
            context = await page_context(db, user, project, revision, form=form, error=exc.message)
            return Template("portal/specs/revision.html", context=context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}/spec/{number}?done={decision}", status_code=303)

    @get("/{number:int}/pdf", name="brand_spec_pdf")
    async def pdf(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Redirect | Template:
        """The issued revision's PDF (English first): a redirect to it once rendered, else a page that says where
        it stands and offers to prepare it (a GET never starts a render)."""
        project, revision = await _pdf_subject(db, project_id, number)
        order = ("en", "zh_Hans")
        built = await document_module.build_document(db, revision, languages=order)
        document = await db.scalar(
            select(SpecDocument).where(SpecDocument.content_hash == documents.pdf_inputs_hash(built, order))
        )
        if document is not None and document.status == DocumentStatus.ready:
            name = documents.download_name(document, revision, project.name)
            return Redirect(documents.pdf_download_url(document, filename=name), status_code=302)
        pending = document is not None and document.status == DocumentStatus.pending
        return Template(
            "portal/specs/pdf_pending.html",
            context={"user": user, "project": project, "revision": revision, "document": document},
            headers={"refresh": "5"} if pending else None,
        )

    @post("/{number:int}/pdf", name="brand_spec_pdf_request")
    async def request_pdf(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        project_id: FromPath[int],
        number: FromPath[int],
    ) -> Redirect:
        """Prepare the PDF (rendered in the background), then back to its page."""
        _project, revision = await _pdf_subject(db, project_id, number)
        await documents.request_pdf(db, revision=revision, languages=("en", "zh_Hans"))
        return Redirect(f"/projects/{project_id}/spec/{number}/pdf", status_code=303)


async def _pdf_subject(db: AsyncSession, project_id: int, number: int) -> tuple[Project, SpecRevision]:
    project = await load_project(db, project_id)
    revision = await brand_revision(db, project_id, number)
    if revision.status not in ISSUED:
        raise NotFound(_("A PDF is made once a revision is issued."))
    return project, revision


# --- JSON API -------------------------------------------------------------------------------------------------------


async def _api_revision(db: AsyncSession, user: Actor, revision_id: int) -> SpecRevision:
    """A revision by id: staff see every one; brands only theirs and never a draft (NotFound either way)."""
    revision = await specs.get_revision(db, revision_id)
    if not user.is_staff and revision.status in HIDDEN_FROM_BRANDS:
        raise NotFound(_(specs.REVISION_NOT_FOUND))
    return revision


class SpecApi(Controller):
    """Spec revisions: read them; coordinators write, submit and issue; brands approve or send back."""

    path = "/"
    tags = ["spec revisions"]

    @get("/projects/{project_id:int}/spec-revisions", responses=PROBLEMS)
    async def list_revisions(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> list[SpecRevisionSummary]:
        """The project's revisions, newest first (brands do not see drafts)."""
        await load_project(db, project_id)
        revisions = await specs.revisions_of(db, project_id)
        if not user.is_staff:
            revisions = visible(revisions)
        return [SpecRevisionSummary.of(r) for r in revisions]

    @post("/projects/{project_id:int}/spec-revisions", status_code=201, responses=PROBLEMS)
    async def start_revision(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], project_id: FromPath[int]
    ) -> SpecRevisionOut:
        """Start a new draft, copied from the latest revision (coordinators only)."""
        if not user.is_staff:
            await load_project(db, project_id)  # another organization's project is a 404, not a 403
            raise PermissionDenied(_(specs.STAFF_ONLY))
        revision = await specs.start_revision(db, actor=user.user, project_id=project_id)
        return SpecRevisionOut.of(revision)

    @get("/spec-revisions/{revision_id:int}", responses=PROBLEMS)
    async def get_revision(
        self, db: NamedDependency[AsyncSession], user: NamedDependency[Actor], revision_id: FromPath[int]
    ) -> SpecRevisionOut:
        """One revision with its content and the fields that block issuing."""
        return SpecRevisionOut.of(await _api_revision(db, user, revision_id))

    @put("/spec-revisions/{revision_id:int}/content", responses=PROBLEMS)
    async def put_content(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        revision_id: FromPath[int],
        data: JSONBody[SpecContentIn],
    ) -> SpecRevisionOut:
        """Replace the content of an open revision (coordinators only); `version` must be the one you read.

        Each text's `status` may only ask for "reviewed"; the server computes the rest."""
        await _api_revision(db, user, revision_id)
        revision = await specs.save_content(
            db, actor=user.user, revision_id=revision_id, content=data.content, expected_version=data.version
        )
        return SpecRevisionOut.of(revision)

    @post("/spec-revisions/{revision_id:int}/actions", status_code=200, responses=PROBLEMS)
    async def action(
        self,
        db: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        revision_id: FromPath[int],
        data: JSONBody[SpecActionIn],
    ) -> SpecRevisionOut:
        """submit, withdraw or issue (coordinators); approve or request_changes with a comment (the brand).

        A refused issue is a 409 whose `missing` lists each field that blocks it."""
        await _api_revision(db, user, revision_id)
        if data.action not in STAFF_API_ACTIONS + BRAND_DECISIONS:
            raise ValidationFailed(_("Unknown action."), field="action")
        revision = await specs.act(
            db,
            data.action,
            actor=user.user,
            revision_id=revision_id,
            inputs={"comment": data.comment},
            expected_version=data.version,
        )
        return SpecRevisionOut.of(revision)


specs_api = Router(path="/api/v1", route_handlers=[SpecApi], dependencies={"user": Provide(provide_user)})
