"""Every state machine of the application, in one list (tests/test_state_columns.py holds every lifecycle column to
it). The workflow's own machines are in makeready.workflow; the others live with their domain, which imports the
engine, so they are collected here rather than in makeready.workflow (that would import in a circle).
"""

from __future__ import annotations

from typing import Any

from makeready.billing.fees import MILESTONE_FEE
from makeready.factory_links import FACTORY_LINK
from makeready.feasibility.review import FEASIBILITY_REVIEW
from makeready.specs.service import SPEC_REVISION
from makeready.suppliers.quotes import QUOTE
from makeready.workflow import MACHINES as WORKFLOW_MACHINES
from makeready.workflow.machine import Machine

MACHINES: tuple[Machine[Any], ...] = (
    *WORKFLOW_MACHINES,
    SPEC_REVISION,
    QUOTE,
    MILESTONE_FEE,
    FEASIBILITY_REVIEW,
    FACTORY_LINK,
)
