"""Arrangements for the spec document and PDF tests (and the PDF benchmark): a filled revision with real photos."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.projects.models import Attachment, Phase, Project
from makeready.samples.models import SamplePhoto, SampleStatus
from makeready.specs.models import RevisionStatus, SpecRevision
from makeready.specs.service import canonical_hash
from makeready.storage import get_storage
from tests.workflow_support import People, make_project, make_round, system

ISSUED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def photo_jpeg(width: int = 1600, height: int = 1200, seed: int = 0) -> bytes:
    """A photo-like JPEG: a gradient, shapes and sensor noise, so it compresses like a real one."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test pictures, not secrets
    base = Image.linear_gradient("L").resize((width, height))
    tint = (rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200))
    image = Image.merge(
        "RGB",
        [base.point(lambda v, t=t: (v * t) // 255 + 30) for t in tint],
    )
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randint(0, width), rng.randint(0, height)
        r = rng.randint(20, 260)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(3))
    noise = Image.effect_noise((width, height), 18).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh, "status": "reviewed"}


def filled_content(photo_ids: list[int], *, rows: int = 3, extra_text: str = "") -> dict[str, Any]:
    """Every section filled; every text has a distinct English and Chinese value (e.g. "Part 2" / "零件二")."""
    zh_num = "一二三四五六七八九十"

    def n(i: int) -> str:
        return zh_num[i % 10] + (str(i // 10) if i >= 10 else "")

    return {
        "overview": {
            "product_name": t("Arc Pendant Lamp" + extra_text, "弧形吊灯" + extra_text),
            "summary": t("Aluminium pendant with a linen shade.", "铝制吊灯配亚麻灯罩。"),
            "intended_use": t("Indoor dining rooms.", "室内餐厅使用。"),
            "model_number": "AP-220",
        },
        "materials": [
            {
                "id": f"m{i}",
                "part": t(f"Shade part {i}", f"灯罩部件{n(i)}"),
                "material": t(f"Spun aluminium {i}", f"旋压铝{n(i)}"),
                "grade": "6061-T6",
                "supplier": "",
                "notes": t(f"Deburr edges {i}", f"边缘去毛刺{n(i)}"),
            }
            for i in range(rows)
        ],
        "dimensions": [
            {
                "id": f"d{i}",
                "feature": t(f"Shade height {i}", f"灯罩高度{n(i)}"),
                "value": f"{120 + i}.5",
                "unit": "mm",
                "tolerance_plus": "0.2",
                "tolerance_minus": "0.1",
            }
            for i in range(rows)
        ],
        "finishes": [
            {
                "id": f"f{i}",
                "part": t(f"Canopy {i}", f"吊盒{n(i)}"),
                "finish": t(f"Powder coat matte {i}", f"哑光喷粉{n(i)}"),
                "colour_system": "ral" if i % 2 else "pantone",
                "colour_code": "RAL 9005" if i % 2 else "PMS 432 C",
                "gloss": "30 GU",
            }
            for i in range(rows)
        ],
        "bom": [
            {
                "id": f"b{i}",
                "part": t(f"Screw M3 {i}", f"螺丝M3规格{n(i)}"),
                "material": t(f"Stainless steel {i}", f"不锈钢{n(i)}"),
                "quantity": str(4 + i),
                "unit": "pcs",
                "supplied_by": "factory",
            }
            for i in range(rows)
        ],
        "assembly": [
            {"id": f"a{i}", "text": t(f"Fit the socket step {i}", f"安装灯座步骤{n(i)}")} for i in range(rows)
        ],
        "packaging": [
            {
                "id": f"p{i}",
                "kind": "label" if i % 2 else "packaging",
                "item": t(f"Carton box {i}", f"纸箱{n(i)}"),
                "details": t(f"Double wall K=K {i}", f"双瓦楞纸板{n(i)}"),
            }
            for i in range(rows)
        ],
        "quality": {
            "inspection_level": "II",
            "aql_critical": "0",
            "aql_major": "2.5",
            "aql_minor": "4.0",
            "points": [
                {
                    "id": f"q{i}",
                    "point": t(f"No scratches {i}", f"无划痕{n(i)}"),
                    "method": t(f"Visual at 60 cm {i}", f"六十厘米目视{n(i)}"),
                    "defect_class": ("critical", "major", "minor")[i % 3],
                }
                for i in range(rows)
            ],
        },
        "figures": [
            {
                "id": f"g{i}",
                "source": "sample_photo",
                "ref_id": photo_id,
                "caption": t(f"Sample photo {i}", f"样品照片{n(i)}"),
                "callouts": [
                    {
                        "id": f"c{i}x{j}",
                        "marker": str(j + 1),
                        "text": t(f"Seam line {i}.{j}", f"接缝线{n(i)}{n(j)}"),
                    }
                    for j in range(2)
                ],
            }
            for i, photo_id in enumerate(photo_ids)
        ],
        "change_summary": t("Shade height raised.", "灯罩高度增加。"),
    }


@dataclass
class Arranged:
    project: Project
    revision: SpecRevision
    earlier: SpecRevision
    photos: list[SamplePhoto]


async def arrange_revision(
    engine: AsyncEngine,
    people: People,
    *,
    photos: int = 2,
    rows: int = 3,
    content: dict[str, Any] | None = None,
    photo_size: tuple[int, int] = (800, 600),
    adjust: Callable[[dict[str, Any]], None] | None = None,
) -> Arranged:
    """A development project with an issued Rev A (superseded) and an issued Rev B holding `content` (or the
    filled content, changed by `adjust`) whose figures are real JPEGs in storage."""
    project = await make_project(engine, people, phase=Phase.development)
    _round, made = await make_round(engine, project, status=SampleStatus.approved, photos=photos)
    storage = get_storage()
    async with system(engine) as session:
        for index, photo in enumerate(made):
            attachment = await session.get_one(Attachment, photo.attachment_id)
            await storage.put(
                attachment.object_key, photo_jpeg(*photo_size, seed=index), content_type="image/jpeg"
            )
        earlier = SpecRevision(
            org_id=project.org_id,
            project_id=project.id,
            number=1,
            status=RevisionStatus.superseded,
            content={"change_summary": t("First issue.", "首次发布。")},
            issued_at=datetime(2026, 10, 1, tzinfo=UTC),
            # issued revisions carry their content's hash, fixed at issue (specs.service._issued)
            content_hash=canonical_hash({"change_summary": t("First issue.", "首次发布。")}),
        )
        if content is None:
            content = filled_content([p.id for p in made], rows=rows)
        if adjust is not None:
            adjust(content)
        revision = SpecRevision(
            org_id=project.org_id,
            project_id=project.id,
            number=2,
            status=RevisionStatus.issued,
            content=content,
            issued_at=ISSUED_AT,
            content_hash=canonical_hash(content),
        )
        session.add_all([earlier, revision])
        await session.flush()
    return Arranged(project, revision, earlier, made)
