"""Billing in the back office: what its tables refuse, and why.

Plans are the agency's to configure (admins); accounts, subscriptions, invoices and webhook events are Stripe's
record, written only by webhooks and the fee job; fees change through the forms under “Billing” (attach, cancel,
retry), which call makeready.billing.fees and write their audit events.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

PLANS_ADMINS_ONLY = (
    "Only agency admins can change plans: their Stripe price decides what clients are charged."
)
PLAN_DELETE_REFUSED = (
    "Subscriptions refer to this plan, and their history must stay readable: stop offering it instead "
    "(untick is_active)."
)
STRIPE_RECORD = (
    "This is Makeready's copy of what Stripe says, kept by Stripe's webhooks: change the subscription or the "
    "invoice in Stripe (its dashboard or the customer portal) and the change arrives here."
)
FEES_BY_FORM = (
    "Milestone fees are attached, canceled and retried with the forms under “Billing” (“Attach a milestone fee”, "
    "“Cancel a milestone fee”, “Retry invoicing a fee”), which record who did it and invoice the fee through Stripe."
)
EVENTS_AS_RECEIVED = (
    "Stripe events are kept exactly as they arrived. A failed one is applied again with the form "
    "“Re-process a Stripe event”."
)
MILESTONE_DELETE_REFUSED = "Fees are attached to this milestone: cancel them first (form “Cancel a milestone fee”), or keep the milestone."


async def _count(piccolo_crud: Any, sql: str, row_id: int) -> int:
    rows = await piccolo_crud.table.raw(sql, row_id).run()
    return int(rows[0]["n"]) if rows else 0


def _row_id(request: Any) -> int | None:
    try:
        return int(request.path_params.get("row_id"))
    except (TypeError, ValueError):
        return None


async def refuse_plan_delete(piccolo_crud: Any, request: Any) -> None:
    """DELETE /admin/api/tables/billing_plans/<id>/: a plan that subscriptions refer to stays."""
    row_id = _row_id(request)
    if row_id is None:
        return
    if await _count(piccolo_crud, "SELECT COUNT(*) AS n FROM subscriptions WHERE plan_id = {}", row_id):
        raise HTTPException(status_code=409, detail=PLAN_DELETE_REFUSED)


async def refuse_milestone_delete_with_fees(piccolo_crud: Any, request: Any) -> None:
    """DELETE /admin/api/tables/milestones/<id>/: a milestone with fees keeps them (the database refuses too)."""
    row_id = _row_id(request)
    if row_id is None:
        return
    if await _count(piccolo_crud, "SELECT COUNT(*) AS n FROM milestone_fees WHERE milestone_id = {}", row_id):
        raise HTTPException(status_code=409, detail=MILESTONE_DELETE_REFUSED)
