"""Every status change goes through a machine (makeready.kernel.machine.perform).

Two guards. The first walks every mapped model's enum-typed columns: each is the column of a machine in
makeready.machines.MACHINES, or it is listed below with the reason it is not a lifecycle. The second reads the source
(with ast): a status, state or phase is assigned only inside a machine's effect or precondition, or in a place listed
below with its reason; a hand-set status anywhere else fails.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

import makeready.models  # noqa: F401  (every model mapped)
from makeready.db.base import Base
from makeready.machines import MACHINES

ROOT = Path(__file__).resolve().parent.parent

# Enum columns that no machine owns, each with its reason. Adding a lifecycle column means adding its machine.
NOT_LIFECYCLES: dict[tuple[str, str], str] = {
    # what a row is, not where it is in a lifecycle
    ("memberships", "role"): "a member's role",
    ("invitations", "role"): "the role an invitation grants",
    ("feasibility_checks", "area"): "which area a check is about",
    (
        "feasibility_checks",
        "verdict",
    ): "a coordinator's verdict on one check, edited freely while the review is open",
    ("milestones", "phase"): "the project phase a milestone belongs to",
    ("production_orders", "incoterm"): "the order's delivery term, edited until the order is sent",
    ("tooling_items", "kind"): "what a tooling item is (mold, jig, fixture, test rig)",
    ("budget_entries", "category"): "what a budget entry's cost is for, edited while the entry counts",
    ("budget_entries", "kind"): "whether a budget entry is quoted or actual, edited while the entry counts",
    (
        "projects",
        "held_from",
    ): "the phase a held project resumes to, written by the project machine's effects",
    # mirrors and caches of state kept elsewhere
    ("billing_accounts", "status"): (
        "derived from Stripe's subscriptions by one function, billing.service.recompute_standing, with its audit "
        "event (billing.status_changed)"
    ),
    ("subscriptions", "status"): "a copy of a Stripe subscription's status, as Stripe last reported it",
    ("invoices", "status"): "a copy of a Stripe invoice's status, as Stripe last reported it",
    ("stripe_events", "status"): (
        "the webhook inbox's processing record (received, processed, ignored, failed), written by the idempotent "
        "upsert that must work before the row exists"
    ),
    ("email_outbox", "status"): "the outbox's delivery record (pending, sent, failed)",
    ("spec_documents", "status"): "a cache of a revision's rendered PDF (pending, ready, failed)",
}

# Places that set a status by hand, each with its reason: (file, function) -> reason. "*" is the whole file.
HAND_SET: dict[tuple[str, str], str] = {
    (
        "makeready/billing/service.py",
        "recompute_standing",
    ): "the billing standing, derived from Stripe (see above)",
    ("makeready/billing/webhooks.py", "_process"): "the webhook inbox's processing record",
    ("makeready/billing/webhooks.py", "_record_failure"): "the webhook inbox's processing record (an upsert)",
    ("makeready/specs/documents.py", "request_pdf"): "the PDF cache row, asked for again",
    ("makeready/specs/documents.py", "render_pending"): "the PDF cache row, rendered or failed",
    (
        "makeready/specs/documents.py",
        "_record_failure",
    ): "the PDF cache row, failed at once when its render crashed",
    (
        "makeready/specs/content.py",
        "merge",
    ): "a translated text's review status inside the spec's JSON, not a column",
}

# The table each machine's rows live in (a machine names its subject, not its model).
TABLES = {
    "project": "projects",
    "milestone": "milestones",
    "sample_round": "sample_rounds",
    "change_request": "change_requests",
    "task": "tasks",
    "spec_revision": "spec_revisions",
    "quote": "quotes",
    "milestone_fee": "milestone_fees",
    "feasibility_review": "feasibility_reviews",
    "factory_link": "factory_links",
    "condition": "conditions",
    "production_order": "production_orders",
    "lot": "lots",
    "tooling": "tooling_items",
    "production_link": "production_links",
    "purchase_order": "purchase_orders",
    "free_issue": "free_issue_shipments",
    "inspection": "inspections",
    "quality_hold": "quality_holds",
    "corrective_action": "corrective_actions",
    "packing_list": "packing_lists",
    "shipment": "shipments",
    "revision_change": "revision_changes",
    "floor_deviation": "floor_deviations",
    "budget_entry": "budget_entries",
}
INSERTS = frozenset({"insert", "pg_insert", "sqlite_insert"})
"""A new row's first state is no transition: `insert(...).values(status=...)` is not a hand-set status."""

STATE_NAMES = frozenset({"status", "state", "phase", *(m.column for m in MACHINES)})
SOURCES = ("makeready", "portal", "backoffice")


def enum_columns() -> Iterator[tuple[type, sa.Column[object]]]:
    for mapper in Base.registry.mappers:
        for column in mapper.columns:
            if isinstance(column.type, sa.Enum):
                yield mapper.class_, column


def owner(model: type, column: sa.Column[object]) -> str | None:
    enum_class = getattr(column.type, "enum_class", None)
    for machine in MACHINES:
        if (
            TABLES[machine.name] == column.table.name
            and machine.column == column.key
            and machine.states is enum_class
        ):
            return machine.name
    return None


def test_every_enum_column_is_a_machines_or_is_excepted_with_a_reason() -> None:
    unowned = []
    owned = set()
    for model, column in enum_columns():
        key = (column.table.name, column.key)
        name = owner(model, column)
        if name is not None:
            owned.add(key)
            assert key not in NOT_LIFECYCLES, (
                f"{key} is owned by the {name} machine: take it off the exceptions"
            )
        elif key not in NOT_LIFECYCLES:
            unowned.append(f"{model.__name__}.{column.key} ({key[0]})")
    assert unowned == [], "enum columns that no machine owns and no exception explains: " + ", ".join(unowned)
    # the exceptions name real columns (a renamed column does not leave a stale excuse behind)
    existing = {(column.table.name, column.key) for _model, column in enum_columns()}
    assert set(NOT_LIFECYCLES) <= existing, set(NOT_LIFECYCLES) - existing
    # every machine owns a mapped column
    assert {m.name for m in MACHINES} == {
        owner(model, column) for model, column in enum_columns() if owner(model, column) is not None
    }
    assert len(owned) == len(MACHINES)


def test_machines_are_named_once_and_their_tables_are_sound() -> None:
    names = [m.name for m in MACHINES]
    assert len(names) == len(set(names)), names
    assert set(names) == set(TABLES)
    for machine in MACHINES:
        for final in machine.final:
            assert machine.allowed(final) == [], f"{machine.name}: {final} is final but has transitions"
        for transition in machine.transitions:
            assert transition.sources <= frozenset(machine.states), (machine.name, transition.action)
            assert transition.event, (machine.name, transition.action)


# -- the source ----------------------------------------------------------------------------------------------------


def _machine_callbacks(tree: ast.Module) -> set[str]:
    """Names of the functions a module hands to Transition(...) as effect= or precondition=."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("effect", "precondition") and isinstance(keyword.value, ast.Name):
                    names.add(keyword.value.id)
    return names


def _sets_state(node: ast.AST) -> str | None:
    """What a statement or call sets by hand: `x.status = ...`, `setattr(x, "status", ...)`, `.values(status=...)`
    on an UPDATE, or an upsert's `set_={"status": ...}`."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    for target in targets:
        for element in target.elts if isinstance(target, ast.Tuple) else [target]:
            if isinstance(element, ast.Attribute) and element.attr in STATE_NAMES:
                return f"{ast.unparse(element)} = ..."
    if isinstance(node, ast.Call):
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in STATE_NAMES
        ):
            return f"setattr(..., {node.args[1].value!r}, ...)"
        if isinstance(func, ast.Attribute) and func.attr == "values" and not _on_insert(func.value):
            for keyword in node.keywords:
                if keyword.arg in STATE_NAMES:
                    return f".values({keyword.arg}=...)"
        for keyword in node.keywords:  # an upsert's update: on_conflict_do_update(set_={"status": ...})
            if keyword.arg == "set_" and isinstance(keyword.value, ast.Dict):
                for key in keyword.value.keys:
                    if isinstance(key, ast.Constant) and key.value in STATE_NAMES:
                        return f"set_={{{key.value!r}: ...}}"
    return None


def _on_insert(node: ast.expr) -> bool:
    """Whether a chain of calls (`insert(Model).values(...)...`) starts from an INSERT."""
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                return node.func.id in INSERTS
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return False


def hand_set_states(path: Path, source: str) -> list[tuple[str, str, int, str]]:
    """(file, enclosing function, line, what) for every state set outside a machine's effect or precondition."""
    tree = ast.parse(source)
    callbacks = _machine_callbacks(tree)
    relative = path.relative_to(ROOT).as_posix()
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name if function == "<module>" else function)
                continue
            what = _sets_state(child)
            if what is not None and function not in callbacks:
                found.append((relative, function, getattr(child, "lineno", 0), what))
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_no_status_is_set_by_hand_outside_a_machine() -> None:
    offences = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for relative, function, line, what in hand_set_states(path, path.read_text(encoding="utf-8")):
                if (relative, function) in HAND_SET or (relative, "*") in HAND_SET:
                    continue
                offences.append(f"{relative}:{line} in {function}(): {what}")
    assert offences == [], "set a status through its machine (perform), not by hand:\n" + "\n".join(offences)


def test_the_exceptions_still_exist() -> None:
    """A listed place that no longer sets a status by hand is taken off the list."""
    seen = set()
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            for relative, function, _line, _what in hand_set_states(path, path.read_text(encoding="utf-8")):
                seen.add((relative, function))
                seen.add((relative, "*"))
    assert set(HAND_SET) <= seen, set(HAND_SET) - seen


def test_the_source_guard_catches_a_hand_set_status() -> None:
    """The guard itself: each way of setting a status by hand is found; the same line in an effect is not."""
    source = """
from sqlalchemy import insert, update

async def sneaky(session, quote):
    quote.status = "selected"
    setattr(quote, "state", "revoked")
    await session.execute(update(Quote).values(status="declined"))
    await session.execute(insert(Quote).values(status="requested"))  # a new row: allowed
    await session.execute(insert(Quote).values(id=1).on_conflict_do_update(set_={"status": "received"}))
    project.phase, other = "delivered", 1

async def _decided(ctx):
    ctx.obj.status = "approved"

MACHINE = Machine(transitions=(Transition("approve", effect=_decided),))
"""
    path = ROOT / "makeready" / "sneaky.py"
    found = hand_set_states(path, source)
    assert [(function, what) for _file, function, _line, what in found] == [
        ("sneaky", "quote.status = ..."),
        ("sneaky", "setattr(..., 'state', ...)"),
        ("sneaky", ".values(status=...)"),
        ("sneaky", "set_={'status': ...}"),
        ("sneaky", "project.phase = ..."),
    ]
