"""makeready.html.option_tags: a select's options, written once per list, the chosen one marked per call."""

from __future__ import annotations

from makeready.html import option_tags

CHOICES = ((1, "Acme"), (2, 'Evil <option value="1">'), (12, "Tw&lve"))


def test_the_chosen_option_is_marked_and_every_value_and_label_escaped() -> None:
    assert option_tags(CHOICES, 1).count(" selected") == 1
    assert '<option value="1" selected>Acme</option>' in option_tags(CHOICES, 1)
    # a label cannot hold an option's tag, so only the real option is marked
    assert '<option value="2">Evil &lt;option value=&#34;1&#34;&gt;</option>' in option_tags(CHOICES, 1)
    assert '<option value="12" selected>Tw&amp;lve</option>' in option_tags(CHOICES, 12)


def test_nothing_is_marked_for_no_choice_or_a_value_that_is_no_option() -> None:
    plain = option_tags(CHOICES)
    assert " selected" not in plain
    assert option_tags(CHOICES, "") == plain
    assert option_tags(CHOICES, 3) == plain
    assert option_tags(CHOICES, '1">') == plain
