"""Translations: the catalogs are complete and current, the language is negotiated and switched as promised, and money
and dates are formatted by Babel for the reader's locale.

When a test here fails after you added a string: run `make extract`, translate the new (empty) entries of
i18n/zh_Hans/LC_MESSAGES/messages.po following i18n/glossary.csv, and run these tests again.
"""

# The expected Chinese texts use full-width punctuation on purpose, as Chinese is written.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.dates import format_date as babel_format_date
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from babel.numbers import format_currency as babel_format_currency
from litestar import Litestar
from litestar.testing import AsyncTestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from makeready import i18n
from makeready.accounts.models import User
from makeready.db.session import make_sessionmaker
from makeready.db.tenancy import Scope, set_scope
from makeready.projects import service as projects
from makeready.projects.models import Phase
from tests.conftest import World, csrf, login

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "i18n"
POT = I18N / "messages.pot"
# the same keywords as BABEL_KEYWORDS in the Makefile
KEYWORDS = ("_", "gettext", "ngettext:1,2", "N_")
# a python-format placeholder: %(name)s, %(n)d, %(price).2f; `%%` is a literal percent sign
PLACEHOLDER = re.compile(
    r"%\(\w+\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
)


def po_path(locale: str) -> Path:
    return I18N / locale / "LC_MESSAGES" / "messages.po"


def load(path: Path) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp)


def placeholders(text: str) -> set[str]:
    return {p for p in PLACEHOLDER.findall(text) if p != "%%"}


def bare_percent(text: str) -> bool:
    """A `%` that is neither a placeholder nor `%%`: Jinja's newstyle gettext formats every message, so it breaks."""
    return "%" in PLACEHOLDER.sub("", text)


def forms(message: Message) -> list[str]:
    if isinstance(message.string, (list, tuple)):
        return [str(s or "") for s in message.string]
    return [str(message.string or "")]


def ids(message: Message) -> list[str]:
    return [str(i) for i in message.id] if isinstance(message.id, (list, tuple)) else [str(message.id)]


def entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def describe(message: Message) -> str:
    return " | ".join(ids(message))


# -- (a) the catalogs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_catalog_is_complete_and_not_fuzzy(locale: str) -> None:
    catalog = load(po_path(locale))
    assert entries(catalog), "the catalog is empty"
    untranslated = [describe(m) for m in entries(catalog) if not all(forms(m))]
    fuzzy = [describe(m) for m in entries(catalog) if m.fuzzy]
    assert not untranslated, (
        f"{locale}: untranslated (translate them, see the module docstring): {untranslated}"
    )
    assert not fuzzy, f"{locale}: fuzzy (check the translation, then remove the fuzzy flag): {fuzzy}"
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"


def test_chinese_plural_forms_header() -> None:
    catalog = load(po_path("zh_Hans"))
    assert catalog.num_plurals == 1
    assert catalog.plural_expr.strip() == "0"
    assert str(catalog.locale) == "zh_Hans"
    for message in entries(catalog):
        assert len(forms(message)) == 1, f"zh has one plural form: {describe(message)}"


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_translations_keep_every_placeholder(locale: str) -> None:
    """A lost placeholder drops a value from the sentence; an invented one raises KeyError when it is formatted."""
    catalog = load(po_path(locale))
    problems: list[str] = []
    for message in entries(catalog):
        msgids = ids(message)
        every = set().union(*(placeholders(i) for i in msgids))
        for index, text in enumerate(forms(message)):
            # a language with one form uses it for every count, so it needs the plural's placeholders too
            expected = (
                every if catalog.num_plurals == 1 else placeholders(msgids[min(index, len(msgids) - 1)])
            )
            if placeholders(text) - every or expected - placeholders(text):
                problems.append(f"{describe(message)!r} -> {text!r}")
            if bare_percent(text) and not any(bare_percent(i) for i in msgids):
                problems.append(f"{describe(message)!r} -> {text!r} (write a literal percent sign as %%)")
    problems += [f"{describe(m)!r}: {errors}" for m, errors in catalog.check()]
    assert not problems, f"{locale}: placeholders differ between msgid and msgstr: {problems}"


def glossary() -> list[dict[str, str]]:
    with (I18N / "glossary.csv").open(encoding="utf-8", newline="") as fp:
        return list(csv.DictReader(fp))


def test_chinese_follows_the_glossary() -> None:
    """A term the glossary enforces is translated the same way everywhere (样品, not 样本, for sample)."""
    catalog = load(po_path("zh_Hans"))
    problems: list[str] = []
    for row in glossary():
        if not row["required"]:
            continue
        # a term inside a hyphenated compound is another word ("ex-factory" is 出厂, its own glossary entry)
        term = re.compile(
            r"(?<![-\w])" + r"\s+".join(map(re.escape, row["en"].split())) + r"s?\b", re.IGNORECASE
        )
        for message in entries(catalog):
            # the names inside %(...)s are code, not words of the sentence
            if any(term.search(PLACEHOLDER.sub("", i)) for i in ids(message)):
                problems += [
                    f"{row['en']} -> {row['required']}: {describe(message)!r} -> {text!r}"
                    for text in forms(message)
                    if row["required"] not in text
                ]
    assert not problems, f"translations that do not use the glossary term: {problems}"


# -- (b) the template and the catalogs follow the code -------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Extract the code's messages now, exactly as `make extract` does, into a temporary .pot."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    command = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "-q",
        "extract",
        "-F",
        str(I18N / "babel.cfg"),
    ]
    command += [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    command += ["--no-location", "--sort-output", "-o", str(pot), "."]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return load(pot)


def test_extraction_finds_every_source_kind(extracted: Catalog) -> None:
    """Python `_()`, `N_()` markers and Jinja templates (.html and .txt) are all read."""
    found = {str(m.id) for m in entries(extracted)}
    for sample in [
        "The email or password is not correct.",  # _() in portal/
        "Feasibility",  # N_() enum label in makeready/
        "Feasibility review",  # N_() standard milestone title
        "Log in",  # templates/**.html
    ]:
        assert sample in found, f"{sample!r} was not extracted"
    plurals = [m for m in entries(extracted) if isinstance(m.id, (list, tuple))]
    assert all(len(m.id) == 2 for m in plurals)


def test_every_extracted_message_is_translated(extracted: Catalog) -> None:
    for locale in i18n.SUPPORTED:
        catalog = load(po_path(locale))
        missing = [
            describe(m) for m in entries(extracted) if not all(forms(catalog.get(m.id) or Message("")))
        ]
        assert not missing, (
            f"{locale}: strings in the code without a translation; run `make extract` and translate them: {missing}"
        )


def test_committed_template_is_current(extracted: Catalog) -> None:
    committed = {describe(m) for m in entries(load(POT))}
    current = {describe(m) for m in entries(extracted)}
    assert committed == current, (
        "i18n/messages.pot is out of date; run `make extract`. "
        f"New in the code: {sorted(current - committed)}; gone from the code: {sorted(committed - current)}"
    )


# -- the runtime: catalogs load from .mo, or from .po compiled in memory ------------------------------------------


@pytest.fixture
def catalog_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The zh_Hans catalog in a scratch directory that i18n reads instead of i18n/."""
    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(po_path("zh_Hans"), folder / "messages.po")
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield folder
    i18n.translations.cache_clear()


def test_missing_mo_is_compiled_from_po(catalog_copy: Path) -> None:
    assert not (catalog_copy / "messages.mo").exists()
    with i18n.use_locale("zh_Hans"):
        assert i18n.gettext("Log in") == "登录"


def test_stale_mo_gives_way_to_newer_po(catalog_copy: Path) -> None:
    po, mo = catalog_copy / "messages.po", catalog_copy / "messages.mo"
    mo.write_bytes(i18n.compile_catalog(po))
    os.utime(mo, (1_000_000, 1_000_000))  # compiled long ago; the .po was edited since
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgstr "登录"', 'msgstr "登录（新）"'), encoding="utf-8"
    )
    with i18n.use_locale("zh_Hans"):
        assert i18n.gettext("Log in") == "登录（新）"


def test_current_mo_is_used(catalog_copy: Path) -> None:
    po, mo = catalog_copy / "messages.po", catalog_copy / "messages.mo"
    mo.write_bytes(i18n.compile_catalog(po))
    os.utime(po, (1_000_000, 1_000_000))
    po.write_text("this is not a catalog", encoding="utf-8")
    os.utime(po, (1_000_000, 1_000_000))  # older than the .mo, so never read
    with i18n.use_locale("zh_Hans"):
        assert i18n.gettext("Log in") == "登录"


def test_runtime_helpers_translate() -> None:
    with i18n.use_locale("zh_Hans"):
        assert i18n.get_locale() == "zh_Hans"
        assert i18n._("Projects") == "项目"
        assert i18n.label(Phase.feasibility) == "可行性评估"
        assert i18n.ngettext("audit chain OK: %(n)d event", "audit chain OK: %(n)d events", 1) % {"n": 1} == (
            "审计链完好：共 1 个事件"
        )
        with i18n.use_locale("en"):
            assert i18n._("Projects") == "Projects"
        assert i18n.get_locale() == "zh_Hans"
    assert i18n.get_locale() == i18n.DEFAULT
    with i18n.use_locale("fr"):
        assert i18n.get_locale() == "en"
    with i18n.use_locale("en"):
        assert i18n.ngettext("audit chain OK: %(n)d event", "audit chain OK: %(n)d events", 2) % {"n": 2} == (
            "audit chain OK: 2 events"
        )


def test_templates_translate_with_placeholders() -> None:
    from portal.app import build_jinja

    template = build_jinja().from_string('{{ _("Page %(page)d of %(pages)d", page=2, pages=5) }}')
    with i18n.use_locale("zh_Hans"):
        assert template.render() == "第 2 页，共 5 页"
    with i18n.use_locale("en"):
        assert template.render() == "Page 2 of 5"


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_template_gettext_behaves_as_jinjas_newstyle(autoescape: bool, locale: str) -> None:
    """`i18n.install_gettext` gives the templates what Jinja's newstyle gettext gives: markup in an autoescaped
    template, variables escaped, every message %-formatted ("%%" is "%"), plurals with `num`; text otherwise."""
    from jinja2 import Environment

    source = (
        '{{ _("Projects") }}|{{ _("Page %(page)d of %(pages)d", page=2, pages=5) }}|'
        '{{ _("Milestone timeline of %(project)s", project=name) }}|{{ gettext("100%% <b>") }}|'
        '{{ ngettext("%(num)d day", "%(num)d days", 3) }}|{{ ngettext("%(num)d day", "%(num)d days", 1) }}|'
        '{{ _("Projects") ~ name }}'
    )
    ours = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701 - both ways
    i18n.install_gettext(ours)
    jinjas = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701
    jinjas.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    with i18n.use_locale(locale):
        for _round in range(2):  # the second time from the kept markup
            expected = jinjas.from_string(source).render(name="<O'Brien & Co>")
            assert ours.from_string(source).render(name="<O'Brien & Co>") == expected
    assert ("&lt;O&#39;Brien &amp; Co&gt;" in expected) is autoescape
    assert "|100% <b>|" in expected  # the message itself is trusted markup


# -- (c) negotiation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "zh",
        "zh-CN",
        "zh-Hans",
        "zh-Hans-CN",
        "zh_CN",
        "zh-cn",
        "ZH-hans",
        "zh-SG",
        "en-GB;q=0.8, zh;q=0.9",
        "fr, zh-CN;q=0.5",
        "zh-TW, zh-CN;q=0.5",
        "zh-CN,zh;q=0.9,en;q=0.8",
        "en;level=1;q=0.1, zh;q=0.5",
    ],
)
def test_simplified_chinese_is_negotiated(header: str) -> None:
    assert i18n.negotiate(header) == "zh_Hans"


@pytest.mark.parametrize(
    "header",
    [
        "zh-TW",
        "zh-HK",
        "zh-Hant",
        "zh-Hant-CN",
        "fr",
        "de-DE, fr;q=0.9",
        "garbage",
        "",
        None,
        "*",
        ";q=1",
        ",,,",
        "zh;q=0",
        "zh;q=abc",
        "x-klingon",
        "z" * 10_000,
    ],
)
def test_anything_else_gets_no_supported_locale(header: str | None) -> None:
    assert i18n.negotiate(header) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB;q=0.8, zh;q=0.9", "zh_Hans"),
        ("zh;q=0.8, en-GB;q=0.9", "en"),
        ("en, zh", "en"),
        ("zh, en", "zh_Hans"),
        ("zh;q=0.5, en;q=0.5", "zh_Hans"),  # equal quality: the order of the header decides
        ("fr;q=1.0, en;q=0.2, zh;q=0.1", "en"),
        ("en;q=0, zh;q=0.1", "zh_Hans"),
        ("zh-TW;q=1, en;q=0.3", "en"),
    ],
)
def test_quality_order_is_respected(header: str, expected: str) -> None:
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh_Hans_CN", "zh_Hans"),
        ("zh_CN.UTF-8", "zh_Hans"),
        ("cmn-Hans-CN", "zh_Hans"),
        ("zh-Latn", None),
        ("en_US", "en"),
        ("en", "en"),
        ("EN-gb", "en"),
        ("zh_Hant_TW", None),
        ("ja", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize(tag: str | None, expected: str | None) -> None:
    assert i18n.normalize(tag) == expected


# -- (d) through HTTP --------------------------------------------------------------------------------------------

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en-US"}
SWITCH = 'action="/locale"'


def assert_switch(html: str) -> None:
    assert SWITCH in html
    for code in i18n.SUPPORTED:
        assert f'name="locale" value="{code}"' in html


def shows_chinese(html: str) -> bool:
    return '<html lang="zh-Hans">' in html


async def switch(client: AsyncTestClient[Litestar], locale: str, next_path: str = "/") -> None:
    response = await client.post(
        "/locale",
        data={"locale": locale, "next": next_path, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path


async def test_login_page_follows_accept_language(client: AsyncTestClient[Litestar], world: World) -> None:
    zh = await client.get("/login", headers=ZH)
    assert zh.status_code == 200
    assert shows_chinese(zh.text)
    assert "<h1>登录</h1>" in zh.text
    assert "密码" in zh.text
    assert zh.headers["content-language"] == "zh-Hans"
    assert "accept-language" in zh.headers.get("vary", "").lower()
    assert_switch(zh.text)
    en = await client.get("/login", headers=EN)
    assert not shows_chinese(en.text)
    assert "<h1>Log in</h1>" in en.text
    assert en.headers["content-language"] == "en"
    nothing = await client.get("/login", headers={"Accept-Language": "fr-FR, zh-TW;q=0.5"})
    assert "<h1>Log in</h1>" in nothing.text


async def test_switch_persists_for_the_session(client: AsyncTestClient[Litestar], world: World) -> None:
    assert "<h1>Log in</h1>" in (await client.get("/login", headers=EN)).text
    await switch(client, "zh_Hans", "/login")
    # the browser still says English: the explicit choice wins, on every later request of the session
    for _ in range(2):
        page = await client.get("/login", headers=EN)
        assert "<h1>登录</h1>" in page.text
        assert 'value="zh_Hans" class="link active"' in page.text
    await switch(client, "en", "/login")
    assert "<h1>Log in</h1>" in (await client.get("/login", headers=ZH)).text
    # an unknown language changes nothing
    await switch(client, "fr", "/login")
    assert "<h1>Log in</h1>" in (await client.get("/login", headers=ZH)).text


async def test_switch_needs_the_csrf_token(client: AsyncTestClient[Litestar], world: World) -> None:
    await client.get("/login", headers=EN)
    response = await client.post(
        "/locale", data={"locale": "zh_Hans", "next": "/login"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "<h1>Log in</h1>" in (await client.get("/login", headers=EN)).text


async def test_logged_in_choice_is_stored_and_follows_the_user(
    app: Litestar, client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine
) -> None:
    await login(client, world.owner_a.email)
    assert not shows_chinese((await client.get("/", headers=EN)).text)
    await switch(client, "zh_Hans", "/")
    page = await client.get("/", headers=EN)
    assert shows_chinese(page.text)
    assert "<h1>项目</h1>" in page.text
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        stored = await session.scalar(select(User.locale).where(User.id == world.owner_a.id))
    assert stored == "zh_Hans"

    # another browser, which asks for English: the user's own choice applies from their login on
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as other:
        assert "<h1>Log in</h1>" in (await other.get("/login", headers=EN)).text
        await login(other, world.owner_a.email)
        dashboard = await other.get("/", headers=EN)
        assert shows_chinese(dashboard.text)
        assert "<h1>项目</h1>" in dashboard.text

    # the choice belongs to that user: another user logging in keeps the language their browser asks for
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as third:
        await login(third, world.member_a.email)
        assert not shows_chinese((await third.get("/", headers=EN)).text)


async def test_every_page_has_the_switch(client: AsyncTestClient[Litestar], world: World) -> None:
    login_page = await client.get("/login", headers=ZH)
    assert_switch(login_page.text)
    missing = await client.get("/no-such-page", headers={**ZH, "Accept": "text/html"})
    assert missing.status_code == 404
    assert_switch(missing.text)
    await login(client, world.owner_a.email)
    dashboard = await client.get("/", headers=ZH)
    assert dashboard.status_code == 200
    assert_switch(dashboard.text)
    assert shows_chinese(dashboard.text)
    error = await client.get("/projects/999999", headers=ZH)
    assert error.status_code == 404
    assert_switch(error.text)
    assert shows_chinese(error.text)
    assert "此项目不存在，或您无权访问。" in error.text
    assert "返回我的项目" in error.text


async def test_requests_in_different_languages_do_not_mix(
    client: AsyncTestClient[Litestar], world: World
) -> None:
    """The locale is a context variable: concurrent requests each keep their own."""
    pages = await asyncio.gather(*(client.get("/login", headers=ZH if i % 2 else EN) for i in range(10)))
    for i, page in enumerate(pages):
        assert ("<h1>登录</h1>" if i % 2 else "<h1>Log in</h1>") in page.text


async def test_api_errors_speak_the_callers_language(client: AsyncTestClient[Litestar], world: World) -> None:
    response = await client.get("/api/v1/projects", headers={**ZH, "Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json()["detail"] == "请使用以下格式的 Authorization 请求头：Bearer <令牌>。"


# -- (e) money and dates --------------------------------------------------------------------------------------------

AMOUNTS = {"USD": Decimal("1234.50"), "EUR": Decimal("98765.43"), "CNY": Decimal("12.00")}


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize("currency", ["USD", "EUR", "CNY"])
def test_money_is_formatted_by_babel(locale: str, currency: str) -> None:
    with i18n.use_locale(locale):
        assert i18n.format_money(AMOUNTS[currency], currency) == babel_format_currency(
            AMOUNTS[currency], currency, locale=locale
        )
        assert i18n.format_money(None, currency) == ""


def test_locales_format_differently() -> None:
    amount, day = Decimal("1234.50"), date(2027, 3, 15)
    assert babel_format_currency(amount, "CNY", locale="en") != babel_format_currency(
        amount, "CNY", locale="zh_Hans"
    )
    with i18n.use_locale("zh_Hans"):
        zh_day = i18n.format_date(day)
        assert zh_day == babel_format_date(day, "medium", locale="zh_Hans")
    with i18n.use_locale("en"):
        en_day = i18n.format_date(day)
        assert en_day == babel_format_date(day, "medium", locale="en")
    assert zh_day != en_day
    assert i18n.format_date(None) == ""


async def _projects_in_three_currencies(engine: AsyncEngine, world: World) -> dict[str, int]:
    created: dict[str, int] = {}
    async with make_sessionmaker(engine)() as session:
        set_scope(session, Scope.system())
        async with session.begin():
            for currency, amount in AMOUNTS.items():
                project = await projects.create_project(
                    session,
                    actor=world.owner_a,
                    org_id=world.org_a.id,
                    data={
                        "name": f"Lamp {currency}",
                        "target_unit_price": str(amount),
                        "currency": currency,
                        "target_date": "2027-03-15",
                    },
                )
                created[currency] = project.id
    return created


async def _due_dates(db: AsyncSession, project_id: int) -> list[date]:
    project = await projects.get_project(db, project_id)
    return [m.due_date for m in project.milestones if m.due_date]


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
async def test_pages_show_money_and_dates_in_the_readers_locale(
    client: AsyncTestClient[Litestar], world: World, engine: AsyncEngine, db: AsyncSession, locale: str
) -> None:
    created = await _projects_in_three_currencies(engine, world)
    await login(client, world.owner_a.email)
    await switch(client, locale, "/")
    dashboard = await client.get("/")
    assert dashboard.status_code == 200
    for currency, amount in AMOUNTS.items():
        assert str(escape(babel_format_currency(amount, currency, locale=locale))) in dashboard.text
    project_id = created["CNY"]
    page = await client.get(f"/projects/{project_id}")
    assert page.status_code == 200
    assert str(escape(babel_format_currency(AMOUNTS["CNY"], "CNY", locale=locale))) in page.text
    assert str(escape(babel_format_date(date(2027, 3, 15), "medium", locale=locale))) in page.text
    for due in await _due_dates(db, project_id):
        assert str(escape(babel_format_date(due, "medium", locale=locale))) in page.text
    # the standard milestone titles are stored in English and shown in the reader's language
    with i18n.use_locale(locale):
        assert i18n.gettext("Feasibility review") in page.text
        assert i18n.label(Phase.feasibility) in page.text
