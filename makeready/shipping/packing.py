"""Packing lists: the factory submits one per lot through its production link; a coordinator accepts or returns it.

draft -> submitted (the factory) -> accepted (a coordinator; a lot released for packing becomes packed) | returned
(with a reason; the factory corrects it and submits again). The carton ranges are checked as numbers (whole
cartons and units, no overlapping ranges, positive dimensions and weights, gross never below net), then against
the lot (packed units = its quantity), the spec (units per carton, when the spec's packaging says it) and the final
inspection's carton count (when the quality package records one: `register_carton_count`). Differences are kept
on the list and need the factory's reason before it is accepted for submission.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from makeready.accounts.models import User
from makeready.audit import service as audit
from makeready.errors import Conflict, ValidationFailed
from makeready.i18n import N_, _, label
from makeready.kernel.machine import Context, Machine, Role, Transition, perform, states
from makeready.production.common import text_of, whole_units
from makeready.production.lots import move_lot
from makeready.production.models import Lot, LotStatus, ProductionOrder, ProductionPhoto
from makeready.projects.models import Attachment
from makeready.samples.photos import make_thumbnail, thumbnail_name
from makeready.shipping.common import STAFF_ONLY, load_packing_list, positive_decimal
from makeready.shipping.models import PackingList, PackingStatus
from makeready.specs.content import parse as parse_content
from makeready.specs.models import SpecRevision
from makeready.storage import Storage, get_storage
from makeready.storage.base import UploadRejected
from makeready.storage.keys import make_key
from makeready.storage.verify import KIND_RULES, verify_upload

PHOTO_SUBJECT = "packing_list"
PHOTO_KINDS = {"carton": N_("Packed carton"), "label": N_("Carton label")}
MAX_ROWS = 200
MAX_CARTONS = 100_000
MAX_UNITS_PER_CARTON = 100_000
NAME_LIMIT = 200
PACKABLE = frozenset(LotStatus) - states(
    LotStatus.planned, LotStatus.cancelled, LotStatus.packed, LotStatus.shipped, LotStatus.delivered
)
EDITABLE = frozenset({PackingStatus.draft, PackingStatus.returned})
ROW_FIELDS = ("first", "last", "units_per_carton", "length_cm", "width_cm", "height_cm", "net_kg", "gross_kg")

CartonCount = Callable[[AsyncSession, Lot], Awaitable[int | None]]
_carton_counts: list[CartonCount] = []


def register_carton_count(lookup: CartonCount) -> None:
    """The quality package's final inspection may count the lot's cartons; the composition registers it here."""
    if lookup not in _carton_counts:
        _carton_counts.append(lookup)


async def inspected_cartons(session: AsyncSession, lot: Lot) -> int | None:
    for lookup in _carton_counts:
        found = await lookup(session, lot)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------------------------
# The machine


async def _accepted(ctx: Context[PackingList]) -> None:
    ctx.obj.accepted_by_id = ctx.actor.id if ctx.actor is not None else None
    lot = await ctx.session.get(Lot, ctx.obj.lot_id)
    assert lot is not None
    if lot.status == LotStatus.released:
        await move_lot(ctx.session, lot, "pack", actor=ctx.actor)
        ctx.after["lot"] = LotStatus.packed


async def _returned(ctx: Context[PackingList]) -> None:
    ctx.obj.return_reason = str(ctx.inputs["reason"]).strip()


PACKING_LIST: Machine[PackingStatus] = Machine(
    name="packing_list",
    subject=N_("packing list"),
    states=PackingStatus,
    column="status",
    transitions=(
        Transition(
            "submit",
            states(PackingStatus.draft, PackingStatus.returned),
            PackingStatus.submitted,
            frozenset({Role.SYSTEM, Role.STAFF}),
            "packing_list.submitted",
            wrong_state=N_("This packing list is %(state)s: it cannot be submitted again now."),
            forbidden=STAFF_ONLY,
            stamp="submitted_at",
        ),
        Transition(
            "accept",
            states(PackingStatus.submitted),
            PackingStatus.accepted,
            frozenset({Role.STAFF}),
            "packing_list.accepted",
            wrong_state=N_("Only a submitted packing list can be accepted; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="accepted_at",
            effect=_accepted,
        ),
        Transition(
            "return",
            states(PackingStatus.submitted),
            PackingStatus.returned,
            frozenset({Role.STAFF}),
            "packing_list.returned",
            wrong_state=N_("Only a submitted packing list can be returned; this one is %(state)s."),
            forbidden=STAFF_ONLY,
            stamp="returned_at",
            requires=("reason",),
            effect=_returned,
        ),
    ),
)


# --------------------------------------------------------------------------------------------------------------
# Checking the numbers


@dataclass(frozen=True)
class Totals:
    cartons: int
    units: int
    net_kg: Decimal
    gross_kg: Decimal
    volume_m3: Decimal


def check_rows(raw_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole carton numbers and units, positive dimensions and weights, gross not below net, no overlapping ranges.
    Rows left entirely blank are dropped; at least one row remains."""
    rows: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_rows):
        if all(str(raw.get(name) or "").strip() == "" for name in ROW_FIELDS):
            continue
        at = f"rows.{index}"
        first = whole_units(raw.get("first"), field=f"{at}.first", maximum=MAX_CARTONS)
        last = whole_units(raw.get("last"), field=f"{at}.last", maximum=MAX_CARTONS)
        if last < first:
            raise ValidationFailed(
                _("Cartons %(first)s to %(last)s: the last carton number is below the first.")
                % {"first": first, "last": last},
                field=f"{at}.last",
            )
        per = whole_units(
            raw.get("units_per_carton"), field=f"{at}.units_per_carton", maximum=MAX_UNITS_PER_CARTON
        )
        dims = {
            name: positive_decimal(raw.get(name), field=f"{at}.{name}", places="0.1", maximum=Decimal("1000"))
            for name in ("length_cm", "width_cm", "height_cm")
        }
        net = positive_decimal(raw.get("net_kg"), field=f"{at}.net_kg", maximum=Decimal("10000"))
        gross = positive_decimal(raw.get("gross_kg"), field=f"{at}.gross_kg", maximum=Decimal("10000"))
        if gross < net:
            raise ValidationFailed(
                _(
                    "Cartons %(first)s to %(last)s: the gross weight (%(gross)s kg) is below the net weight (%(net)s kg)."
                )
                % {"first": first, "last": last, "gross": gross, "net": net},
                field=f"{at}.gross_kg",
            )
        rows.append(
            {
                "first": first,
                "last": last,
                "units_per_carton": per,
                **{name: str(value) for name, value in dims.items()},
                "net_kg": str(net),
                "gross_kg": str(gross),
            }
        )
    if not rows:
        raise ValidationFailed(_("Enter at least one carton range."), field="rows")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(
            _("A packing list has at most %(limit)s rows.") % {"limit": MAX_ROWS}, field="rows"
        )
    ordered = sorted(rows, key=lambda r: (r["first"], r["last"]))
    for before, after in itertools.pairwise(ordered):
        if after["first"] <= before["last"]:
            raise ValidationFailed(
                _(
                    "Cartons %(a_first)s to %(a_last)s and %(b_first)s to %(b_last)s overlap: a carton number is used once."
                )
                % {
                    "a_first": before["first"],
                    "a_last": before["last"],
                    "b_first": after["first"],
                    "b_last": after["last"],
                },
                field="rows",
            )
    return ordered


def totals_of(rows: Sequence[dict[str, Any]]) -> Totals:
    cartons = units = 0
    net = gross = volume = Decimal("0")
    for row in rows:
        count = int(row["last"]) - int(row["first"]) + 1
        cartons += count
        units += count * int(row["units_per_carton"])
        net += count * Decimal(row["net_kg"])
        gross += count * Decimal(row["gross_kg"])
        volume += (
            count
            * Decimal(row["length_cm"])
            * Decimal(row["width_cm"])
            * Decimal(row["height_cm"])
            / Decimal(10**6)
        )
    return Totals(cartons, units, net, gross, volume.quantize(Decimal("0.0001")))


def spec_units_per_carton(revision: SpecRevision) -> int | None:
    """The units per master carton the spec's packaging gives, if one of its rows says it."""
    try:
        content = parse_content(revision.content)
    except ValueError:
        return None
    for item in content.packaging:
        if item.units_per_carton:
            return item.units_per_carton
    return None


def differences(
    rows: Sequence[dict[str, Any]], totals: Totals, *, lot: Lot, per_carton: int | None, inspected: int | None
) -> list[dict[str, Any]]:
    """What differs from what was expected, as (msgid, values) pairs kept on the list and shown translated."""
    found: list[dict[str, Any]] = []
    if totals.units != lot.quantity:
        found.append(
            {
                "msgid": N_("%(units)s units are packed; the lot has %(quantity)s."),
                "values": {"units": totals.units, "quantity": lot.quantity},
            }
        )
    if per_carton is not None:
        odd = [r for r in rows[:-1] if int(r["units_per_carton"]) != per_carton]
        last = rows[-1]
        # the last carton may hold the remainder; a whole range of odd cartons is a difference
        if int(last["units_per_carton"]) > per_carton or (
            int(last["units_per_carton"]) != per_carton and int(last["last"]) > int(last["first"])
        ):
            odd.append(last)
        for row in odd:
            found.append(
                {
                    "msgid": N_(
                        "Cartons %(first)s to %(last)s hold %(units)s units; the spec says %(spec)s per carton."
                    ),
                    "values": {
                        "first": row["first"],
                        "last": row["last"],
                        "units": row["units_per_carton"],
                        "spec": per_carton,
                    },
                }
            )
    numbers = [(int(r["first"]), int(r["last"])) for r in rows]
    expected_next = 1
    for first_number, last_number in numbers:
        if first_number != expected_next:
            found.append(
                {
                    "msgid": N_("Carton numbers %(first)s to %(last)s are missing."),
                    "values": {"first": expected_next, "last": first_number - 1},
                }
            )
        expected_next = last_number + 1
    if inspected is not None and inspected != totals.cartons:
        found.append(
            {
                "msgid": N_("%(cartons)s cartons are listed; the final inspection counted %(inspected)s."),
                "values": {"cartons": totals.cartons, "inspected": inspected},
            }
        )
    return found


def difference_text(item: dict[str, Any]) -> str:
    """One stored difference in the reader's language."""
    return _(str(item.get("msgid", ""))) % dict(item.get("values") or {})


# --------------------------------------------------------------------------------------------------------------
# Photos through the link (the factory has no account: its form posts the image bytes, verified like any upload)


@dataclass(frozen=True)
class PhotoFile:
    kind: str
    """carton or label."""
    filename: str
    data: bytes


async def _store_photo(
    session: AsyncSession,
    storage: Storage,
    order: ProductionOrder,
    packing: PackingList,
    photo: PhotoFile,
    written: list[str],
) -> ProductionPhoto:
    rule = KIND_RULES["image"]
    name = (photo.filename or f"{photo.kind}.jpg").strip()[:200] or f"{photo.kind}.jpg"
    if len(photo.data) > rule.max_size:
        raise UploadRejected(_("%(name)s is too large.") % {"name": name}, field=f"photo_{photo.kind}")
    raw_key = make_key(order.org_id, "image", name)
    await storage.put(raw_key, photo.data, content_type="application/octet-stream")
    written.append(raw_key)
    verified = await verify_upload(storage, raw_key, kind="image", name=name)
    written.append(verified.key)
    attachment = Attachment(
        org_id=order.org_id,
        project_id=order.project_id,
        kind="image",
        object_key=verified.key,
        original_name=name,
        size=verified.size,
        content_type=verified.content_type,
        checksum=verified.checksum,
        uploaded_by_id=None,
    )
    session.add(attachment)
    await session.flush()
    data = await storage.read(verified.key, max_bytes=rule.max_size)
    thumbnail = await anyio.to_thread.run_sync(make_thumbnail, data)
    thumbnail_key = make_key(order.org_id, "image", thumbnail_name(name))
    await storage.put(thumbnail_key, thumbnail, content_type="image/jpeg")
    written.append(thumbnail_key)
    row = ProductionPhoto(
        org_id=order.org_id,
        order_id=order.id,
        subject_type=PHOTO_SUBJECT,
        subject_id=packing.id,
        attachment_id=attachment.id,
        thumbnail_key=thumbnail_key,
        caption=photo.kind,
    )
    session.add(row)
    await session.flush()
    return row


async def photos_of(session: AsyncSession, packing_ids: Sequence[int]) -> dict[int, list[ProductionPhoto]]:
    if not packing_ids:
        return {}
    rows = await session.scalars(
        select(ProductionPhoto)
        .where(
            ProductionPhoto.subject_type == PHOTO_SUBJECT, ProductionPhoto.subject_id.in_(list(packing_ids))
        )
        .options(joinedload(ProductionPhoto.attachment))
        .order_by(ProductionPhoto.id)
    )
    out: dict[int, list[ProductionPhoto]] = {}
    for photo in rows.all():
        out.setdefault(photo.subject_id, []).append(photo)
    return out


# --------------------------------------------------------------------------------------------------------------
# Services


async def packing_list_of(session: AsyncSession, lot_id: int) -> PackingList | None:
    return await session.scalar(select(PackingList).where(PackingList.lot_id == lot_id))


async def packing_lists_of_order(session: AsyncSession, order_id: int) -> dict[int, PackingList]:
    rows = await session.scalars(select(PackingList).where(PackingList.order_id == order_id))
    return {p.lot_id: p for p in rows.all()}


async def submit_packing_list(
    session: AsyncSession,
    *,
    order: ProductionOrder,
    lot_id: int,
    rows: Sequence[dict[str, Any]],
    marks: str,
    name: str,
    difference_reason: str = "",
    photos: Sequence[PhotoFile] = (),
    actor: User | None = None,
    storage: Storage | None = None,
) -> PackingList:
    """The factory's packing list of one lot of its order (actor None: through the link). All or nothing: a refusal
    leaves no row and no stored photo."""
    lot = await session.scalar(select(Lot).where(Lot.id == lot_id, Lot.order_id == order.id))
    if lot is None:
        raise ValidationFailed(_("This lot is not part of the order."), field="lot")
    if lot.status not in PACKABLE:
        raise Conflict(
            _("A packing list is submitted for a produced lot before it ships; lot %(number)s is %(state)s.")
            % {"number": lot.number, "state": label(lot.status)},
            current_state=lot.status.value,
        )
    clean = check_rows(rows)
    marks = text_of(marks, field="marks", required=True)
    name = text_of(name, field="name", limit=NAME_LIMIT, required=True)
    reason = text_of(difference_reason, field="difference_reason")
    totals = totals_of(clean)
    revision = await session.get(SpecRevision, lot.revision_id)
    assert revision is not None
    found = differences(
        clean,
        totals,
        lot=lot,
        per_carton=spec_units_per_carton(revision),
        inspected=await inspected_cartons(session, lot),
    )
    if found and not reason:
        raise ValidationFailed(
            _("The packing list differs from what was expected: %(differences)s Give the reason.")
            % {"differences": " ".join(difference_text(d) for d in found)},
            field="difference_reason",
        )
    packing = await packing_list_of(session, lot.id)
    if packing is None:
        packing = PackingList(
            org_id=lot.org_id,
            lot_id=lot.id,
            order_id=order.id,
            project_id=lot.project_id,
            status=PackingStatus.draft,
        )
        session.add(packing)
        await session.flush()
    elif packing.status not in (PackingStatus.draft, PackingStatus.returned):
        raise Conflict(
            _("The packing list of lot %(number)s is %(state)s: it cannot be changed now.")
            % {"number": lot.number, "state": label(packing.status)},
            current_state=packing.status.value,
        )
    storage = storage or get_storage()
    written: list[str] = []
    try:
        for photo in photos:
            if photo.kind not in PHOTO_KINDS:
                raise ValidationFailed(_("Unknown kind of photo."), field="photos")
            await _store_photo(session, storage, order, packing, photo, written)
        have = {p.caption for p in (await photos_of(session, [packing.id])).get(packing.id, [])}
        lacking = [kind for kind in PHOTO_KINDS if kind not in have]
        if lacking:
            raise ValidationFailed(
                _("Add a photo of: %(photos)s.") % {"photos": ", ".join(_(PHOTO_KINDS[k]) for k in lacking)},
                field=f"photo_{lacking[0]}",
            )
        packing.rows = clean
        packing.marks = marks
        packing.submitted_name = name
        packing.difference_reason = reason
        packing.differences = found
        packing.total_cartons = totals.cartons
        packing.total_units = totals.units
        packing.total_net_kg = totals.net_kg
        packing.total_gross_kg = totals.gross_kg
        packing.total_volume_m3 = totals.volume_m3
        await perform(
            session,
            PACKING_LIST,
            packing,
            "submit",
            actor=actor,
            org_id=packing.org_id,
            project_id=packing.project_id,
            inputs={"note": reason},
            reason=reason,
        )
        await audit.record(
            session,
            actor_id=actor.id if actor is not None else None,
            action="packing_list.contents",
            subject_type="packing_list",
            subject_id=packing.id,
            org_id=packing.org_id,
            project_id=packing.project_id,
            after={
                "lot": lot.number,
                "by": name,
                "cartons": totals.cartons,
                "units": totals.units,
                "net_kg": str(totals.net_kg),
                "gross_kg": str(totals.gross_kg),
                "differences": [difference_text(d) for d in found],
            },
        )
    except BaseException:
        for key in written:
            await storage.delete(key)
        raise
    return packing


async def accept_packing_list(
    session: AsyncSession, *, actor: User, packing_id: int, expected_version: int | None = None
) -> PackingList:
    packing = await _load(session, packing_id)
    await perform(
        session,
        PACKING_LIST,
        packing,
        "accept",
        actor=actor,
        org_id=packing.org_id,
        project_id=packing.project_id,
        expected_version=expected_version,
    )
    return packing


async def return_packing_list(
    session: AsyncSession, *, actor: User, packing_id: int, reason: str, expected_version: int | None = None
) -> PackingList:
    packing = await _load(session, packing_id)
    await perform(
        session,
        PACKING_LIST,
        packing,
        "return",
        actor=actor,
        org_id=packing.org_id,
        project_id=packing.project_id,
        inputs={"reason": text_of(reason, field="reason")},
        expected_version=expected_version,
    )
    return packing


async def _load(session: AsyncSession, packing_id: int) -> PackingList:
    return await load_packing_list(session, packing_id)


async def submitted_count(session: AsyncSession) -> int:
    """Packing lists waiting for a coordinator (for the list page's heading)."""
    return int(
        await session.scalar(
            select(func.count(PackingList.id)).where(PackingList.status == PackingStatus.submitted)
        )
        or 0
    )
