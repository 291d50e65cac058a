"""Where things are on the web, for the core: the paths notifications, emails, Stripe and factory links point to.

The web layers (portal/, backoffice/) own the routes; when one moves, this is the one place in the core that follows
it. Pure functions of ids and tokens, no HTTP: a full URL is the site's base URL (settings.app.base_url) plus a path.
"""

from __future__ import annotations

from urllib.parse import urlencode


def _with_query(path: str, **params: str | int | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def project(project_id: int) -> str:
    """A brand's (and the coordinator's read-only) page of one project."""
    return f"/projects/{project_id}"


def change_request(project_id: int, change_id: int) -> str:
    return f"{project(project_id)}/changes/{change_id}"


def spec(project_id: int, *, staff: bool) -> str:
    """The project's spec: the coordinator's workspace for staff, the brand's reading page otherwise."""
    return f"{coordinator_project(project_id)}/spec" if staff else f"{project(project_id)}/spec"


def coordinator_project(project_id: int) -> str:
    """The coordinator's page of one project."""
    return f"/coordinator/projects/{project_id}"


def factory_links(project_id: int) -> str:
    """The coordinator's page of a project's factory links."""
    return f"{coordinator_project(project_id)}/factory-links"


def coordinator_production(project_id: int) -> str:
    """The coordinator's page of a project's production orders."""
    return f"{coordinator_project(project_id)}/production"


def production_order(project_id: int, order_id: int) -> str:
    """The coordinator's page of one production order."""
    return f"{coordinator_production(project_id)}/{order_id}"


def production_schedule() -> str:
    """The master production schedule: planned and reported output per factory and order, week by week."""
    return "/coordinator/production/schedule"


def production_board() -> str:
    """The live production board: a job card per lot."""
    return "/coordinator/production/board"


def factory_link(token: str) -> str:
    """What a factory opens: the token is the credential, so this path is only ever sent, never stored."""
    return f"/f/{token}"


def production_link(token: str) -> str:
    """What a factory opens for its production order (the token is the credential, never stored)."""
    return f"/p/{token}"


def production(project_id: int) -> str:
    """The brand's page of a project's production orders and lots."""
    return f"{project(project_id)}/production"


def invitation(token: str) -> str:
    return f"/invitations/{token}"


def billing(org_id: int, *, checkout: str = "") -> str:
    """An organization's billing page; `checkout` says how a Stripe checkout ended (done)."""
    return _with_query("/billing", org=org_id, checkout=checkout)


def pricing(org_id: int, *, checkout: str = "") -> str:
    """The plans, for an organization; `checkout` says how a Stripe checkout ended (canceled)."""
    return _with_query("/pricing", org=org_id, checkout=checkout)


def order_materials(order_id: int) -> str:
    """The coordinator's materials page of a production order."""
    return f"/coordinator/orders/{order_id}/materials"


def brand_order_materials(order_id: int) -> str:
    """The brand's materials page of a production order (readiness and shortages, no agency costs)."""
    return f"/orders/{order_id}/materials"


def factory_materials(token: str) -> str:
    """The factory's "in house" form for its own materials, under its production link."""
    return f"/p/{token}/materials"


def inspection(inspection_id: int) -> str:
    """The coordinator's (and inspector's) page of one inspection."""
    return f"/coordinator/inspections/{inspection_id}"


def inspection_review(project_id: int, inspection_id: int) -> str:
    """The brand's review page of one inspection report."""
    return f"{project(project_id)}/inspections/{inspection_id}"


def corrective_action(action_id: int) -> str:
    """The coordinator's page of one corrective action."""
    return f"/coordinator/corrective-actions/{action_id}"


def production_quality(token: str) -> str:
    """The factory's quality page through its production link (the token is the credential: sent, never stored)."""
    return f"/p/{token}/quality"


def shipments(project_id: int) -> str:
    """The brand's page of a project's shipments, documents and floor deviations."""
    return f"{project(project_id)}/shipments"


def shipment(project_id: int, shipment_id: int) -> str:
    return f"{shipments(project_id)}/{shipment_id}"


def coordinator_shipping(project_id: int) -> str:
    """The coordinator's shipping page of a project: packing lists, shipments, effectivity, deviations."""
    return f"{coordinator_project(project_id)}/shipping"


def production_shipping(token: str) -> str:
    """The factory's shipping page on its production link: release state, packing lists, revisions, deviations."""
    return f"/p/{token}/shipping"


def coordinator_budget(project_id: int) -> str:
    """The coordinator's budget of a project: quoted, actual, variance, fees and margin."""
    return f"/coordinator/projects/{project_id}/budget"


def budget(project_id: int) -> str:
    """The brand's budget of a project: only what the brand pays (its fees), never the agency's costs."""
    return f"/projects/{project_id}/budget"
