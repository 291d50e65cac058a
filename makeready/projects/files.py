"""Project files: start a direct upload, accept it once verified, list files and hand out download links.

An Attachment row exists only for an object that passed `makeready.storage.verify`; the row and its audit
event are written in the caller's transaction. Keys are generated here under the project's organization, and a
completion naming any other key is a 404, like any other organization's object.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, NotFound, PaymentRequired, ValidationFailed
from makeready.i18n import _
from makeready.kernel import gates
from makeready.projects import service as projects
from makeready.projects.models import Attachment
from makeready.storage import Storage, UploadTicket, get_storage
from makeready.storage.keys import make_key, parse_key
from makeready.storage.verify import check_name, kind_rule, too_large, verify_upload


def clean_filename(filename: str) -> str:
    """The name people gave the file, without any path or control characters, at most 255 characters."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C"
    ).strip()
    if not base or base in {".", ".."}:
        raise ValidationFailed(_("The file needs a name."), field="filename")
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else base[:255]
    return base


async def start_upload(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    filename: str,
    kind: str,
    size: int | None = None,
    storage: Storage | None = None,
) -> UploadTicket:
    """Instructions for uploading one file of `kind` to the project, straight to storage."""
    project = await projects.get_project(session, project_id)
    await projects.require_writer(session, user=actor, org_id=project.org_id)
    await gates.check(gates.ORG_WRITE, session, org_id=project.org_id, actor=actor)
    rule = kind_rule(kind)
    name = clean_filename(filename)
    check_name(name, rule)
    if size is not None:
        if size <= 0:
            raise ValidationFailed(_("%(name)s is empty.") % {"name": name}, field="size")
        if size > rule.max_size:
            raise too_large(name, rule)
    storage = storage or get_storage()
    return await storage.presign_upload(make_key(project.org_id, rule.kind, name), max_size=rule.max_size)


KeyOwner = Callable[[AsyncSession, list[str]], Awaitable[set[str]]]
"""(session, keys) -> those of the keys that a domain's rows already point at (sample photo thumbnails...)."""

_KEY_OWNERS: list[KeyOwner] = []


def register_key_owner(owner: KeyOwner) -> None:
    """Domains above projects that store files under their own rows say so here (from the composition root)."""
    if owner not in _KEY_OWNERS:
        _KEY_OWNERS.append(owner)


async def keys_in_use(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """Which of these keys are stored files already (an attachment or another domain's file), not fresh uploads."""
    wanted = list(keys)
    if not wanted:
        return set()
    found = set(
        (await session.scalars(select(Attachment.object_key).where(Attachment.object_key.in_(wanted)))).all()
    )
    for owner in _KEY_OWNERS:
        found |= await owner(session, wanted)
    return found


async def complete_upload(
    session: AsyncSession,
    *,
    actor: User,
    project_id: int,
    key: str,
    original_name: str,
    storage: Storage | None = None,
) -> Attachment:
    """Verify the uploaded object and record it. On a refusal the object is deleted and nothing is written."""
    project = await projects.get_project(session, project_id)
    await projects.require_writer(session, user=actor, org_id=project.org_id)
    parsed = parse_key(key)
    if parsed is None or parsed.org_id != project.org_id or await keys_in_use(session, [key]):
        # another organization's upload, a key we never generated, or a file already stored (completing it
        # again would move it away from its record): the same answer for all
        raise NotFound(_("This upload does not exist or you do not have access to it."))
    name = clean_filename(original_name)
    storage = storage or get_storage()
    try:
        await gates.check(gates.ORG_WRITE, session, org_id=project.org_id, actor=actor)
    except PaymentRequired:
        await storage.delete(key)  # uploaded before the portal became read-only: no orphan object stays
        raise
    verified = await verify_upload(storage, key, kind=parsed.kind, name=name)
    attachment = Attachment(
        org_id=project.org_id,
        project_id=project.id,
        kind=parsed.kind,
        object_key=verified.key,
        original_name=name,
        size=verified.size,
        content_type=verified.content_type,
        checksum=verified.checksum,
        uploaded_by_id=actor.id,
    )
    try:
        session.add(attachment)
        await session.flush()
        await audit.record(
            session,
            actor_id=actor.id,
            action="attachment.added",
            subject_type="attachment",
            subject_id=attachment.id,
            org_id=project.org_id,
            project_id=project.id,
            after={
                "name": name,
                "kind": parsed.kind,
                "size": verified.size,
                "content_type": verified.content_type,
                "checksum": verified.checksum,
            },
        )
    except Exception as exc:
        # no row will point at the verified copy: remove it so no orphan object is left behind
        await storage.delete(verified.key)
        if isinstance(exc, IntegrityError):
            raise Conflict(_("This file was already added.")) from exc
        raise
    return attachment


async def list_files(
    session: AsyncSession, project_id: int, *, offset: int = 0, limit: int = 50
) -> tuple[list[Attachment], int]:
    """The project's files, newest first, and how many there are."""
    await projects.get_project(session, project_id)
    query = select(Attachment).where(Attachment.project_id == project_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Attachment.created_at.desc(), Attachment.id.desc()).offset(offset).limit(limit)
    )
    return list(rows.all()), total


async def get_file(session: AsyncSession, attachment_id: int) -> Attachment:
    attachment = await session.scalar(select(Attachment).where(Attachment.id == attachment_id))
    if attachment is None:
        raise NotFound(_("This file does not exist or you do not have access to it."))
    return attachment


async def download_url_for(
    session: AsyncSession, attachment_id: int, *, inline: bool = False, storage: Storage | None = None
) -> str:
    """A short-lived URL serving the file under its original name and sniffed type; NotFound across orgs."""
    attachment = await get_file(session, attachment_id)
    return (storage or get_storage()).download_url(
        attachment.object_key,
        filename=attachment.original_name,
        content_type=attachment.content_type,
        inline=inline,
    )
