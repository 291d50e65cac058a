"""Email through a real SMTP server (aiosmtpd, in this process), in the recipient's language, and the outbox fallback."""

# Chinese text is written with full-width punctuation on purpose
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import NullTranslations, Translations

from makeready import i18n, jobs
from makeready.notify import email as mail
from makeready.settings import EmailSettings, JobSettings, Settings
from tests.s3server import closed_port

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret pass/word"  # a space and a slash: the URL must carry them percent-encoded
SCRIPT = "<script>alert('x')</script>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            self.logins.append(SMTP_USER)
        return AuthResult(success=ok)

    def message(self, index: int = -1) -> EmailMessage:
        raw = self.envelopes[index].original_content or b""
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,  # plain smtp:// on loopback in the test; smtps:// is tested below
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def settings_with(*, smtp_url: str = "", outbox: Path | None = None) -> Settings:
    s = Settings()
    update: dict[str, Any] = {"smtp_url": smtp_url}
    if outbox is not None:
        update["outbox_dir"] = outbox
    s.email = EmailSettings().model_copy(update=update)
    s.jobs = JobSettings().model_copy(update={"redis_url": ""})
    return s


def smtp_url(port: int, scheme: str = "smtp") -> str:
    return f"{scheme}://{SMTP_USER}:s3cret%20pass%2Fword@127.0.0.1:{port}"


LATE = {
    "name": "Maya",
    "project": f"Arc Pendant {SCRIPT}",
    "project_id": 7,
    "milestone": "First sample",
    "due_date": "2026-11-02",
    "owner": "Chen Wei <b>bold</b>",
}


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


async def test_email_is_delivered_through_smtp_with_both_parts_and_escaped_html(
    smtp: tuple[Mailbox, int],
) -> None:
    box, port = smtp
    settings = settings_with(smtp_url=smtp_url(port))
    delivery = await mail.send(
        to="maya@lumenandoak.example",
        to_name="Maya Lindqvist",
        template="milestone_late",
        context=LATE,
        locale="en",
        settings=settings,
    )
    assert delivery.method == "smtp"
    assert box.logins == [SMTP_USER]  # the credentials in SMTP_URL were used, percent-decoded
    assert len(box.envelopes) == 1
    envelope = box.envelopes[0]
    assert envelope.rcpt_tos == ["maya@lumenandoak.example"]
    assert envelope.mail_from == "noreply@makeready.local"
    message = box.message()
    assert message["Subject"] == f"Late: First sample on Arc Pendant {SCRIPT}"
    assert message["To"] == "Maya Lindqvist <maya@lumenandoak.example>"
    assert message["Message-ID"] == delivery.message_id
    text, html = parts(message)
    # text/plain shows the value as the characters it is; HTML shows it as text, never as markup
    assert f"Arc Pendant {SCRIPT}" in text
    assert "was due on November 2, 2026" in text
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "Arc Pendant &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Chen Wei &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="http://127.0.0.1:8000/projects/7"' in html


@pytest.fixture
def chinese_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A zh_Hans catalog with this email's strings, compiled with Babel, in place of the shipped one.

    The test checks that rendering happens in the recipient's locale through `_()`, independent of how far the
    real catalogs have got.
    """
    catalog = Catalog(locale="zh_Hans")
    for msgid, msgstr in {
        "Late: %(milestone)s on %(project)s": "逾期：%(project)s 的%(milestone)s",
        "First sample": "首样",
        "Hello %(name)s,": "%(name)s，您好：",
        'The milestone "%(milestone)s" of %(project)s was due on %(due)s and is not done yet.': "%(project)s 的里程碑“%(milestone)s”原定于 %(due)s 完成，目前尚未完成。",
    }.items():
        catalog.add(msgid, msgstr)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    chinese = Translations(buffer)
    real = i18n.translations

    def translations(locale: str) -> NullTranslations:
        return chinese if locale == "zh_Hans" else real(locale)

    monkeypatch.setattr(i18n, "translations", translations)


async def test_send_email_job_writes_in_the_recipients_language(
    smtp: tuple[Mailbox, int], chinese_catalog: None
) -> None:
    box, port = smtp
    settings = settings_with(smtp_url=smtp_url(port))
    async with jobs.running(settings):
        await jobs.enqueue(
            "send_email",
            to="wang.fang@kestrel.example",
            to_name="王芳",
            template="milestone_late",
            context={**LATE, "name": "王芳", "due_date": dt.date(2026, 11, 2)},
            locale="zh_Hans",
        )
        await jobs.enqueue(
            "send_email", to="jonas@kestrel.example", template="milestone_late", context=LATE, locale="en"
        )
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(20):
            await worker.drain()
        assert worker.failures == []
    by_recipient = {env.rcpt_tos[0]: index for index, env in enumerate(box.envelopes)}
    chinese = box.message(by_recipient["wang.fang@kestrel.example"])
    assert chinese["Subject"] == f"逾期：Arc Pendant {SCRIPT} 的首样"
    assert chinese["To"] == "王芳 <wang.fang@kestrel.example>"
    text, html = parts(chinese)
    assert "王芳，您好：" in text
    assert "里程碑“首样”原定于 2026年11月2日 完成" in text  # Babel's Chinese date, from the locale data
    assert '<html lang="zh-Hans">' in html
    assert "里程碑“首样”" in html
    assert "<script>" not in html
    english = box.message(by_recipient["jonas@kestrel.example"])
    assert english["Subject"].startswith("Late: First sample on")


async def test_smtps_delivers_over_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    # the client verifies the server against the default trust store; point it at our test CA
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    box = Mailbox()
    port = free_port()
    # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from the first byte
    controller = _TlsController(
        box,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_tls,
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        await mail.send(
            to="tls@example.com",
            template="welcome",
            context={"name": "T", "org": "", "email": "tls@example.com"},
            settings=settings_with(smtp_url=smtp_url(port, "smtps")),
        )
    finally:
        controller.stop()
    assert box.logins == [SMTP_USER]
    assert box.message()["Subject"] == "Your Makeready account is ready"


async def test_without_smtp_url_the_email_is_written_to_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    delivery = await mail.send(
        to="tom@lumenandoak.example",
        template="welcome",
        context={"name": "Tom", "org": "Lumen & Oak", "email": "tom@lumenandoak.example"},
        settings=settings_with(outbox=outbox),
    )
    assert delivery.method == "outbox"
    files = list(outbox.iterdir())
    assert files == [delivery.path]
    assert files[0].suffix == ".eml"
    message = email.message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "tom@lumenandoak.example"
    assert message["Subject"] == "Your Makeready account is ready"
    text, html = parts(message)
    assert "for Lumen & Oak." in text  # plain text is not HTML-escaped
    assert "for Lumen &amp; Oak." in html
    assert "http://127.0.0.1:8000/login" in text


async def test_a_refused_recipient_is_not_retried(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    box.refuse.add("gone@example.com")
    settings = settings_with(smtp_url=smtp_url(port))
    with pytest.raises(mail.EmailRejected, match="refused the recipient"):
        await mail.send(
            to="gone@example.com",
            template="welcome",
            context={"name": "G", "org": "", "email": "gone@example.com"},
            settings=settings,
        )
    async with jobs.running(settings):
        await jobs.enqueue(
            "send_email",
            to="gone@example.com",
            template="welcome",
            context={"name": "G", "org": "", "email": "gone@example.com"},
        )
        worker = jobs.embedded_worker()
        assert worker is not None
        async with asyncio.timeout(20):
            await worker.drain()
        assert [(f.name, f.attempts) for f in worker.failures] == [("send_email", 1)]
    assert box.envelopes == []


async def test_an_unreachable_server_is_a_temporary_failure() -> None:
    settings = settings_with(smtp_url=f"smtp://127.0.0.1:{closed_port()}")
    with pytest.raises(mail.EmailDeliveryFailed, match=r"cannot send through 127\.0\.0\.1"):
        await mail.send(
            to="a@example.com",
            template="welcome",
            context={"name": "A", "org": "", "email": "a@example.com"},
            settings=settings,
        )


@pytest.mark.parametrize(
    ("to", "context"),
    [
        ("a@example.com\r\nBcc: victim@example.com", {}),
        ("not-an-address", {}),
        ("a@example.com", {"name": None}),  # missing value: StrictUndefined refuses instead of a blank
    ],
)
async def test_bad_input_is_rejected_not_sent(tmp_path: Path, to: str, context: dict[str, Any]) -> None:
    values = {"name": "A", "org": "", "email": "a@example.com", **context}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(mail.EmailRejected):
        await mail.send(to=to, template="welcome", context=values, settings=settings_with(outbox=tmp_path))
    assert os.listdir(tmp_path) == []


async def test_a_newline_in_a_value_cannot_add_a_header(tmp_path: Path) -> None:
    delivery = await mail.send(
        to="a@example.com",
        template="milestone_late",
        context={**LATE, "project": "Lamp\r\nBcc: victim@example.com"},
        settings=settings_with(outbox=tmp_path),
    )
    assert delivery.path is not None
    message = email.message_from_bytes(delivery.path.read_bytes(), policy=default_policy)
    assert message["Bcc"] is None
    assert message["Subject"] == "Late: First sample on Lamp Bcc: victim@example.com"


def test_smtp_url_is_checked() -> None:
    target = mail.parse_smtp_url("smtps://user%40corp:p%3Ass@mail.example.com")
    assert (target.host, target.port, target.security, target.username, target.password) == (
        "mail.example.com",
        465,
        "tls",
        "user@corp",
        "p:ss",
    )
    assert mail.parse_smtp_url("smtp+starttls://mail.example.com").port == 587
    with pytest.raises(mail.EmailRejected, match="SMTP_URL must start with"):
        mail.parse_smtp_url("http://mail.example.com")
    with pytest.raises(mail.EmailRejected, match="names no host"):
        mail.parse_smtp_url("smtp://")


class _TlsController(Controller):
    """aiosmtpd's readiness probe wraps its client socket with the server's context; give it a client one."""

    def _trigger_server(self) -> None:
        client = ssl.create_default_context()
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection((self.hostname, self.port), timeout=5) as raw,
            client.wrap_socket(raw) as tls,
        ):
            tls.recv(1024)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
