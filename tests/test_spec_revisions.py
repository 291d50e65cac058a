"""Spec revisions through their service: lifecycle, immutability, translation staleness, concurrent edits, the gate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.errors import Conflict, PermissionDenied, ValidationFailed
from makeready.projects.models import Phase, Project
from makeready.specs import content as spec_content
from makeready.specs import service as specs
from makeready.specs.content import TranslationStatus
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.workflow import gates
from tests.workflow_support import (
    People,
    call_as,
    events,
    make_people,
    make_project,
    notifications,
    reload,
    session_as,
    system,
)


@pytest.fixture
async def people(engine: AsyncEngine) -> People:
    return await make_people(engine)


@pytest.fixture
async def project(engine: AsyncEngine, people: People) -> Project:
    return await make_project(engine, people, phase=Phase.development, review_complete=True, go_ahead=True)


def filled(*, reviewed: bool = True) -> dict[str, Any]:
    """A content payload with English and Chinese in a few sections."""
    status = "reviewed" if reviewed else "suggested"
    return {
        "overview": {
            "product_name": {"en": "Arc Pendant", "zh": "弧形吊灯", "status": status},
            "summary": {"en": "A brass pendant lamp", "zh": "黄铜吊灯", "status": status},
            "model_number": "ARC-01",
        },
        "materials": [
            {
                "id": "m1",
                "part": {"en": "Shade", "zh": "灯罩", "status": status},
                "material": {"en": "Brass", "zh": "黄铜", "status": status},
                "grade": "H62",
            }
        ],
        "dimensions": [
            {
                "id": "d1",
                "feature": {"en": "Shade diameter", "zh": "灯罩直径", "status": status},
                "value": "300",
                "unit": "mm",
                "tolerance_plus": "0.5",
                "tolerance_minus": "0.5",
            }
        ],
        "finishes": [
            {
                "id": "f1",
                "part": {"en": "Shade", "zh": "灯罩", "status": status},
                "finish": {"en": "Powder coating, matte", "zh": "喷粉、哑光", "status": status},
                "colour_system": "ral",
                "colour_code": "RAL 9005",
            }
        ],
    }


async def start(engine: AsyncEngine, people: People, project: Project) -> SpecRevision:
    return await call_as(engine, people, people.coordinator, specs.start_revision, project_id=project.id)


async def save(
    engine: AsyncEngine,
    people: People,
    revision: SpecRevision,
    content: dict[str, Any],
    version: int | None = None,
) -> SpecRevision:
    return await call_as(
        engine,
        people,
        people.coordinator,
        specs.save_content,
        revision_id=revision.id,
        content=content,
        expected_version=version,
    )


async def act(
    engine: AsyncEngine, people: People, who: str, revision: SpecRevision, action: str, **inputs: Any
) -> Any:
    return await call_as(
        engine,
        people,
        people.named(who),
        specs.act,
        action=action,
        revision_id=revision.id,
        inputs=inputs or None,
    )


async def issued_revision(engine: AsyncEngine, people: People, project: Project) -> SpecRevision:
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    await act(engine, people, "coordinator", revision, "submit")
    await act(engine, people, "owner_a", revision, "approve")
    await act(engine, people, "coordinator", revision, "issue")
    return await reload(engine, SpecRevision, revision.id)


# -- lifecycle ---------------------------------------------------------------------------------------------------


async def test_a_revision_goes_from_draft_to_issued_and_the_next_one_supersedes_it(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    first = await issued_revision(engine, people, project)
    assert (first.number, first.label, first.status) == (1, "A", RevisionStatus.issued)
    assert first.issued_by_id == people.coordinator.id
    assert first.approved_by_id == people.owner_a.id
    assert first.content_hash == specs.canonical_hash(first.content)

    second = await start(engine, people, project)
    assert (second.label, second.status, second.based_on_id) == ("B", RevisionStatus.draft, first.id)
    # a copy of the last revision, without its change summary
    copied = spec_content.parse(second.content)
    assert copied.dimensions[0].id == "d1"
    assert copied.overview.summary.zh == "黄铜吊灯"
    assert copied.change_summary.is_empty

    content = filled()
    content["change_summary"] = {"en": "Larger shade", "zh": "灯罩加大", "status": "reviewed"}
    content["dimensions"][0]["value"] = "320"
    await save(engine, people, second, content)
    await act(engine, people, "coordinator", second, "submit")
    await act(engine, people, "member_a", second, "approve")
    await act(engine, people, "coordinator", second, "issue")

    assert (await reload(engine, SpecRevision, first.id)).status == RevisionStatus.superseded
    assert (await reload(engine, SpecRevision, second.id)).status == RevisionStatus.issued
    (superseded,) = await events(engine, "spec_revision.superseded")
    assert superseded.after == {"status": "superseded", "by": "B", "label": "A"}
    async with system(engine) as session:
        log = await specs.change_log(session, await specs.get_revision(session, second.id))
    assert [r.label for r in log] == ["A", "B"]


async def test_only_one_revision_is_open_at_a_time(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    await start(engine, people, project)
    with pytest.raises(Conflict, match="Revision A is still Draft"):
        await start(engine, people, project)


async def test_a_project_in_feasibility_has_no_spec_yet(engine: AsyncEngine, people: People) -> None:
    early = await make_project(engine, people, phase=Phase.feasibility)
    with pytest.raises(Conflict, match="feasibility"):
        await start(engine, people, early)


@pytest.mark.parametrize(
    ("who", "action", "error"),
    [
        ("owner_a", "submit", PermissionDenied),  # the brand does not submit its own review
        ("coordinator", "approve", PermissionDenied),  # a coordinator cannot approve for the brand
        ("viewer_a", "approve", PermissionDenied),
        ("owner_b", "approve", Exception),  # another brand: the revision does not exist for them
    ],
)
async def test_who_may_act(
    engine: AsyncEngine, people: People, project: Project, who: str, action: str, error: type[Exception]
) -> None:
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    if action == "approve":
        await act(engine, people, "coordinator", revision, "submit")
    before = await reload(engine, SpecRevision, revision.id)
    with pytest.raises(error):
        await act(engine, people, who, revision, action)
    assert (await reload(engine, SpecRevision, revision.id)).status == before.status


async def test_the_brand_sends_a_revision_back_with_a_comment(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    await act(engine, people, "coordinator", revision, "submit")
    [review] = [n for n in await notifications(engine, people.owner_a) if n.kind == "spec_review_requested"]
    assert review.params == {"project": project.name, "revision": "A"}
    with pytest.raises(ValidationFailed):
        await act(engine, people, "owner_a", revision, "request_changes", comment="  ")
    await act(engine, people, "owner_a", revision, "request_changes", comment="Use <b>matte</b> black")
    back = await reload(engine, SpecRevision, revision.id)
    assert (back.status, back.review_comment, back.submitted_at) == (
        RevisionStatus.draft,
        "Use <b>matte</b> black",
        None,
    )
    [told] = await notifications(engine, people.coordinator)
    assert told.kind == "spec_changes_requested"
    assert told.params["comment"] == "Use <b>matte</b> black"


async def test_every_action_from_a_wrong_state_is_a_conflict_naming_the_state(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    for action, who in [("withdraw", "coordinator"), ("approve", "owner_a"), ("issue", "coordinator")]:
        with pytest.raises(Conflict, match="this one is Draft"):
            await act(engine, people, who, revision, action, comment="x")
    assert (await reload(engine, SpecRevision, revision.id)).version == revision.version


# -- immutability ------------------------------------------------------------------------------------------------


async def test_an_issued_revision_never_changes(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await issued_revision(engine, people, project)
    changed = filled()
    changed["overview"]["summary"]["en"] = "Something else"
    with pytest.raises(Conflict, match="never changes"):
        await save(engine, people, revision, changed)

    # not through the service either: the data layer refuses it
    async def overwrite() -> None:
        async with session_as(engine, people, people.coordinator) as session:
            row = await specs.get_revision(session, revision.id)
            row.content = {"overview": {}}

    with pytest.raises(specs.ImmutableRevision):
        await overwrite()
    assert (await reload(engine, SpecRevision, revision.id)).content == revision.content


async def test_after_submitting_only_the_chinese_may_change(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    content = filled()
    content["overview"]["summary"]["zh"] = ""
    await save(engine, people, revision, content)
    await act(engine, people, "coordinator", revision, "submit")
    await act(engine, people, "owner_a", revision, "approve")

    english = filled()
    english["overview"]["summary"]["en"] = "A steel pendant lamp"
    with pytest.raises(Conflict, match="only the Chinese"):
        await save(engine, people, revision, english)
    data = filled()
    data["dimensions"][0]["value"] = "301"
    with pytest.raises(Conflict, match="only the Chinese"):
        await save(engine, people, revision, data)

    saved = await save(engine, people, revision, filled())  # the Chinese summary, written after approval
    assert spec_content.parse(saved.content).overview.summary.status == TranslationStatus.reviewed


# -- translation status and issuing ------------------------------------------------------------------------------


async def test_changing_reviewed_english_makes_its_chinese_stale_and_blocks_issuing(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    changed = filled()
    changed["dimensions"][0]["feature"]["en"] = "Shade outer diameter"  # the client still says "reviewed"
    changed["materials"][0]["notes"] = {"en": "No visible weld seams", "zh": "", "status": "reviewed"}
    saved = await save(engine, people, revision, changed)
    content = spec_content.parse(saved.content)
    assert content.dimensions[0].feature.status == TranslationStatus.stale
    assert content.materials[0].notes.status == TranslationStatus.missing
    assert content.overview.summary.status == TranslationStatus.reviewed

    await act(engine, people, "coordinator", revision, "submit")
    await act(engine, people, "owner_a", revision, "approve")
    with pytest.raises(Conflict) as refused:
        await act(engine, people, "coordinator", revision, "issue")
    missing = refused.value.extra["missing"]
    assert "Dimensions and tolerances, row 1: Feature: the Chinese is Stale." in missing
    assert "Materials, row 1: Notes: the Chinese is Missing." in missing
    assert (await reload(engine, SpecRevision, revision.id)).status == RevisionStatus.approved

    fixed = changed
    fixed["dimensions"][0]["feature"]["zh"] = "灯罩外径"
    fixed["materials"][0]["notes"]["zh"] = "无可见焊缝"
    await save(engine, people, revision, fixed)
    await act(engine, people, "coordinator", revision, "issue")
    assert (await reload(engine, SpecRevision, revision.id)).status == RevisionStatus.issued


async def test_a_stale_chinese_clears_when_someone_confirms_or_rewrites_it(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    changed = filled()
    changed["overview"]["summary"]["en"] = "A brass pendant"
    changed["overview"]["summary"]["status"] = "suggested"
    revision = await save(engine, people, revision, changed)
    assert spec_content.parse(revision.content).overview.summary.status == TranslationStatus.stale
    revision = await save(engine, people, revision, changed)  # saving again without confirming keeps it stale
    assert spec_content.parse(revision.content).overview.summary.status == TranslationStatus.stale
    changed["overview"]["summary"]["status"] = "reviewed"
    revision = await save(engine, people, revision, changed)
    assert spec_content.parse(revision.content).overview.summary.status == TranslationStatus.reviewed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("finishes", 0, "colour_code"), "<script>alert(1)</script>"),
        (("dimensions", 0, "tolerance_minus"), "-0.5"),
        (("dimensions", 0, "unit"), "furlong"),
        (("overview", "summary", "en"), "x" * 5000),
        (("materials", 0, "id"), "../../etc"),
        (("overview", "colour"), "red"),
    ],
)
async def test_bad_content_is_refused_and_nothing_is_saved(
    engine: AsyncEngine, people: People, project: Project, path: tuple[Any, ...], value: Any
) -> None:
    revision = await start(engine, people, project)
    saved = await save(engine, people, revision, filled())
    content = filled()
    node: Any = content
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationFailed):
        await save(engine, people, saved, content, saved.version)
    assert (await reload(engine, SpecRevision, revision.id)).content == saved.content


async def test_markup_is_stored_as_text(engine: AsyncEngine, people: People, project: Project) -> None:
    revision = await start(engine, people, project)
    content = filled()
    content["overview"]["summary"]["en"] = (
        '<img src="file:///etc/passwd"> @import url(http://169.254.169.254/)'
    )
    saved = await save(engine, people, revision, content)
    assert spec_content.parse(saved.content).overview.summary.en == content["overview"]["summary"]["en"]


# -- concurrency -------------------------------------------------------------------------------------------------


async def test_the_second_of_two_saves_of_the_same_version_gets_a_conflict(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    first, second = filled(), filled()
    first["overview"]["summary"]["en"] = "Mine"
    second["overview"]["summary"]["en"] = "Theirs"
    await save(engine, people, revision, first, revision.version)
    with pytest.raises(Conflict, match="Someone else changed"):
        await save(engine, people, revision, second, revision.version)
    assert (
        spec_content.parse((await reload(engine, SpecRevision, revision.id)).content).overview.summary.en
        == "Mine"
    )


async def test_concurrent_saves_let_exactly_one_win(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)

    async def attempt(text: str) -> str:
        content = filled()
        content["overview"]["summary"]["en"] = text
        try:
            await save(engine, people, revision, content, revision.version)
        except Conflict:
            return "conflict"
        return "saved"

    results = await asyncio.gather(*(attempt(f"Version {n}") for n in range(4)))
    if engine.dialect.name == "sqlite":
        # SQLite serialises writers: each later save still carries the stale version and is refused
        assert sorted(results) == ["conflict", "conflict", "conflict", "saved"]
    else:
        assert results.count("saved") == 1


async def test_a_version_bumped_underneath_is_a_conflict(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    async with system(engine) as session:
        await session.execute(
            update(SpecRevision)
            .where(SpecRevision.id == revision.id)
            .values(version=SpecRevision.version + 1)
        )
    with pytest.raises(Conflict):
        await save(engine, people, revision, filled(), revision.version)


# -- the production gate and the decision log ----------------------------------------------------------------------


async def test_production_needs_an_approved_revision(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    async with system(engine) as session:
        assert await gates.approved_spec_revision(session, project.id) is False
    revision = await start(engine, people, project)
    await save(engine, people, revision, filled())
    await act(engine, people, "coordinator", revision, "submit")
    async with system(engine) as session:
        assert await gates.approved_spec_revision(session, project.id) is False
    await act(engine, people, "owner_a", revision, "approve")
    async with system(engine) as session:
        assert await gates.approved_spec_revision(session, project.id) is True


async def test_the_brand_reads_the_lifecycle_in_its_decision_log(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    from makeready.decisions.log import page_of

    await issued_revision(engine, people, project)
    async with session_as(engine, people, people.owner_a) as session:
        log = await page_of(session, project.id, milestones={})
    sentences = [entry.sentence for entry in log.entries]
    assert "Coordinator issued revision A of the specification to the factory." in sentences
    assert "Owner A approved revision A of the specification." in sentences
    assert "Coordinator submitted revision A of the specification for review." in sentences
    assert not any("spec_revision.started" in s or "spec_revision.edited" in s for s in sentences)
    [issued] = [n for n in await notifications(engine, people.owner_a) if n.kind == "spec_issued"]
    assert issued.link == f"/projects/{project.id}/spec"


async def test_unticking_reviewed_takes_the_review_back(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    revision = await start(engine, people, project)
    revision = await save(engine, people, revision, filled())
    unticked = filled()
    unticked["overview"]["summary"]["status"] = "suggested"
    revision = await save(engine, people, revision, unticked)
    content = spec_content.parse(revision.content)
    assert content.overview.summary.status == TranslationStatus.suggested
    assert content.overview.product_name.status == TranslationStatus.reviewed


async def test_figures_show_only_approved_sample_photos_and_images_of_the_project(
    engine: AsyncEngine, people: People, project: Project
) -> None:
    from makeready.samples.models import SampleStatus
    from tests.workflow_support import make_round

    _approved, [approved_photo] = await make_round(engine, project, status=SampleStatus.approved, photos=1)
    _rejected, [rejected_photo] = await make_round(
        engine, project, status=SampleStatus.rejected, number=2, photos=1
    )
    other = await make_project(engine, people, phase=Phase.development, org="b", name="Other")
    _theirs, [their_photo] = await make_round(engine, other, status=SampleStatus.approved, photos=1)
    revision = await start(engine, people, project)

    def with_figure(photo_id: int) -> dict[str, Any]:
        content = filled()
        content["figures"] = [
            {
                "id": "p1",
                "source": "sample_photo",
                "ref_id": photo_id,
                "caption": {"en": "Front", "zh": "正面"},
            }
        ]
        return content

    for refused in (rejected_photo.id, their_photo.id, 999_999):
        with pytest.raises(ValidationFailed, match="Figure 1 must show a photo") as error:
            await save(engine, people, revision, with_figure(refused))
        assert error.value.extra["field"] == "figures.p1.ref_id"
    saved = await save(engine, people, revision, with_figure(approved_photo.id))
    assert spec_content.parse(saved.content).figures[0].ref_id == approved_photo.id
