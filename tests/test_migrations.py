"""The schema comes from the Alembic migrations, and they match the models on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from makeready.db.migrate import alembic_config
from makeready.models import Base


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], (
        "the models differ from the migrated schema; add a revision: "
        "alembic -c makeready/alembic.ini revision --autogenerate -m '...'\n" + "\n".join(map(str, changes))
    )


def test_migrations_form_one_line_with_dated_files() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "several Alembic heads: merge them"
    for revision in script.walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:8].isdigit(), f"{name} should start with its date (YYYYMMDD)"
