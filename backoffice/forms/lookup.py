"""Finding the record a form means from what a coordinator types: a name, part of a name, or a number.

piccolo-admin's custom forms render plain inputs only (no choice lists: FormConfig schemas are fixed at start and
its form component ignores `choices`), so a field asks for "name or number" and these functions resolve it in the
form's transaction: a number (`12` or `#12`) is the row's id; otherwise an exact name (case-insensitive) wins,
then a unique partial match. Nothing found, or several found, is a ValidationFailed that lists what there is, with
numbers, so the coordinator never has to guess an id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready import i18n
from makeready.accounts.models import Organization, User
from makeready.changes.models import ChangeRequest, ChangeStatus
from makeready.errors import ValidationFailed
from makeready.i18n import N_, _
from makeready.projects.models import Attachment, Milestone, Project
from makeready.samples.models import SampleRound
from makeready.suppliers.models import Supplier

T = TypeVar("T")
NUMBER = re.compile(r"#?\s*(\d{1,18})")
SHOWN = 10

NOT_FOUND = N_("No %(what)s matches “%(text)s”.")
SEVERAL = N_("Several match “%(text)s”: %(choices)s. Write the number (#) of the one you mean.")
NO_NUMBER = N_("There is no %(what)s number %(number)s.")
THERE_ARE = N_("There are: %(choices)s.")
NAME_IT = N_("Name the %(what)s (its name or number).")


def number_of(text: str) -> int | None:
    match = NUMBER.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def _listing(rows: Iterable[T], describe: Callable[[T], str]) -> str:
    return "; ".join(describe(r) for r in rows)


def _not_found(
    what: str, text: str, field: str, suggestions: Sequence[Any], describe: Callable[[Any], str]
) -> Any:
    message = _(NOT_FOUND) % {"what": _(what), "text": text}
    if suggestions:
        message += " " + _(THERE_ARE) % {"choices": _listing(suggestions[:SHOWN], describe)}
    return ValidationFailed(message, field=field)


def _several(what: str, text: str, field: str, rows: Sequence[Any], describe: Callable[[Any], str]) -> Any:
    return ValidationFailed(
        _(SEVERAL) % {"text": text, "choices": _listing(rows[:SHOWN], describe)}, field=field
    )


async def _find(
    session: AsyncSession,
    model: Any,
    text: str,
    *,
    columns: Sequence[Any],
    what: str,
    field: str,
    describe: Callable[[Any], str],
    where: Sequence[ColumnElement[bool]] = (),
    options: Sequence[Any] = (),
    order: Sequence[Any] = (),
) -> Any:
    """One row of `model` named by `text` (see the module docstring). `what` is an N_ noun."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_(NAME_IT) % {"what": _(what)}, field=field)
    base = select(model).where(*where).options(*options)
    number = number_of(text)
    if number is not None:
        row = await session.scalar(base.where(model.id == number))
        if row is None:
            raise ValidationFailed(_(NO_NUMBER) % {"what": _(what), "number": number}, field=field)
        return row
    lowered = text.lower()
    ordered = base.order_by(*order, model.id).limit(SHOWN + 1)
    for condition in (
        or_(*(func.lower(c) == lowered for c in columns)),
        or_(*(func.lower(c).contains(lowered, autoescape=True) for c in columns)),
    ):
        rows = list((await session.scalars(ordered.where(condition))).unique().all())
        if len(rows) == 1:
            return rows[0]
        if rows:
            raise _several(what, text, field, rows, describe)
    suggestions = list((await session.scalars(ordered)).unique().all())
    raise _not_found(what, text, field, suggestions, describe)


def describe_project(project: Project) -> str:
    return f"{project.name} (#{project.id}, {project.org.name})"


async def find_project(session: AsyncSession, text: str, *, field: str = "project") -> Project:
    """A project that is not archived, by name or number."""
    project: Project = await _find(
        session,
        Project,
        text,
        columns=[Project.name],
        what=N_("project"),
        field=field,
        describe=describe_project,
        where=[Project.archived_at.is_(None)],
        options=[joinedload(Project.org)],
        order=[Project.name],
    )
    return project


def describe_supplier(supplier: Supplier) -> str:
    names = " / ".join(n for n in (supplier.name_en, supplier.name_zh) if n)
    return f"{names} (#{supplier.id})"


async def find_supplier(session: AsyncSession, text: str, *, field: str = "supplier") -> Supplier:
    """A supplier of the directory (not archived), by its English or Chinese name, or its number."""
    supplier: Supplier = await _find(
        session,
        Supplier,
        text,
        columns=[Supplier.name_en, Supplier.name_zh],
        what=N_("supplier"),
        field=field,
        describe=describe_supplier,
        where=[Supplier.archived_at.is_(None)],
        order=[Supplier.name_en],
    )
    return supplier


def describe_user(user: User) -> str:
    return f"{user.name} <{user.email}> (#{user.id})" if user.name else f"{user.email} (#{user.id})"


async def find_user(
    session: AsyncSession, text: str, *, field: str = "owner", staff_only: bool = False
) -> User:
    """An active person by email, name or number (agency staff only when `staff_only`)."""
    where = [User.is_active.is_(True)]
    if staff_only:
        where.append(User.is_staff.is_(True))
    user: User = await _find(
        session,
        User,
        text,
        columns=[User.email, User.name],
        what=N_("person"),
        field=field,
        describe=describe_user,
        where=where,
        order=[User.email],
    )
    return user


def describe_org(org: Organization) -> str:
    return f"{org.name} (#{org.id})"


async def find_org(session: AsyncSession, text: str, *, field: str = "organization") -> Organization:
    org: Organization = await _find(
        session,
        Organization,
        text,
        columns=[Organization.name],
        what=N_("client"),
        field=field,
        describe=describe_org,
        where=[Organization.archived_at.is_(None)],
        order=[Organization.name],
    )
    return org


def _pick_in_memory(
    rows: Sequence[T],
    text: str,
    *,
    names: Callable[[T], Iterable[str]],
    number: Callable[[T], int],
    what: str,
    field: str,
    describe: Callable[[T], str],
) -> T:
    """The row among `rows` (a project's few milestones or files) named by `text`."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_(NAME_IT) % {"what": _(what)}, field=field)
    wanted = number_of(text)
    if wanted is not None:
        for row in rows:
            if number(row) == wanted:
                return row
        raise _not_found(what, text, field, rows, describe)
    lowered = text.casefold()
    for test in (
        lambda name: name.casefold() == lowered,
        lambda name: lowered in name.casefold(),
    ):
        found = [row for row in rows if any(test(n) for n in names(row) if n)]
        if len(found) == 1:
            return found[0]
        if found:
            raise _several(what, text, field, found, describe)
    raise _not_found(what, text, field, rows, describe)


def describe_milestone(milestone: Milestone) -> str:
    return f"{_(milestone.title)} (#{milestone.id})"


async def find_milestone(
    session: AsyncSession, project: Project, text: str, *, field: str = "milestone"
) -> Milestone:
    """One of the project's milestones by title (as stored or as shown in the reader's language) or number."""
    rows = list(
        (
            await session.scalars(
                select(Milestone)
                .where(Milestone.project_id == project.id)
                .order_by(Milestone.position, Milestone.id)
            )
        ).all()
    )
    return _pick_in_memory(
        rows,
        text,
        names=lambda m: (m.title, _(m.title)),
        number=lambda m: m.id,
        what=N_("milestone"),
        field=field,
        describe=describe_milestone,
    )


async def find_sample_round(
    session: AsyncSession, project: Project, number: int | None, *, field: str = "round_number"
) -> SampleRound:
    """The project's sample round with this number, or its latest round when no number is given."""
    query = select(SampleRound).where(SampleRound.project_id == project.id)
    if number is None:
        sample = await session.scalar(query.order_by(SampleRound.number.desc()).limit(1))
        if sample is None:
            raise ValidationFailed(
                _("%(project)s has no sample round yet.") % {"project": project.name}, field=field
            )
        return sample
    sample = await session.scalar(query.where(SampleRound.number == number))
    if sample is None:
        raise ValidationFailed(
            _("%(project)s has no sample round %(number)s.") % {"project": project.name, "number": number},
            field=field,
        )
    return sample


async def find_change_request(
    session: AsyncSession, project: Project, number: int | None, *, field: str = "change_number"
) -> ChangeRequest:
    """The project's change request with this number, or its only open one when no number is given."""
    query = select(ChangeRequest).where(ChangeRequest.project_id == project.id)
    if number is not None:
        change = await session.scalar(query.where(ChangeRequest.number == number))
        if change is None:
            raise ValidationFailed(
                _("%(project)s has no change request %(number)s.")
                % {"project": project.name, "number": number},
                field=field,
            )
        return change
    open_ones = list(
        (
            await session.scalars(
                query.where(ChangeRequest.status == ChangeStatus.open).order_by(ChangeRequest.number)
            )
        ).all()
    )
    if len(open_ones) == 1:
        return open_ones[0]
    if not open_ones:
        raise ValidationFailed(
            _("%(project)s has no open change request.") % {"project": project.name}, field=field
        )
    raise ValidationFailed(
        _(
            "%(project)s has several open change requests (%(numbers)s): give the number of the one you decide."
        )
        % {"project": project.name, "numbers": ", ".join(str(c.number) for c in open_ones)},
        field=field,
    )


def describe_attachment(attachment: Attachment) -> str:
    return f"{attachment.original_name} (#{attachment.id})"


async def find_attachments(
    session: AsyncSession, project: Project, text: str, *, field: str = "attachments"
) -> list[int]:
    """The ids of the project's files named in `text`, separated by commas or new lines (names or numbers)."""
    parts = [p.strip() for p in re.split("[,\n;\uff0c\uff1b]", text or "") if p.strip()]
    if not parts:
        return []
    rows = list(
        (
            await session.scalars(
                select(Attachment)
                .where(Attachment.project_id == project.id)
                .order_by(Attachment.created_at.desc(), Attachment.id.desc())
            )
        ).all()
    )
    ids = [
        _pick_in_memory(
            rows,
            part,
            names=lambda a: (a.original_name,),
            number=lambda a: a.id,
            what=N_("file"),
            field=field,
            describe=describe_attachment,
        ).id
        for part in parts
    ]
    return list(dict.fromkeys(ids))


def choose(text: str, options: Mapping[str, str], *, what: str, field: str) -> str:
    """The option key `text` names: the key itself or its label in any of our languages."""
    wanted = (text or "").strip().casefold()
    for key, msgid in options.items():
        translated = (i18n.translations(locale).gettext(msgid) for locale in i18n.SUPPORTED)
        names = {key, key.replace("_", " "), msgid, *translated}
        if wanted in {name.casefold() for name in names}:
            return key
    raise ValidationFailed(
        _("Choose the %(what)s: %(choices)s.")
        % {"what": _(what), "choices": ", ".join(_(msgid) for msgid in options.values())},
        field=field,
    )
