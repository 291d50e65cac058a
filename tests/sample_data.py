"""Arranging sample rounds, photos and change requests for the portal tests, through the services.

Photos are real images written to the configured storage with an Attachment row each, as a verified upload
leaves them; they have no stored thumbnail, so the gallery makes one on first use.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready.accounts.models import User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Attachment, Phase, Project
from makeready.samples.lifecycle import (
    decide_sample_round,
    mark_sample_in_production,
    mark_sample_received,
    mark_sample_shipped,
    request_sample_round,
)
from makeready.samples.models import SamplePhoto, SampleRound
from makeready.storage import Storage, get_storage
from makeready.storage.keys import make_key

PHOTO_SIZE = (1200, 800)


def jpeg(size: tuple[int, int] = PHOTO_SIZE, colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 50):  # some structure, so the encoder has work to do
        image.paste((40, 80, 160), (x, 0, x + 10, size[1]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def add_image(
    session: AsyncSession,
    *,
    project: Project,
    uploader: User,
    name: str = "photo.jpg",
    data: bytes | None = None,
    storage: Storage | None = None,
) -> Attachment:
    """An image in storage and its Attachment row, as a verified upload leaves them."""
    data = data if data is not None else jpeg()
    key = make_key(project.org_id, "image", name)
    await (storage or get_storage()).put(key, data, content_type="image/jpeg")
    attachment = Attachment(
        org_id=project.org_id,
        project_id=project.id,
        kind="image",
        object_key=key,
        original_name=name,
        size=len(data),
        content_type="image/jpeg",
        checksum=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=uploader.id,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def development_project(
    session: AsyncSession, *, owner: User, coordinator: User, org_id: int, name: str = "Arc Pendant"
) -> Project:
    """A project in development with a coordinator, ready for sample rounds."""
    project = await projects.create_project(session, actor=owner, org_id=org_id, data={"name": name})
    await session.execute(
        update(Project)
        .where(Project.id == project.id)
        .values(coordinator_id=coordinator.id, phase=Phase.development)
        .execution_options(synchronize_session="fetch")
    )
    await session.refresh(project)
    return project


async def sample_round(
    session: AsyncSession,
    *,
    project: Project,
    coordinator: User,
    photos: int = 2,
    notes: str = "Lid fits; check the seam.",
    received: bool = True,
    storage: Storage | None = None,
) -> SampleRound:
    """A round requested by the coordinator, with photos, moved on to received (or left requested)."""
    sample = await request_sample_round(session, actor=coordinator, project_id=project.id, notes=notes)
    for position in range(photos):
        attachment = await add_image(
            session,
            project=project,
            uploader=coordinator,
            name=f"round{sample.number}-{position + 1}-{uuid.uuid4().hex[:6]}.jpg",
            data=jpeg(colour=(60 * position % 255, 120, 40 * sample.number % 255)),
            storage=storage,
        )
        session.add(
            SamplePhoto(
                org_id=project.org_id,
                round_id=sample.id,
                attachment_id=attachment.id,
                caption=f"View {position + 1} of round {sample.number}",
                position=position,
            )
        )
    await session.flush()
    if received:
        await mark_sample_in_production(session, actor=coordinator, round_id=sample.id)
        await mark_sample_shipped(session, actor=coordinator, round_id=sample.id)
        await mark_sample_received(session, actor=coordinator, round_id=sample.id)
    return sample


@dataclass
class Arranged:
    project_id: int
    round_ids: list[int]
    photo_ids: dict[int, list[int]]
    """Photo ids per round id, in order."""


async def arrange(
    engine: AsyncEngine,
    *,
    owner: User,
    coordinator: User,
    org_id: int,
    name: str = "Arc Pendant",
    rounds: int = 2,
    photos: int = 2,
) -> Arranged:
    """A development project with `rounds` rounds: all but the last rejected by the brand, the last received."""
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            project = await development_project(
                session, owner=owner, coordinator=coordinator, org_id=org_id, name=name
            )
            made: list[SampleRound] = []
            for n in range(rounds):
                sample = await sample_round(session, project=project, coordinator=coordinator, photos=photos)
                made.append(sample)
                if n < rounds - 1:
                    await decide_sample_round(
                        session, actor=owner, round_id=sample.id, decision="reject", comment="Too dark."
                    )
            photo_ids: dict[int, list[int]] = {}
            for sample in made:
                ids = await session.scalars(
                    select(SamplePhoto.id)
                    .where(SamplePhoto.round_id == sample.id)
                    .order_by(SamplePhoto.position)
                )
                photo_ids[sample.id] = list(ids)
    return Arranged(project_id=project.id, round_ids=[s.id for s in made], photo_ids=photo_ids)
