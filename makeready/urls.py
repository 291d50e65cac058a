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


def factory_link(token: str) -> str:
    """What a factory opens: the token is the credential, so this path is only ever sent, never stored."""
    return f"/f/{token}"


def invitation(token: str) -> str:
    return f"/invitations/{token}"


def billing(org_id: int, *, checkout: str = "") -> str:
    """An organization's billing page; `checkout` says how a Stripe checkout ended (done)."""
    return _with_query("/billing", org=org_id, checkout=checkout)


def pricing(org_id: int, *, checkout: str = "") -> str:
    """The plans, for an organization; `checkout` says how a Stripe checkout ended (canceled)."""
    return _with_query("/pricing", org=org_id, checkout=checkout)


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
