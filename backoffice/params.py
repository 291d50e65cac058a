"""Bounded request parameter types shared by the web layers (the back office, and the portal above it).

Every id column is an `Integer` (int4 on PostgreSQL), so no row has an id outside 1..MAX_ID. Query parameters and
JSON bodies carry their bounds in their annotations, so the OpenAPI document states them and validation answers 400
instead of a number the database cannot hold reaching a query (see portal/bounds.py for path parameters).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

MAX_ID = 2**31 - 1  # the largest value of an Integer column on PostgreSQL
MAX_OFFSET = 2**31 - 1  # more rows than any list here will hold; far below what OFFSET accepts (int8)
MAX_PAGE = 1_000_000  # times any page size (at most 200) stays below MAX_OFFSET

Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="Items to skip")]
PageNumber = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="Page number, from 1")]
# an id or a version in a JSON body: out of range is a 400 naming the field, like any other invalid value
RowId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
