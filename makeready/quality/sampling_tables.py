"""ISO 2859-1 Table 1 and Table 2-A, laid out as the standard prints them; `sampling` reads and resolves them.

Sources: ISO 2859-1:1999 Table 1 (sample size code letters) and Table 2-A (single sampling plans for normal
inspection, master table); ANSI/ASQ Z1.4-2008 Tables I and II-A carry the same values (as did MIL-STD-105E).

The grids are text so that a reviewer can hold them against the printed tables cell by cell. In Table 2-A a cell is
`Ac/Re` (acceptance number / rejection number) or an arrow: `↓` "use the first sampling plan below the arrow",
`↑` "use the first sampling plan above the arrow". Nothing here resolves an arrow; `sampling.master_plan` does, and
the sample size then becomes that of the row where the plan is found. tests/test_sampling.py checks every cell,
resolved, against an independent transcription of the same standard.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

DOWN: Final = "↓"
UP: Final = "↑"

LEVELS: Final = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")

# Table 1: sample size code letters. A lot-size row "500001-" has no upper bound ("500 001 and over").
TABLE_1: Final = """
lot size        S-1   S-2   S-3   S-4   I     II    III
2-8             A     A     A     A     A     A     B
9-15            A     A     A     A     A     B     C
16-25           A     A     B     B     B     C     D
26-50           A     B     B     C     C     D     E
51-90           B     B     C     C     C     E     F
91-150          B     B     C     D     D     F     G
151-280         B     C     D     E     E     G     H
281-500         B     C     D     E     F     H     J
501-1200        C     C     E     F     G     J     K
1201-3200       C     D     E     G     H     K     L
3201-10000      C     D     F     G     J     L     M
10001-35000     C     D     F     H     K     M     N
35001-150000    D     E     G     J     L     N     P
150001-500000   D     E     G     J     M     P     Q
500001-         D     E     H     K     N     Q     R
"""

# Table 2-A, the AQL columns that may be read as percent nonconforming (0.010 to 10).
TABLE_2A_PERCENT: Final = """
code  n     0.010 0.015 0.025 0.040 0.065 0.10  0.15  0.25  0.40  0.65  1.0   1.5   2.5   4.0   6.5   10
A     2     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↓
B     3     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓
C     5     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2
D     8     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3
E     13    ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4
F     20    ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6
G     32    ↓     ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8
H     50    ↓     ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11
J     80    ↓     ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15
K     125   ↓     ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22
L     200   ↓     ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑
M     315   ↓     ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑
N     500   ↓     ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑
P     800   ↓     0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑
Q     1250  0/1   ↑     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑
R     2000  ↑     ↑     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑     ↑
"""

# Table 2-A, the AQL columns above 10, which the standard defines only as nonconformities per 100 items. Kept so
# the master table is whole and checked; `sampling.plan` does not offer them (it counts nonconforming items).
TABLE_2A_PER_HUNDRED: Final = """
code  n     15    25    40    65    100   150   250   400   650   1000
A     2     ↓     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 30/31
B     3     1/2   2/3   3/4   5/6   7/8   10/11 14/15 21/22 30/31 44/45
C     5     2/3   3/4   5/6   7/8   10/11 14/15 21/22 30/31 44/45 ↑
D     8     3/4   5/6   7/8   10/11 14/15 21/22 30/31 44/45 ↑     ↑
E     13    5/6   7/8   10/11 14/15 21/22 30/31 44/45 ↑     ↑     ↑
F     20    7/8   10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑     ↑
G     32    10/11 14/15 21/22 ↑     ↑     ↑     ↑     ↑     ↑     ↑
H     50    14/15 21/22 ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
J     80    21/22 ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
K     125   ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
L     200   ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
M     315   ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
N     500   ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
P     800   ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
Q     1250  ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
R     2000  ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑     ↑
"""


def parse_table_1(text: str = TABLE_1) -> tuple[tuple[int, int | None, dict[str, str]], ...]:
    """Rows of (smallest lot, largest lot or None, {level: code letter}), in the printed order."""
    header, *lines = text.strip().splitlines()
    levels = tuple(header.split()[2:])
    if levels != LEVELS:
        raise ValueError(f"Table 1 header lists {levels}, expected {LEVELS}")
    rows = []
    for line in lines:
        bounds, *letters = line.split()
        low, _, high = bounds.partition("-")
        if len(letters) != len(LEVELS):
            raise ValueError(f"Table 1 row {bounds} has {len(letters)} letters")
        rows.append((int(low), int(high) if high else None, dict(zip(LEVELS, letters, strict=True))))
    return tuple(rows)


def parse_table_2a(*texts: str) -> tuple[dict[str, int], dict[tuple[str, Decimal], str]]:
    """({code letter: sample size}, {(code letter, AQL): cell}) from grids that share their rows."""
    sizes: dict[str, int] = {}
    cells: dict[tuple[str, Decimal], str] = {}
    for text in texts:
        header, *lines = text.strip().splitlines()
        aqls = [Decimal(a) for a in header.split()[2:]]
        for line in lines:
            letter, size, *row = line.split()
            if len(row) != len(aqls):
                raise ValueError(f"Table 2-A row {letter} has {len(row)} cells for {len(aqls)} AQLs")
            if sizes.setdefault(letter, int(size)) != int(size):
                raise ValueError(f"Table 2-A row {letter} has two sample sizes")
            for aql, cell in zip(aqls, row, strict=True):
                accept, slash, reject = cell.partition("/")
                # a single sampling plan rejects at one more than it accepts
                if cell not in (DOWN, UP) and not (
                    slash and accept.isdigit() and reject == str(int(accept) + 1)
                ):
                    raise ValueError(f"Table 2-A cell {letter} {aql} reads {cell!r}")
                cells[letter, aql] = cell
    return sizes, cells
