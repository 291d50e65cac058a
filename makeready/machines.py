"""Every state machine of the application: importing this module declares them all.

Each machine registers itself in `makeready.kernel.machine.MACHINES` when its module is imported; this module imports
every module that declares one, so the composition root and tests/test_state_columns.py see all of them.
"""

from __future__ import annotations

from typing import Any

from makeready.billing import fees as _fees
from makeready.budget import entries as _budget_entries
from makeready.changes import lifecycle as _changes
from makeready.conditions import service as _conditions
from makeready.factory_links import links as _factory_links
from makeready.feasibility import review as _feasibility
from makeready.kernel.machine import MACHINES as REGISTRY
from makeready.kernel.machine import Machine
from makeready.materials import supply as _materials_supply
from makeready.production import links as _production_links
from makeready.production import lots as _lots
from makeready.production import orders as _orders
from makeready.production import tooling as _tooling
from makeready.projects import milestones as _milestones
from makeready.projects import tasks as _tasks
from makeready.quality import actions as _quality_actions
from makeready.quality import holds as _quality_holds
from makeready.quality import inspections as _inspections
from makeready.samples import lifecycle as _samples
from makeready.shipping import changes as _shipping_changes
from makeready.shipping import packing as _packing
from makeready.shipping import shipments as _shipments
from makeready.specs import service as _specs
from makeready.suppliers import quotes as _quotes
from makeready.workflow import projects as _projects

DECLARING_MODULES = (
    _projects,
    _milestones,
    _tasks,
    _samples,
    _changes,
    _specs,
    _quotes,
    _fees,
    _feasibility,
    _factory_links,
    _conditions,
    _orders,
    _lots,
    _tooling,
    _production_links,
    _materials_supply,
    _inspections,
    _quality_holds,
    _quality_actions,
    _packing,
    _shipments,
    _shipping_changes,
    _budget_entries,
)
"""The modules whose import declares a machine (one per lifecycle's home)."""

MACHINES: tuple[Machine[Any], ...] = tuple(REGISTRY.values())
