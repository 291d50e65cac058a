"""Email: render a message from templates/email/ in the recipient's language, then send it.

Each email is three templates: `<name>.subject.txt`, `<name>.txt` (the text/plain part) and `<name>.html`.
They are rendered under `use_locale(recipient's locale)`, so `_()` in them and the `date`/`money` filters speak
the recipient's language. HTML templates autoescape every value, so markup or script in a project name arrives
as visible text; the text part is plain text, where the same value is shown as the characters it is (escaping
it there would show `&lt;` to the reader). Template values may be JSON (they travel through the job queue):
the `date` and `datetime` filters accept ISO strings.

Delivery: with `SMTP_URL` (`smtp://user:pass@host:port`, `smtps://` for TLS from the first byte,
`smtp+starttls://` for STARTTLS) through the standard library's smtplib in a thread; with no `SMTP_URL`, the
message is written as an `.eml` file to `OUTBOX_DIR` (var/outbox), where a developer can open it.
Failures that retrying can fix raise `EmailDeliveryFailed`; those it cannot (a refused recipient, a missing
template, a malformed SMTP_URL) raise `EmailRejected`.
"""

from __future__ import annotations

import asyncio
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from makeready import i18n
from makeready.settings import BASE_DIR, EmailSettings, Settings, get_settings

TEMPLATE_DIR = BASE_DIR / "templates" / "email"
SMTP_TIMEOUT = 30.0
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


class EmailError(Exception):
    """Base of email failures."""


class EmailRejected(EmailError):
    """Trying again cannot help: bad recipient, refused by the server, missing template, bad SMTP_URL."""


class EmailDeliveryFailed(EmailError):
    """The server could not be reached or answered with a temporary error: try again later."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Delivery:
    method: Literal["smtp", "outbox"]
    message_id: str
    path: Path | None = None

    def describe(self) -> str:
        return f"written to {self.path}" if self.path else f"sent by SMTP as {self.message_id}"


# --------------------------------------------------------------------------------------------------------------
# Rendering


def _as_date(value: Any) -> date | None:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value if isinstance(value, date) else None


def _date(value: Any, format: str = "long") -> str:
    parsed = _as_date(value)
    if isinstance(parsed, datetime):
        parsed = parsed.date()
    return i18n.format_date(parsed, format)


def _datetime(value: Any, format: str = "medium") -> str:
    parsed = _as_date(value)
    return i18n.format_datetime(parsed, format) if isinstance(parsed, datetime) else _date(parsed)


def _money(amount: Any, currency: str = "USD") -> str:
    from decimal import Decimal, InvalidOperation

    try:
        return i18n.format_money(Decimal(str(amount)), currency) if amount not in (None, "") else ""
    except InvalidOperation:
        return str(amount)


@lru_cache(maxsize=4)
def _environment(directory: Path = TEMPLATE_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        # .html escapes every value; .txt is text/plain, where there is no markup to escape into
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,  # a value missing from the context fails the job instead of mailing a blank
        auto_reload=False,
        keep_trailing_newline=True,
    )
    i18n.install_gettext(env)
    # `translated` looks up a value that is itself a msgid (a standard milestone title). Never `_(value)`:
    # newstyle `_` marks its result safe in HTML and %-formats it, so a title with markup or "%" would break out
    env.filters.update(date=_date, datetime=_datetime, money=_money, translated=i18n.gettext)
    env.globals.update(current_locale=i18n.get_locale)
    return env


def recipient_locale(locale: str | None, settings: Settings | None = None) -> str:
    """The supported locale to write in: the recipient's when we have one, else DEFAULT_LOCALE."""
    settings = settings or get_settings()
    return i18n.normalize(locale) or i18n.normalize(settings.app.default_locale) or i18n.DEFAULT


def render(
    template: str, context: Mapping[str, Any], *, locale: str | None = None, settings: Settings | None = None
) -> Rendered:
    """Subject, text and HTML of `templates/email/<template>.*`, in `locale`."""
    settings = settings or get_settings()
    if not re.fullmatch(r"[a-z0-9_]+", template):
        raise EmailRejected(f"not an email template name: {template!r}")
    env = _environment()
    values = {"base_url": settings.app.base_url.rstrip("/"), **context}
    try:
        with i18n.use_locale(recipient_locale(locale, settings)):
            subject = env.get_template(f"{template}.subject.txt").render(values)
            text = env.get_template(f"{template}.txt").render(values)
            html = env.get_template(f"{template}.html").render(values)
    except (TemplateError, ValueError) as exc:
        raise EmailRejected(f"email {template!r} cannot be rendered: {type(exc).__name__}: {exc}") from exc
    # a subject is one header line: newlines in a value must not start a new header
    return Rendered(subject=" ".join(subject.split()), text=text, html=html)


# --------------------------------------------------------------------------------------------------------------
# Building and delivering


def build_message(*, to: str, rendered: Rendered, sender: str, to_name: str = "") -> EmailMessage:
    """A multipart/alternative message: text first, HTML preferred by clients that can show it."""
    to = (to or "").strip()
    if not _ADDRESS.fullmatch(to):
        raise EmailRejected(f"not an email address: {to!r}")
    sender_name, sender_addr = parseaddr(sender)
    try:
        recipient = Address(display_name=" ".join(to_name.split()), addr_spec=to)
        from_ = Address(display_name=sender_name, addr_spec=sender_addr)
    except (ValueError, IndexError, HeaderParseError) as exc:  # the header parser's ways of saying no
        raise EmailRejected(f"not an email address: {to!r} ({exc})") from exc
    message = EmailMessage(policy=SMTP)
    message["Subject"] = rendered.subject
    message["From"] = from_
    message["To"] = recipient
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender_addr.rpartition("@")[2] or "makeready.local")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: Literal["none", "tls", "starttls"]
    username: str
    password: str


_DEFAULT_PORTS = {"none": 25, "tls": 465, "starttls": 587}
_SCHEMES: dict[str, Literal["none", "tls", "starttls"]] = {
    "smtp": "none",
    "smtps": "tls",
    "smtp+ssl": "tls",
    "smtp+tls": "tls",
    "smtp+starttls": "starttls",
}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read `SMTP_URL`; raise EmailRejected (naming the variable, never the password) when it is malformed."""
    parts = urlsplit(url.strip())
    security = _SCHEMES.get(parts.scheme.lower())
    if security is None:
        raise EmailRejected(
            f"SMTP_URL must start with smtp://, smtps:// or smtp+starttls:// (got {parts.scheme or 'nothing'}://)"
        )
    try:
        port = parts.port
    except ValueError:
        raise EmailRejected("SMTP_URL has a port that is not a number") from None
    if not parts.hostname:
        raise EmailRejected("SMTP_URL names no host (smtp://user:pass@host:port)")
    return SmtpTarget(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[security],
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _smtp_send(message: EmailMessage, target: SmtpTarget) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if target.security == "tls":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
    with client:
        client.ehlo()
        if target.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.username:
            client.login(target.username, target.password)
        client.send_message(message)


def _permanent(code: int) -> bool:
    return 500 <= code < 600


async def _deliver_smtp(message: EmailMessage, smtp_url: str) -> Delivery:
    target = parse_smtp_url(smtp_url)
    try:
        await asyncio.to_thread(_smtp_send, message, target)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        error: type[EmailError] = EmailRejected if all(_permanent(c) for c in codes) else EmailDeliveryFailed
        raise error(f"the SMTP server refused the recipient: {exc.recipients}") from exc
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        error = EmailRejected if _permanent(exc.smtp_code) else EmailDeliveryFailed
        raise error(f"the SMTP server refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, TLS, timeout, auth: may pass later
        raise EmailDeliveryFailed(
            f"cannot send through {target.host}:{target.port}: {type(exc).__name__}: {exc}"
        ) from exc
    return Delivery("smtp", str(message["Message-ID"]))


def _write_outbox(message: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    partial = path.with_suffix(".eml.part")
    partial.write_bytes(message.as_bytes(policy=SMTP))
    os.replace(partial, path)  # a reader of the folder never sees half a message
    return path


async def deliver(message: EmailMessage, settings: EmailSettings) -> Delivery:
    """Send through SMTP_URL, or write to OUTBOX_DIR when there is none."""
    if settings.smtp_url:
        return await _deliver_smtp(message, settings.smtp_url)
    try:
        path = await asyncio.to_thread(_write_outbox, message, Path(settings.outbox_dir))
    except OSError as exc:
        raise EmailDeliveryFailed(f"cannot write to OUTBOX_DIR {settings.outbox_dir}: {exc}") from exc
    return Delivery("outbox", str(message["Message-ID"]), path)


async def send(
    *,
    to: str,
    template: str,
    context: Mapping[str, Any],
    locale: str | None = None,
    to_name: str = "",
    settings: Settings | None = None,
) -> Delivery:
    """Render and deliver one email now. Web handlers should `jobs.enqueue("send_email", ...)` instead."""
    settings = settings or get_settings()
    rendered = render(template, context, locale=locale, settings=settings)
    message = build_message(to=to, to_name=to_name, rendered=rendered, sender=settings.email.sender)
    return await deliver(message, settings.email)
