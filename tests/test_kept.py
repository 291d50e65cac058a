"""makeready.kept: the bounded store of values made once, and the template block kept in one."""

from __future__ import annotations

import pytest
from jinja2 import Environment

from makeready.kept import Kept, KeptBlocks


def test_a_value_is_made_once_and_the_least_recently_read_is_dropped() -> None:
    made: list[str] = []
    store = Kept[str](2)

    def get(key: str) -> str:
        return store.get(key, lambda: made.append(key) or key.upper())

    assert get("a") == "A"
    assert get("b") == "B"
    assert get("a") == "A"
    assert made == ["a", "b"]
    get("c")  # over the size: "b" was read least recently
    assert len(store) == 2
    get("a")
    get("b")
    assert made == ["a", "b", "c", "b"]
    with pytest.raises(ValueError, match="at least one"):
        Kept[str](0)


def test_a_kept_block_is_rendered_once_per_key_place_and_variant() -> None:
    env = Environment(extensions=[KeptBlocks], autoescape=True)
    variant = ["en"]
    env.kept_varies_with = lambda: variant[0]  # type: ignore[attr-defined]
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    template = env.from_string(
        "{% kept key %}<b>{{ name }}</b> {{ count() }}{% endkept %}|{% kept key %}{{ count() }}{% endkept %}"
    )
    first = template.render(key=1, name="<i>", count=count)
    assert first == "<b>&lt;i&gt;</b> 1|2"  # escaped inside, markup outside; two places, two blocks
    assert template.render(key=1, name="other", count=count) == first  # the key names what the block reads
    assert template.render(key=2, name="x", count=count) == "<b>x</b> 3|4"
    variant[0] = "zh_Hans"
    assert template.render(key=1, name="<i>", count=count) == "<b>&lt;i&gt;</b> 5|6"
