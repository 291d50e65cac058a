"""Feasibility services: the review a coordinator completes before development, and what the brand sees of it.

Every function takes a session whose tenancy scope is already set and keyword-only arguments. The work is split by
what it does; the pages and the workflow reach it all here:

- makeready.feasibility.costs: the cost model of a production approach (pure arithmetic);
- makeready.feasibility.common: reading a review, cleaning form input, the write guards;
- makeready.feasibility.workspace: the coordinator's edits (checks, approaches, risks, summary);
- makeready.feasibility.review: the review's lifecycle machine (complete, reopen) and the gate's question;
- makeready.feasibility.summary: what the brand sees.
"""

from makeready.feasibility.common import (
    HIGH_RISK,
    _touch,
    get_review,
    missing_for_completion,
    ordered_checks,
    ordered_risks,
    review_complete,
    staff_users,
)
from makeready.feasibility.costs import (
    STANDARD_QUANTITIES,
    BreakEven,
    CostRow,
    CostTable,
    break_even,
    comparison_quantities,
    cost_per_unit,
    cost_table,
    log_space,
    pairs,
)
from makeready.feasibility.review import FEASIBILITY_REVIEW, complete_review, reopen_review
from makeready.feasibility.summary import AreaVerdict, BrandSummary, area_verdicts, brand_summary
from makeready.feasibility.workspace import (
    close_risk,
    get_or_start_review,
    move_check,
    recommend_approach,
    remove_approach,
    remove_check,
    save_approach,
    save_check,
    save_risk,
    save_summary,
)

__all__ = [
    "FEASIBILITY_REVIEW",
    "HIGH_RISK",
    "STANDARD_QUANTITIES",
    "AreaVerdict",
    "BrandSummary",
    "BreakEven",
    "CostRow",
    "CostTable",
    "_touch",
    "area_verdicts",
    "brand_summary",
    "break_even",
    "close_risk",
    "comparison_quantities",
    "complete_review",
    "cost_per_unit",
    "cost_table",
    "get_or_start_review",
    "get_review",
    "log_space",
    "missing_for_completion",
    "move_check",
    "ordered_checks",
    "ordered_risks",
    "pairs",
    "recommend_approach",
    "remove_approach",
    "remove_check",
    "reopen_review",
    "review_complete",
    "save_approach",
    "save_check",
    "save_risk",
    "save_summary",
    "staff_users",
]
