"""The zh-mini model card's downstream section is rewritten in place (``python -m benchmarks.zh_mini_ship
--card-only``) without touching the rest of the card."""

from benchmarks.report import ZH_MINI_CARD_HEADING
from benchmarks.zh_mini_ship import with_card_section

CARD = "# zh-mini\n\nintro\n\n## Training\n\nstages\n\n## Data and licences\n\nlicences\n\n## Rebuild\n\ncommands\n"


def section(*rows):
    return [ZH_MINI_CARD_HEADING, "", "| set | zh-mini |", "|---|---|", *rows, ""]


def test_the_section_goes_before_the_data_and_keeps_a_blank_line_before_the_next_heading():
    card = with_card_section(CARD, section("| afqmc | 0.409 |"))
    assert card.index("## Training") < card.index(ZH_MINI_CARD_HEADING) < card.index("## Data and licences")
    assert "| afqmc | 0.409 |\n\n## Data and licences\n" in card
    assert card.endswith("## Rebuild\n\ncommands\n")


def test_new_rows_replace_the_old_section_and_a_second_rewrite_changes_nothing():
    first = with_card_section(CARD, section("| afqmc | 0.409 |"))
    second = with_card_section(first, section("| afqmc | 0.409 |", "| msra_ner | 0.791 |"))
    assert second.count(ZH_MINI_CARD_HEADING) == 1
    assert "| msra_ner | 0.791 |\n\n## Data and licences" in second
    assert with_card_section(second, section("| afqmc | 0.409 |", "| msra_ner | 0.791 |")) == second
    assert second.replace("| msra_ner | 0.791 |\n", "") == first


def test_an_empty_section_removes_the_old_one():
    assert with_card_section(with_card_section(CARD, section("| afqmc | 0.409 |")), []) == CARD
