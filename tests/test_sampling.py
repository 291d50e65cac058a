"""ISO 2859-1 single sampling (makeready.quality.sampling): the worked example, every table cell against a second
source, arrows, 100 % inspection, zero tolerance, refused inputs and verdicts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from makeready.errors import ValidationFailed
from makeready.i18n import use_locale
from makeready.quality import sampling
from makeready.quality.sampling import SamplingPlan, lot_verdict, master_plan, plan, verdict

# ---------------------------------------------------------------------------------------------------------------
# The second, independent source: the CRAN package AQLSchemes by John Lawson (MIL-STD-105E = ANSI/ASQ Z1.4),
# GitHub mirror cran/AQLSchemes, file R/AAZ14Single.R, version 1.7-2 (commit c60f3b3). Its data (not its code) is
# transcribed here in its own shape: Table I as the `letters` vector read by row into a 15 x 7 matrix (rows: its
# `LotSize` labels; columns: its `InspLev`), and Table II-A with the arrows already followed, as three matrices
# over 16 code letters x 26 AQLs: the sample sizes (`temp` for ANSIASQSingleNormalss, one group of 26 per code
# letter) and the acceptance and rejection numbers (its columns c1..c26, one per AQL, 16 code letters each; R's
# rep(x, k) is written [x] * k, and c2 <- c1 is copied out).
# ---------------------------------------------------------------------------------------------------------------
LAWSON_CODES = ("A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "Q", "R")
LAWSON_INSP_LEV = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
LAWSON_LOT_SIZE = (
    "2-8", "9-15", "16-25", "26-50", "51-90", "91-150", "151-280", "281-500", "501-1200", "1201-3200",
    "3201-10,000", "10,001-35,000", "35,001-150,000", "150,001-500,000", "over 500,001",
)  # fmt: skip
LAWSON_AQL = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0", "1.5", "2.5",
    "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250", "400", "650", "1000",
)  # fmt: skip
LAWSON_LETTERS = (
    "A", "A", "A", "A", "A", "A", "B",
    "A", "A", "A", "A", "A", "B", "C",
    "A", "A", "B", "B", "B", "C", "D",
    "A", "B", "B", "C", "C", "D", "E",
    "B", "B", "C", "C", "C", "E", "F",
    "B", "B", "C", "D", "D", "F", "G",
    "B", "C", "D", "E", "E", "G", "H",
    "B", "C", "D", "E", "F", "H", "J",
    "C", "C", "E", "F", "G", "J", "K",
    "C", "D", "E", "G", "H", "K", "L",
    "C", "D", "F", "G", "J", "L", "M",
    "C", "D", "F", "H", "K", "M", "N",
    "D", "E", "G", "J", "L", "N", "P",
    "D", "E", "G", "J", "M", "P", "Q",
    "D", "E", "H", "K", "N", "Q", "R",
)  # fmt: skip
LAWSON_NORMAL_SS = (
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 8, 5, 3, 2, 5, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2),  # A
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 8, 5, 3, 2, 5, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3),  # B
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 8, 5, 3, 8, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 3),  # C
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 8, 5, 13, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 5, 3),  # D
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 8, 20, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 8, 5, 3),  # E
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 32, 20, 20, 20, 20, 20, 20, 20, 20, 13, 13, 13, 8, 5, 3),  # F
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 50, 32, 32, 32, 32, 32, 32, 32, 32, 20, 13, 13, 13, 8, 5, 3),  # G
    (1250, 800, 500, 315, 200, 125, 80, 50, 32, 80, 50, 50, 50, 50, 50, 50, 50, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # H
    (1250, 800, 500, 315, 200, 125, 80, 50, 125, 80, 80, 80, 80, 80, 80, 80, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # J
    (1250, 800, 500, 315, 200, 125, 80, 200, 125, 125, 125, 125, 125, 125, 125, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # K
    (1250, 800, 500, 315, 200, 125, 315, 200, 200, 200, 200, 200, 200, 200, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # L
    (1250, 800, 500, 315, 200, 500, 315, 315, 315, 315, 315, 315, 315, 315, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # M
    (1250, 800, 500, 315, 800, 500, 500, 500, 500, 500, 500, 500, 500, 315, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # N
    (1250, 800, 500, 1250, 800, 800, 800, 800, 800, 800, 800, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # P
    (1250, 800, 2000, 1250, 1250, 1250, 1250, 1250, 1250, 1250, 1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # Q
    (1250, 800, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 1250, 800, 500, 315, 200, 125, 80, 50, 32, 20, 13, 13, 13, 8, 5, 3),  # R
)  # fmt: skip
LAWSON_NORMAL_AC = (
    [0] * 16,  # c1
    [0] * 16,  # c2 <- c1
    [*[0] * 14, 1, 1],  # c3
    [*[0] * 13, 1, 1, 2],  # c4
    [*[0] * 12, 1, 1, 2, 3],  # c5
    [*[0] * 11, 1, 1, 2, 3, 5],  # c6
    [*[0] * 10, 1, 1, 2, 3, 5, 7],  # c7
    [*[0] * 9, 1, 1, 2, 3, 5, 7, 10],  # c8
    [*[0] * 8, 1, 1, 2, 3, 5, 7, 10, 14],  # c9
    [*[0] * 7, 1, 1, 2, 3, 5, 7, 10, 14, 21],  # c10
    [*[0] * 6, 1, 1, 2, 3, 5, 7, 10, 14, 21, 21],  # c11
    [*[0] * 5, 1, 1, 2, 3, 5, 7, 10, 14, 21, 21, 21],  # c12
    [*[0] * 4, 1, 1, 2, 3, 5, 7, 10, 14, 21, 21, 21, 21],  # c13
    [*[0] * 3, 1, 1, 2, 3, 5, 7, 10, 14, *[21] * 5],  # c14
    [0, 0, 1, 1, 2, 3, 5, 7, 10, 14, 21, *[21] * 5],  # c15
    [1, 1, 1, 2, 3, 5, 7, 10, 14, 21, *[21] * 6],  # c16
    [1, 1, 2, 3, 5, 7, 10, 14, 21, *[21] * 7],  # c17
    [1, 2, 3, 5, 7, 10, 14, 21, *[21] * 8],  # c18
    [2, 3, 5, 7, 10, 14, 21, *[21] * 9],  # c19
    [3, 5, 7, 10, 14, 21, *[21] * 10],  # c20
    [5, 7, 10, 14, 21, *[21] * 11],  # c21
    [7, 10, 14, 21, 30, *[30] * 11],  # c22
    [10, 14, 21, 30, 44, *[44] * 11],  # c23
    [14, 21, 30, 44, *[44] * 12],  # c24
    [21, 30, 44, *[44] * 13],  # c25
    [30, 44, *[44] * 14],  # c26
)  # fmt: skip
LAWSON_NORMAL_RE = (
    [1] * 16,  # c1
    [1] * 16,  # c2 <- c1
    [*[1] * 14, 2, 2],  # c3
    [*[1] * 13, 2, 2, 3],  # c4
    [*[1] * 12, 2, 2, 3, 4],  # c5
    [*[1] * 11, 2, 2, 3, 4, 6],  # c6
    [*[1] * 10, 2, 2, 3, 4, 6, 8],  # c7
    [*[1] * 9, 2, 2, 3, 4, 6, 8, 11],  # c8
    [*[1] * 8, 2, 2, 3, 4, 6, 8, 11, 15],  # c9
    [*[1] * 7, 2, 2, 3, 4, 6, 8, 11, 15, 22],  # c10
    [*[1] * 6, 2, 2, 3, 4, 6, 8, 11, 15, 22, 22],  # c11
    [*[1] * 5, 2, 2, 3, 4, 6, 8, 11, 15, 22, 22, 22],  # c12
    [*[1] * 4, 2, 2, 3, 4, 6, 8, 11, 15, 22, 22, 22, 22],  # c13
    [*[1] * 3, 2, 2, 3, 4, 6, 8, 11, 15, *[22] * 5],  # c14
    [1, 1, 2, 2, 3, 4, 6, 8, 11, 15, 22, *[22] * 5],  # c15
    [2, 2, 2, 3, 4, 6, 8, 11, 15, 22, *[22] * 6],  # c16
    [2, 2, 3, 4, 6, 8, 11, 15, 22, *[22] * 7],  # c17
    [2, 3, 4, 6, 8, 11, 15, 22, *[22] * 8],  # c18
    [3, 4, 6, 8, 11, 15, 22, *[22] * 9],  # c19
    [4, 6, 8, 11, 15, 22, *[22] * 10],  # c20
    [6, 8, 11, 15, 22, *[22] * 11],  # c21
    [8, 11, 15, 22, 31, *[31] * 11],  # c22
    [11, 15, 22, 31, 45, *[45] * 11],  # c23
    [15, 22, 31, 45, *[45] * 12],  # c24
    [22, 31, 45, *[45] * 13],  # c25
    [31, 45, *[45] * 14],  # c26
)  # fmt: skip

PERCENT_AQLS = LAWSON_AQL[: LAWSON_AQL.index("10") + 1]


def lawson_code_letter(lot_size: int, level: str) -> str:
    """Its Table I: the row whose label holds the lot size, the column of the level."""
    for row, label in enumerate(LAWSON_LOT_SIZE):
        numbers = [int(part.replace(",", "")) for part in label.replace("over ", "").split("-")]
        low, high = (numbers[0], numbers[1]) if len(numbers) == 2 else (numbers[0], None)
        if low <= lot_size and (high is None or lot_size <= high):
            return LAWSON_LETTERS[row * len(LAWSON_INSP_LEV) + LAWSON_INSP_LEV.index(level)]
    raise AssertionError(lot_size)


def lawson_plan(letter: str, aql: str) -> tuple[int, int, int]:
    """Its Table II-A, arrows followed: (sample size, Ac, Re)."""
    row, column = LAWSON_CODES.index(letter), LAWSON_AQL.index(aql)
    return (
        LAWSON_NORMAL_SS[row][column],
        LAWSON_NORMAL_AC[column][row],
        LAWSON_NORMAL_RE[column][row],
    )


def lawson_lot_sizes() -> list[int]:
    """The two ends and a middle of each of its lot-size rows (the open one ends at our limit)."""
    sizes = []
    for label in LAWSON_LOT_SIZE:
        numbers = [int(part.replace(",", "")) for part in label.replace("over ", "").split("-")]
        low, high = numbers[0], numbers[1] if len(numbers) == 2 else sampling.MAX_LOT_SIZE
        sizes += [low, (low + high) // 2, high]
    return sizes


def refused(call, *args) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call(*args)
    return caught.value


# (a) the worked example ----------------------------------------------------------------------------------------


def test_worked_example_3000_units_level_ii_aql_2_5():
    p = plan(3000, "II", "2.5")
    assert (p.code_letter, p.plan_letter, p.sample_size, p.accept, p.reject) == ("K", "K", 125, 7, 8)
    assert p.aql == Decimal("2.5")
    assert p.level == "II"
    assert p.lot_size == 3000
    assert not p.hundred_percent
    assert not p.zero_tolerance
    # the same plan whichever way the AQL is written
    assert plan(3000, "ii", Decimal("2.50")) == p


# (b) every cell against the second source ---------------------------------------------------------------------


def test_the_second_source_is_whole():
    assert len(LAWSON_LETTERS) == len(LAWSON_LOT_SIZE) * len(LAWSON_INSP_LEV)
    assert len(LAWSON_NORMAL_SS) == 16
    assert all(len(row) == 26 for row in LAWSON_NORMAL_SS)
    assert len(LAWSON_NORMAL_AC) == len(LAWSON_NORMAL_RE) == 26
    assert all(len(column) == 16 for column in (*LAWSON_NORMAL_AC, *LAWSON_NORMAL_RE))
    assert tuple(LAWSON_CODES) == tuple(sampling.CODE_LETTERS)
    assert tuple(Decimal(a) for a in LAWSON_AQL) == sampling.ALL_AQLS


def test_table_1_every_lot_size_row_and_level_agrees_with_the_second_source():
    checked = 0
    for lot_size in lawson_lot_sizes():
        for level in LAWSON_INSP_LEV:
            assert sampling.code_letter(lot_size, level) == lawson_code_letter(lot_size, level), (
                lot_size,
                level,
            )
            checked += 1
    assert checked == 15 * 3 * 7


def test_table_2a_every_code_letter_and_aql_agrees_with_the_second_source():
    for letter in LAWSON_CODES:
        for aql in LAWSON_AQL:
            found = master_plan(letter, aql)
            assert (found.sample_size, found.accept, found.reject) == lawson_plan(letter, aql), (letter, aql)
            # the resolved letter is the row whose sample size it is
            assert sampling.SAMPLE_SIZES[found.letter] == found.sample_size


def test_plan_for_every_lot_size_row_level_and_percent_aql_agrees_with_the_second_source():
    for lot_size in lawson_lot_sizes():
        for level in LAWSON_INSP_LEV:
            for aql in PERCENT_AQLS:
                size, accept, reject = lawson_plan(lawson_code_letter(lot_size, level), aql)
                # the second source's own rule: "If the sample size exceeds the lot size, carry out 100% inspection"
                expected = (min(size, lot_size), accept, reject, size >= lot_size)
                p = plan(lot_size, level, aql)
                assert (p.sample_size, p.accept, p.reject, p.hundred_percent) == expected, (
                    lot_size,
                    level,
                    aql,
                )


# (c) arrows ----------------------------------------------------------------------------------------------------


def test_a_down_arrow_moves_to_the_plan_below_with_its_larger_sample():
    # K at AQL 0.25 is an arrow down: L's plan, 200 items, Ac 1 Re 2 (not K's 125)
    p = plan(3000, "II", "0.25")
    assert (p.code_letter, p.plan_letter, p.sample_size, p.accept, p.reject) == ("K", "L", 200, 1, 2)


def test_an_up_arrow_moves_to_the_plan_above_with_its_smaller_sample():
    # K at AQL 0.15 is an arrow up: J's plan, 80 items, Ac 0 Re 1
    p = plan(3000, "II", "0.15")
    assert (p.code_letter, p.plan_letter, p.sample_size, p.accept, p.reject) == ("K", "J", 80, 0, 1)


def test_arrows_pass_over_arrows_that_point_the_same_way():
    # A at 10 points down past B's arrow to C's 1/2; R at 0.015 points up past Q's arrow to P's 0/1
    assert master_plan("A", "10") == sampling.MasterPlan(letter="C", sample_size=5, accept=1, reject=2)
    assert master_plan("R", "0.015") == sampling.MasterPlan(letter="P", sample_size=800, accept=0, reject=1)
    # the small lot at a strict AQL runs down the column from A to the first plan, F's 20 items
    p = plan(500, "S-1", "0.65")
    assert (p.code_letter, p.plan_letter, p.sample_size) == ("B", "F", 20)


def test_the_typed_table_keeps_its_arrows():
    # the tables hold what the standard prints, not resolved plans: the cells above are arrows
    _sizes, cells = sampling.parse_table_2a(sampling.TABLE_2A_PERCENT, sampling.TABLE_2A_PER_HUNDRED)
    assert cells["K", Decimal("0.25")] == "↓"
    assert cells["K", Decimal("0.15")] == "↑"
    assert cells["K", Decimal("2.5")] == "7/8"


# (d) 100 % inspection ------------------------------------------------------------------------------------------


def test_a_tiny_lot_is_inspected_whole_with_the_resolved_plans_numbers():
    # 5 items at level II is code A; AQL 1.0 runs down to E's 13 items, more than the lot
    p = plan(5, "II", "1.0")
    assert (p.code_letter, p.plan_letter) == ("A", "E")
    assert p.hundred_percent
    assert p.sample_size == 5
    assert (p.accept, p.reject) == (0, 1)
    assert verdict(p, 0) == "accept"
    assert verdict(p, 1) == "reject"


def test_a_lot_of_one_item_is_inspected_whole():
    p = plan(1, "III", "6.5")
    assert p.code_letter == "B"
    assert p.hundred_percent
    assert p.sample_size == 1


def test_a_sample_exactly_the_lot_size_is_100_percent():
    # 8 items at level II is code A; AQL 1.5 runs down to D's 8 items
    p = plan(8, "II", "1.5")
    assert p.plan_letter == "D"
    assert p.hundred_percent
    assert p.sample_size == 8
    # 9 items (code B) take the same 8-item plan, now a sample
    nine = plan(9, "II", "1.5")
    assert (nine.plan_letter, nine.sample_size, nine.hundred_percent) == ("D", 8, False)


# (e) zero tolerance --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aql", ["0", Decimal(0), 0, "0.0"])
def test_zero_tolerance_uses_the_code_letters_sample_with_ac_0_re_1(aql):
    p = plan(3000, "II", aql)
    assert p.zero_tolerance
    assert p.aql == Decimal(0)
    assert (p.code_letter, p.plan_letter, p.sample_size, p.accept, p.reject) == ("K", "K", 125, 0, 1)
    assert verdict(p, 0) == "accept"
    assert verdict(p, 1) == "reject"


def test_zero_tolerance_on_a_small_lot_is_100_percent():
    p = plan(2, "II", "0")
    assert p.zero_tolerance
    assert p.hundred_percent
    assert p.sample_size == 2


# (f) refused inputs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lot_size", [0, -5, True, 2.5, "100", None])
def test_a_lot_size_that_is_not_a_whole_number_of_at_least_one_is_refused(lot_size):
    error = refused(plan, lot_size, "II", "2.5")
    assert error.extra["field"] == "lot_size"
    assert error.message == "The lot size must be a whole number of at least 1."


def test_an_absurd_lot_size_is_refused():
    error = refused(plan, 10**9 + 1, "II", "2.5")
    assert error.extra["field"] == "lot_size"
    assert error.message == "The lot size must be at most 1,000,000,000 items."
    assert plan(10**9, "II", "2.5").code_letter == "Q"


@pytest.mark.parametrize("level", ["IV", "", "S-5", "G", None, 2])
def test_an_unknown_inspection_level_is_refused(level):
    error = refused(plan, 3000, level, "2.5")
    assert error.extra["field"] == "level"
    assert error.message == "The inspection level must be one of S-1, S-2, S-3, S-4, I, II, III."


def test_special_levels_may_be_written_without_the_hyphen():
    assert plan(3000, "s2", "2.5").level == "S-2"


@pytest.mark.parametrize("aql", ["3.0", "-1", "abc", "NaN", "Infinity", "15", "1000", 2.5, None, "1" * 30])
def test_an_aql_that_is_not_a_supported_column_is_refused(aql):
    error = refused(plan, 3000, "II", aql)
    assert error.extra["field"] == "aql"
    assert error.message.startswith("The AQL must be one of the standard's values: 0, 0.010, 0.015,")
    assert error.message.endswith("6.5, 10.")


def test_refusals_are_translated():
    with use_locale("zh_Hans"):
        message = refused(plan, 0, "II", "2.5").message
    assert message != "The lot size must be a whole number of at least 1."
    assert "1" in message


def test_the_master_table_refuses_unknown_letters_and_aqls():
    assert refused(master_plan, "I", "2.5").extra["field"] == "letter"
    assert refused(master_plan, "K", "0").extra["field"] == "aql"


# (g) verdicts --------------------------------------------------------------------------------------------------


def test_verdict_accepts_at_ac_and_rejects_at_re():
    p = plan(3000, "II", "2.5")
    assert verdict(p, 0) == "accept"
    assert verdict(p, 7) == "accept"
    assert verdict(p, 8) == "reject"
    assert verdict(p, 125) == "reject"


@pytest.mark.parametrize("count", [126, -1, True, 1.0, "3", None])
def test_verdict_refuses_counts_that_cannot_come_from_the_sample(count):
    error = refused(verdict, plan(3000, "II", "2.5"), count)
    assert error.extra["field"] == "defectives"


def test_a_count_over_the_sample_names_both_numbers():
    assert refused(verdict, plan(3000, "II", "2.5"), 126).message == (
        "126 nonconforming items cannot be among the 125 items inspected."
    )


def test_lot_verdict_per_class_and_overall():
    plans = {
        "critical": plan(3000, "II", "0"),
        "major": plan(3000, "II", "2.5"),
        "minor": plan(3000, "II", "4.0"),
    }
    accepted = lot_verdict(plans, {"critical": 0, "major": 7, "minor": 10})
    assert accepted.by_class == {"critical": "accept", "major": "accept", "minor": "accept"}
    assert accepted.overall == "accept"
    rejected = lot_verdict(plans, {"critical": 0, "major": 8, "minor": 0})
    assert rejected.by_class == {"critical": "accept", "major": "reject", "minor": "accept"}
    assert rejected.overall == "reject"
    assert lot_verdict(plans, {"critical": 1, "major": 0, "minor": 0}).overall == "reject"
    # a class may be left out of the inspection altogether
    assert lot_verdict({"major": plans["major"]}, {"major": 3}).by_class == {"major": "accept"}


def test_lot_verdict_refuses_bad_counts_and_classes():
    plans = {"major": plan(3000, "II", "2.5"), "minor": plan(3000, "II", "4.0")}
    assert refused(lot_verdict, plans, {"major": 126, "minor": 0}).extra["field"] == "major"
    assert refused(lot_verdict, plans, {"major": 0, "minor": -1}).extra["field"] == "minor"
    missing = refused(lot_verdict, plans, {"major": 0})
    assert missing.extra["field"] == "minor"
    assert missing.message == "Give the number of items with minor defects, zero if none."
    assert refused(lot_verdict, plans, {"major": 0, "minor": 0, "critical": 0}).extra["field"] == "critical"
    assert refused(lot_verdict, plans, {"major": 0, "minor": 0, "cosmetic": 0}).extra["field"] == "cosmetic"
    assert refused(lot_verdict, {}, {}).extra["field"] == "plans"


# freezing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [(3000, "II", "2.5"), (3, "II", "0.65"), (3000, "S-1", "0"), (10**9, "III", "0.010")]
)
def test_a_plan_survives_a_json_round_trip(args):
    import json

    p = plan(*args)
    stored = json.loads(json.dumps(p.to_dict()))
    assert stored["aql"] == str(p.aql)
    assert stored["scheme"] == sampling.SCHEME
    assert SamplingPlan.from_dict(stored) == p


@pytest.mark.parametrize(
    "change",
    [
        {"scheme": "ANSI Z1.9"},
        {"aql": "3.0"},
        {"aql": "bad"},
        {"aql": 2.5},
        {"accept": 9},
        {"sample_size": 5000},
        {"lot_size": "3000"},
        {"hundred_percent": 1},
        {"level": "IV"},
        {"zero_tolerance": True},
        {"extra": 1},
    ],
)
def test_from_dict_refuses_what_is_not_a_frozen_plan(change):
    data = {**plan(3000, "II", "2.5").to_dict(), **change}
    assert refused(SamplingPlan.from_dict, data).extra["field"] == "sampling_plan"
