import pytest
from hypothesis import given
from hypothesis import strategies as st

from bertanno.plugins.bio import char_offsets, spans_to_tags, split_tag, tags_to_spans
from bertanno.plugins.task import Span


def test_bio_bmes_and_underscore_tags_decode_to_the_same_spans():
    offsets = char_offsets(6)
    expected = [Span(0, 2, "PER"), Span(3, 6, "LOC")]
    assert tags_to_spans(["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC"], offsets) == expected
    assert tags_to_spans(["B_PER", "I_PER", "O", "B_LOC", "I_LOC", "I_LOC"], offsets) == expected
    assert tags_to_spans(["B-PER", "E-PER", "O", "B-LOC", "M-LOC", "E-LOC"], offsets) == expected


def test_single_and_adjacent_entities():
    assert tags_to_spans(["S-PER", "S-PER", "B-LOC"], char_offsets(3)) == [
        Span(0, 1, "PER"), Span(1, 2, "PER"), Span(2, 3, "LOC")]


@pytest.mark.parametrize("tags, expected", [
    (["O", "I-PER", "I-PER"], [Span(1, 3, "PER")]),                        # I after O opens an entity
    (["B-PER", "I-LOC", "I-LOC"], [Span(0, 1, "PER"), Span(1, 3, "LOC")]),  # type change opens another
    (["I-PER"], [Span(0, 1, "PER")]),
    (["B-PER", "E-PER", "I-PER"], [Span(0, 2, "PER"), Span(2, 3, "PER")]),  # E closes
])
def test_invalid_sequences_decode_deterministically(tags, expected):
    assert tags_to_spans(tags, char_offsets(len(tags))) == expected


def test_special_tokens_are_skipped():
    offsets = [(0, 0), (0, 1), (1, 2), (0, 0)]
    assert tags_to_spans([None, "B-PER", "I-PER", None], offsets) == [Span(0, 2, "PER")]
    tags, problems = spans_to_tags([Span(0, 2, "PER")], offsets)
    assert tags == [None, "B-PER", "I-PER", None] and problems == []


def test_a_token_crossing_a_boundary_is_reported_not_dropped():
    # tokens: "高血压病" as one added term, then "人"
    offsets = [(0, 4), (4, 5)]
    tags, problems = spans_to_tags([Span(0, 3, "disease"), Span(4, 5, "crowd")], offsets)
    assert tags == ["O", "B-crowd"]
    assert [p.span for p in problems] == [Span(0, 3, "disease")]
    assert "crosses its boundary" in problems[0].reason


def test_nested_and_uncovered_spans_are_reported():
    offsets = [(0, 1), (1, 2), (3, 4)]  # the character at 2 (a space) has no token
    tags, problems = spans_to_tags([Span(0, 2, "A"), Span(1, 2, "B"), Span(2, 3, "C")], offsets)
    assert tags == ["B-A", "I-A", "O"]
    reasons = {p.span.label: p.reason for p in problems}
    assert "overlaps" in reasons["B"] and "no token" in reasons["C"]


def test_not_a_tag():
    with pytest.raises(ValueError):
        split_tag("PER")


LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@given(st.lists(st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=5, max_size=5),
                min_size=0, max_size=12))
def test_constrained_decoding_never_emits_an_invalid_bio_sequence(rows):
    # issue 47, part 1: the token head's per-token argmax could put I-X after O
    from bertanno.plugins.bio import constrained_tags, split_tag

    probabilities = [[value + 1e-6 for value in row] for row in rows]
    tags = [LABELS[i] for i in constrained_tags(LABELS, probabilities)]
    assert len(tags) == len(rows)
    for position, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        if prefix == "I":
            assert position > 0 and split_tag(tags[position - 1])[1] == kind, tags


def test_constrained_decoding_keeps_a_valid_argmax_and_repairs_an_invalid_one_by_likelihood():
    from bertanno.plugins.bio import constrained_tags

    one_hot = lambda *ps: [list(p) for p in ps]  # noqa: E731
    valid = one_hot([0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.05, 0.8, 0.03, 0.02], [0.9, 0.02, 0.02, 0.03, 0.03])
    assert [LABELS[i] for i in constrained_tags(LABELS, valid)] == ["B-PER", "I-PER", "O"]
    # O then I-PER (argmax): B-PER is almost as likely as I-PER there, so O B-PER, never O I-PER
    invalid = one_hot([0.9, 0.02, 0.02, 0.03, 0.03], [0.05, 0.4, 0.45, 0.05, 0.05])
    assert [LABELS[i] for i in constrained_tags(LABELS, invalid)] == ["O", "B-PER"]
    # I-LOC right after B-PER (argmax): either B-PER B-LOC or B-PER I-PER, whichever is likelier
    crossed = one_hot([0.05, 0.85, 0.04, 0.03, 0.03], [0.02, 0.05, 0.3, 0.08, 0.55])
    assert [LABELS[i] for i in constrained_tags(LABELS, crossed)] == ["B-PER", "I-PER"]
