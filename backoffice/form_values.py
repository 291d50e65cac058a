"""Reading a submitted form, one way for the pages of the back office and of the portal above it."""

from __future__ import annotations

from litestar.datastructures import FormMultiDict

from makeready.errors import ValidationFailed
from makeready.i18n import _


def form_text(form: FormMultiDict, key: str) -> str:
    """The field's value without surrounding spaces; "" when it was not sent (or sent as a file)."""
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def form_version(form: FormMultiDict) -> int | None:
    """The version of the row the form was drawn from (the stale-write check compares it); None when the form
    carries none, a refusal naming the field when it is not a number."""
    text = form_text(form, "version")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed(_("Some of the values sent are not valid."), field="version") from None


def required_version(form: FormMultiDict) -> int:
    """The version the form must carry (a page whose every write checks it): a refusal when it is missing."""
    version = form_version(form)
    if version is None:
        raise ValidationFailed(
            _("The form is missing its version. Reload the page and try again."), field="version"
        )
    return version


def page_after(url: str, *, done: str = "", anchor: str = "") -> str:
    """Where a page's form sends the browser after it acted: the page, what was done (its notice), the section."""
    if done:
        url += f"?done={done}"
    return url + (f"#{anchor}" if anchor else "")
