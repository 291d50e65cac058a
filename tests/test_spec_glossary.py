"""The manufacturing glossary: the starter term base (i18n/termbase.csv), term suggestions for an English spec text,
the consistency check of its Chinese, the agency's own terms from the database, and adding them in the back office.
"""

# The Chinese texts use full-width punctuation on purpose, as Chinese is written.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from makeready.specs import glossary
from makeready.specs.glossary import (
    CATEGORIES,
    CATEGORY_LABELS,
    MAX_SCAN_CHARS,
    TERMBASE_PATH,
    Term,
    check_consistency,
    load_starter_terms,
    load_terms,
    suggest,
    term_key,
)
from makeready.specs.models import GlossaryTerm
from tests.conftest import World
from tests.test_backoffice import admin_login, write_headers

CJK = re.compile(r"[\u3400-\u9fff]")
STARTER = load_starter_terms()


def found(text: str, terms: list[Term] = STARTER) -> list[tuple[str, str]]:
    """(matched text, term's English) for every suggestion."""
    return [(s.text, s.term.en) for s in suggest(text, terms)]


def term(en: str) -> Term:
    return next(t for t in STARTER if t.en == en)


# -- the starter term base -----------------------------------------------------------------------------------------


def test_termbase_file_is_complete_and_clean() -> None:
    with TERMBASE_PATH.open(encoding="utf-8", newline="") as fp:
        reader = csv.DictReader(fp)
        rows = list(reader)
    assert reader.fieldnames == ["en", "zh", "category", "alternatives", "en_alternatives", "note"]
    assert len(rows) >= 180
    assert {row["category"] for row in rows} == set(CATEGORIES)
    for row in rows:
        for column in ("en", "zh"):
            assert row[column].strip(), row
            assert row[column] == row[column].strip(), row
        assert CJK.search(row["zh"]), f"{row['en']}: the Chinese has no Chinese characters"
        for column in ("alternatives", "en_alternatives"):
            parts = row[column].split("|") if row[column] else []
            assert all(p and p == p.strip() for p in parts), f"{row['en']}: blank or padded {column}"
            assert len(parts) == len(set(parts)), f"{row['en']}: repeated {column}"
        assert row["zh"] not in row["alternatives"].split("|"), row["en"]
    assert len(STARTER) == len(rows)
    assert set(CATEGORY_LABELS) == set(CATEGORIES)


def test_every_english_form_is_one_entry() -> None:
    """No term twice, counting synonyms and spellings: "injection moulding" is "injection molding"."""
    owners: dict[str, str] = {}
    for t in STARTER:
        for form in t.english_forms:
            key = term_key(form)
            assert key not in owners, f"{form!r} ({t.en}) is already an entry of {owners[key]!r}"
            owners[key] = t.en


def test_every_term_finds_itself_and_accepts_its_own_chinese() -> None:
    for t in STARTER:
        for form in t.english_forms:
            assert found(form) == [(form, t.en)], form
        for chinese in t.chinese_forms:
            assert check_consistency(t.en, chinese, STARTER) == [], (t.en, chinese)


def test_factory_usage_of_key_terms() -> None:
    """Spot checks of the renderings a Chinese factory expects."""
    expected = {
        "injection molding": "注塑",
        "die casting": "压铸",
        "anodizing": "阳极氧化",
        "powder coating": "喷粉",
        "electroplating": "电镀",
        "pad printing": "移印",
        "silk screen printing": "丝印",
        "burr": "毛刺",
        "flash": "披锋",
        "sink mark": "缩水",
        "short shot": "缺料",
        "carton": "纸箱",
        "inner box": "内盒",
        "polybag": "胶袋",
        "304 stainless steel": "304不锈钢",
        "tolerance": "公差",
        "draft angle": "拔模角度",
        "golden sample": "封样",
        "pre-production sample": "产前样",
        "AQL": "接收质量限",
    }
    assert {en: term(en).zh for en in expected} == expected
    assert "AQL" in term("AQL").alternatives
    assert {"飞边", "披锋"} <= set(term("flash").chinese_forms)
    assert "粉末喷涂" in term("powder coating").alternatives
    assert "PE袋" in term("polybag").alternatives
    assert "标准样" in term("golden sample").alternatives


# -- suggestions ---------------------------------------------------------------------------------------------------


def test_longest_term_wins_without_overlaps() -> None:
    terms = [
        Term(en="steel", zh="钢"),
        Term(en="stainless steel", zh="不锈钢"),
        Term(en="steel wire", zh="钢丝"),
    ]
    assert found("Stainless steel body, steel wire, steel base", terms) == [
        ("Stainless steel", "stainless steel"),
        ("steel wire", "steel wire"),
        ("steel", "steel"),
    ]
    assert found("Housing in 304 stainless steel; screws in stainless steel") == [
        ("304 stainless steel", "304 stainless steel"),
        ("screws", "screw"),
        ("stainless steel", "stainless steel"),
    ]
    # "PP sample" is a pre-production sample, not polypropylene followed by a sample
    assert found("Send the PP sample in PP") == [
        ("PP sample", "pre-production sample"),
        ("PP", "polypropylene"),
    ]


def test_suggestion_carries_term_chinese_category_and_span() -> None:
    text = "Finish: black powder coating."
    (suggestion,) = suggest(text, STARTER)
    assert text[suggestion.start : suggestion.end] == suggestion.text == "powder coating"
    assert suggestion.zh == "喷粉"
    assert "粉末喷涂" in suggestion.alternatives
    assert suggestion.category == "finishes"
    assert suggestion.term is term("powder coating")


def test_plurals_case_and_spelling() -> None:
    assert found("Remove burrs. No Sink Marks. Pack 4 inner boxes; assemblies in batches.") == [
        ("burrs", "burr"),
        ("Sink Marks", "sink mark"),
        ("inner boxes", "inner box"),
        ("assemblies", "assembly"),
        ("batches", "batch"),
    ]
    assert found("INJECTION MOLDING, Injection Moulding, injection-molded") == [
        ("INJECTION MOLDING", "injection molding"),
        ("Injection Moulding", "injection molding"),
    ]
    assert found("Anodised aluminium, anodized aluminum, colour and color, greyboard") == [
        ("Anodised", "anodizing"),
        ("aluminium", "aluminum"),
        ("anodized", "anodizing"),
        ("aluminum", "aluminum"),
        ("colour", "color"),
        ("color", "color"),
        ("greyboard", "greyboard"),
    ]
    assert found("silk screen, silk-screen, silkscreen printing; pre production samples") == [
        ("silk screen", "silk screen printing"),
        ("silk-screen", "silk screen printing"),
        ("silkscreen printing", "silk screen printing"),
        ("pre production samples", "pre-production sample"),
    ]
    # an agency term in British spelling finds American text too
    moulded = [Term(en="moulded-in colour", zh="原色")]
    assert found("Molded-in color, moulded in colour", moulded) == [
        ("Molded-in color", "moulded-in colour"),
        ("moulded in colour", "moulded-in colour"),
    ]


def test_no_match_inside_words_and_acronyms_only_in_capitals() -> None:
    assert found("absolute tolerance, abs, Abs") == [("tolerance", "tolerance")]
    assert found("ABS, ABS-like blend, (ABS)") == [("ABS", "ABS"), ("ABS", "ABS"), ("ABS", "ABS")]
    # "pcs" are pieces, not polycarbonate; "reach" is a verb, REACH a regulation
    assert found("24 pcs, reach the port; REACH compliant") == [("REACH", "REACH")]
    assert found("gaskets, cartonnage, nutrition, prototyped") == [("gaskets", "gasket")]
    assert found("") == []
    assert suggest("stainless steel", []) == []


def test_terms_are_text_not_patterns() -> None:
    """A coordinator's term with regex syntax matches itself only."""
    terms = [Term(en="a.b*(c", zh="甲"), Term(en="x+", zh="乙"), Term(en="(?i)", zh="丙")]
    assert found("aXbbbc a.b*(c", terms) == [("a.b*(c", "a.b*(c")]
    assert found("xxx x+ y", terms) == [("x+", "x+")]
    assert found("abc (?i) abc", terms) == [("(?i)", "(?i)")]


def test_huge_input_is_cut_and_quick() -> None:
    """A 100k-character field is read up to MAX_SCAN_CHARS; the regex does linear work on it."""
    text = "stainless steel burr absolute " * 4000
    assert len(text) > 100_000
    suggestions = suggest(text, STARTER)
    assert all(s.end <= MAX_SCAN_CHARS for s in suggestions)
    assert len(suggestions) == len(suggest(text[:MAX_SCAN_CHARS], STARTER)) > 1000
    # pathological shapes: long runs of one letter, of separators, of a term's prefix
    for hostile in ("a" * 100_000, "-" * 100_000, "stainless " * 12_000, "s" + " " * 100_000 + "teel"):
        assert suggest(hostile, STARTER) == []
    assert check_consistency("burr " * 25_000, "无" * 500_000, STARTER)[0].term is term("burr")


def test_one_compiled_pattern_per_term_set() -> None:
    glossary._matcher.cache_clear()
    suggest("burr", STARTER)
    suggest("flash", list(STARTER))  # an equal list is the same term set
    suggest("flash", load_starter_terms())
    info = glossary._matcher.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    suggest("flash", [*STARTER, Term(en="flash tape", zh="闪光胶带")])
    assert glossary._matcher.cache_info().misses == 2


# -- consistency ---------------------------------------------------------------------------------------------------


def test_consistency_flags_a_term_whose_chinese_is_missing() -> None:
    english = "Powder coating, matte black. Remove all burrs before packing."
    problems = check_consistency(english, "哑光黑色喷漆。包装前去除所有毛刺。", STARTER)
    assert [(p.term.en, p.text) for p in problems] == [("powder coating", "Powder coating")]
    assert english[problems[0].start : problems[0].end] == "Powder coating"
    assert problems[0].expected[0] == "喷粉"
    assert "粉末喷涂" in problems[0].expected


def test_consistency_accepts_alternatives_width_case_and_spaces() -> None:
    english = "Powder coating; burrs; ABS housing; polybag"
    assert check_consistency(english, "粉末喷涂；披锋；ＡＢＳ外壳；pe袋", STARTER) == []
    assert check_consistency(english, "喷 粉；毛刺；abs外壳；胶袋", STARTER) == []
    assert [p.term.en for p in check_consistency(english, "喷粉；毛刺；外壳；胶袋", STARTER)] == ["ABS"]


def test_consistency_reports_each_term_once_and_ignores_missing_translations() -> None:
    english = "Burr on the left, burr on the right, burrs everywhere."
    (problem,) = check_consistency(english, "左右两侧都有问题。", STARTER)
    assert (problem.term.en, problem.start) == ("burr", 0)
    assert check_consistency(english, "", STARTER) == []
    assert check_consistency(english, "  \n ", STARTER) == []
    assert check_consistency("", "毛刺", STARTER) == []
    assert check_consistency("No glossary words here.", "这里没有术语。", STARTER) == []


# -- the agency's terms --------------------------------------------------------------------------------------------


async def add_term(db: AsyncSession, **values: str) -> GlossaryTerm:
    async with db.begin():
        row = GlossaryTerm(en_key=term_key(values["en"]), **values)
        db.add(row)
    return row


async def test_agency_terms_extend_and_override_the_starter_set(db: AsyncSession) -> None:
    await add_term(
        db, en="Injection Moulding", zh="啤塑", category="processes", alternatives="注塑 | 注塑成型"
    )
    await add_term(
        db, en="stamping foil", zh="烫金纸", category="finishes", note="rolls of hot stamping foil"
    )
    # the agency reads PC as "piece": it takes that English from polycarbonate, which keeps its own name
    await add_term(db, en="PC", zh="个", category="packaging", alternatives="件|只")
    terms = await load_terms(db)
    await db.commit()

    assert len(terms) == len(STARTER) + 2
    molding = next(t for t in terms if t.key == "injection molding")
    assert (molding.en, molding.zh, molding.alternatives, molding.origin) == (
        "Injection Moulding",
        "啤塑",
        ("注塑", "注塑成型"),
        "agency",
    )
    assert molding.id is not None
    assert found("Injection molding with stamping foil; 1 PC per polycarbonate bag", terms) == [
        ("Injection molding", "Injection Moulding"),
        ("stamping foil", "stamping foil"),
        ("PC", "PC"),
        ("polycarbonate", "polycarbonate"),
    ]
    assert next(t for t in terms if t.en == "polycarbonate").en_alternatives == ()
    assert [p.term.en for p in check_consistency("1 PC per bag, injection molded", "每袋1只", terms)] == []
    assert [p.term.zh for p in check_consistency("Injection molding", "注射", terms)] == ["啤塑"]
    # without agency rows the glossary is the starter set
    async with db.begin():
        for row in (await db.scalars(select(GlossaryTerm))).all():
            await db.delete(row)
    assert await load_terms(db) == STARTER
    await db.commit()


async def test_coordinator_adds_a_term_in_the_back_office(
    client: AsyncTestClient[Litestar], world: World, db: AsyncSession
) -> None:
    assert (await admin_login(client, world.coordinator.email)).status_code == 200
    url = "/admin/api/tables/glossary_terms/"
    schema = (await client.get(f"{url}schema/")).json()
    assert "en_key" not in schema.get("required", [])
    new = (await client.get(f"{url}new/")).json()

    async def post(**values: object) -> tuple[int, str]:
        response = await client.post(url, json={**new, **values}, headers=write_headers(client))
        return response.status_code, response.text

    status, text = await post(
        en="  Tooling   Insert ", zh=" 镶件 ", category="General", alternatives="入子| 镶块 |"
    )
    assert status == 201, text
    row = (await db.scalars(select(GlossaryTerm))).one()
    assert (row.en, row.en_key, row.zh, row.category, row.alternatives, row.created_by_id) == (
        "Tooling   Insert",
        "tooling insert",
        "镶件",
        "general",
        "入子|镶块",
        world.coordinator.id,
    )
    await db.commit()
    terms = await load_terms(db)
    await db.commit()
    assert found("Replace the tooling inserts", terms) == [("tooling inserts", "Tooling   Insert")]
    assert check_consistency("tooling insert", "更换入子", terms) == []

    # the same English again (in another spelling or case) is refused with a message, as are blanks
    status, text = await post(en="tooling-insert", zh="镶件")
    assert (status, "already in the glossary" in text) == (422, True)
    assert (await post(en=" ", zh="镶件"))[0] == 422
    assert (await post(en="ejector sleeve", zh=""))[0] == 422
    status, text = await post(en="ejector sleeve", zh="司筒", category="moulds")
    assert (status, "materials" in text) == (422, True)
    # a starter term can be overridden: it is not an entry of glossary_terms yet
    status, text = await post(en="flash", zh="批锋", category="defects")
    assert status == 201, text

    # editing the English moves the key with it; a sent key or author is ignored
    edit = await client.patch(
        f"{url}{row.id}/",
        json={"en": "mould insert", "en_key": "nonsense", "created_by_id": world.admin.id},
        headers=write_headers(client),
    )
    assert edit.status_code == 200, edit.text
    await db.refresh(row)
    assert (row.en, row.en_key, row.created_by_id) == ("mould insert", "mold insert", world.coordinator.id)
    await db.commit()
    renamed = await client.patch(f"{url}{row.id}/", json={"en": "Flash"}, headers=write_headers(client))
    assert (renamed.status_code, "already in the glossary" in renamed.text) == (422, True)
    terms = await load_terms(db)
    await db.commit()
    assert found("mold inserts with flash", terms) == [("mold inserts", "mould insert"), ("flash", "flash")]
    assert next(t for t in terms if t.en == "flash").zh == "批锋"
