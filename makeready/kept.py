"""Values made once and kept in the process: a bounded store (`Kept`) and a template block that uses one
(`{% kept key %}...{% endkept %}`, the `KeptBlocks` Jinja extension).

Both are for what a page draws again and again from the same inputs (a spec document's body, a project's
timeline): the key must name every input the value depends on, so a changed input is a new key, never a stale
value. Each store holds its `size` most recently read values, the least recently read dropped first. The stores are
read and written by one event loop's thread (no locks).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

T = TypeVar("T")


class Kept(Generic[T]):
    """At most `size` values by key, each made by the first `get` that asks for it."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a store keeps at least one value")
        self.size = size
        self._values: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept for `key`, made by `make()` (and kept) when there is none."""
        values = self._values
        value = values.get(key)
        if value is None:
            value = values[key] = make()
            if len(values) > self.size:
                values.popitem(last=False)
        else:
            values.move_to_end(key)
        return value

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        self._values.clear()


class KeptBlocks(Extension):
    """`{% kept key %}...{% endkept %}`: the block's HTML rendered once per key and kept.

    The environment's attributes say where (`kept_blocks`, a `Kept` of 256 blocks) and what every block varies with
    besides its key (`kept_varies_with`, e.g. the reader's language); set them after the environment is made
    (`Environment.extend` would not replace the defaults). The key of a block is its place (template, line and
    number), that, and the key the template gives, which must name every value the block reads.
    """

    tags = {"kept"}

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.extend(kept_blocks=Kept[Markup](256), kept_varies_with=lambda: None)
        self._blocks = itertools.count()

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endkept",), drop_needle=True)
        # two blocks on one line are two places: each parsed block is numbered
        place = nodes.Const(f"{parser.name}:{lineno}:{next(self._blocks)}")
        call = self.call_method("_render", [place, key])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, place: str, key: Hashable, caller: Callable[[], Markup]) -> Markup:
        env: Any = self.environment
        return env.kept_blocks.get((place, env.kept_varies_with(), key), caller)
