import numpy as np
import pytest

from bertanno.core.engine import Predictor
from bertanno.errors import BertannoError
from bertanno.plugins.bio import spans_to_tags, tags_to_spans
from bertanno.plugins.task import Example, Prediction, Span


def test_pair_encoding_puts_segment_ids_in_the_right_places(make_bundle):
    bundle = make_bundle(task="pair")
    tokenizer = bundle.tokenizer
    encoded = bundle.task.encode(tokenizer, Example("花呗怎么还款", text_b="借呗还款"), bundle.max_length)
    [window] = encoded.windows
    tokens = tokenizer.convert_ids_to_tokens(window["input_ids"])
    assert tokens == ["[CLS]", "花", "呗", "怎", "么", "还", "款", "[SEP]", "借", "呗", "还", "款", "[SEP]"]
    assert window["token_type_ids"] == [0] * 8 + [1] * 5


def test_pair_truncation_keeps_both_texts(make_bundle):
    bundle = make_bundle(task="pair")
    encoded = bundle.task.encode(bundle.tokenizer, Example("长" * 600, text_b="短句"), 64)
    [window] = encoded.windows
    assert encoded.truncated and len(window["input_ids"]) == 64
    assert window["token_type_ids"].count(1) == 3  # 短 句 [SEP]


def test_a_long_text_is_read_whole_in_overlapping_windows_each_with_the_label(make_bundle):
    bundle = make_bundle(task="sentiment")
    text = "".join(chr(0x4E00 + i) for i in range(100))  # 100 distinct characters, one token each
    assert bundle.task.encode(bundle.tokenizer, Example(text), 32).truncated  # the default: the first tokens
    task = bundle.task.with_config(long_texts="windows")
    encoded = task.encode(bundle.tokenizer, Example(text, payload="positive"), 32, with_labels=True)
    assert not encoded.truncated and len(encoded.windows) > 1
    whole = bundle.tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = [window["input_ids"][1:-1] for window in encoded.windows]
    assert all(len(window["input_ids"]) <= 32 and window["labels"] == 1 for window in encoded.windows)
    assert pieces[0] == whole[:30] and pieces[-1] == whole[-len(pieces[-1]):]
    seen = set()
    for before, after in zip(pieces, pieces[1:]):  # neighbours share tokens: nothing falls between windows
        assert set(before) & set(after)
        seen |= set(before)
    assert seen | set(pieces[-1]) == set(whole)
    short = task.encode(bundle.tokenizer, Example("好吃"), 32)
    assert len(short.windows) == 1 and short.windows[0]["input_ids"] == bundle.tokenizer("好吃")["input_ids"]


def test_the_windows_of_a_long_text_vote_by_their_mean_logits(plugins):
    task = plugins.task("sentiment", labels=["neg", "pos"])
    prediction = task.decode(Example("长文"), None, [np.array([1.0, 0.0]), np.array([0.0, 3.0])])
    assert prediction.payload == "pos"  # the first window alone says neg
    assert prediction.confidence == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_long_texts_truncate_keeps_the_first_tokens_and_a_bad_value_is_named(plugins, make_bundle):
    bundle = make_bundle(task="sentiment")
    encoded = bundle.task.encode(bundle.tokenizer, Example("很" * 100), 32)  # the default
    assert encoded.truncated and len(encoded.windows) == 1 and len(encoded.windows[0]["input_ids"]) == 32
    assert bundle.task.with_config(long_texts="windows").long_texts == "windows"
    assert bundle.task.long_texts == "truncate"  # with_config leaves the task it copies alone
    with pytest.raises(BertannoError, match="long_texts is 'chunks'; it is one of windows, truncate"):
        plugins.task("sentiment", long_texts="chunks").encode(bundle.tokenizer, Example("好"), 32)
    pair = plugins.task("pair")
    assert pair.long_texts == "truncate" and "long_texts" not in pair.describe()["config"]


def test_a_version_saved_before_windows_is_read_as_it_was_trained(make_bundle, tmp_path):
    import dataclasses

    from bertanno.core.bundle import load_version, save_version, update_version_record

    bundle = make_bundle(task="sentiment")
    windowed = dataclasses.replace(bundle, task=bundle.task.with_config(long_texts="windows"))
    directory = save_version(windowed, tmp_path / "v1")
    assert load_version(directory).task.long_texts == "windows"  # as it was trained
    record = update_version_record(directory, {"config": {}})  # as written before long_texts existed
    old = load_version(directory)
    assert old.task.long_texts == "truncate" and record["config"] == {}
    _, stats = Predictor(old).predict([Example("很" * (old.max_length + 50))])
    assert stats.truncated == 1 and stats.windows == 1


def test_classification_training_labels_and_decoding(make_bundle):
    task = make_bundle(task="sentiment", labels=["neg", "neu", "pos"]).task
    assert task.encode(make_bundle(task="sentiment", labels=["neg", "neu", "pos"]).tokenizer,
                       Example("好", payload="pos"), 16, with_labels=True).windows[0]["labels"] == 2
    prediction = task.decode(Example("好"), None, [np.array([0.0, 1.0, 3.0])])
    assert prediction.payload == "pos" and prediction.confidence == pytest.approx(np.exp(3) / (1 + np.e + np.exp(3)))
    assert set(prediction.scores) == {"neg", "neu", "pos"}


def test_classification_metrics(plugins):
    task = plugins.task("sentiment", labels=["neg", "pos"])
    scores = task.metrics(["neg", "neg", "pos", "pos"], ["neg", "pos", "pos", "pos"])
    assert scores["accuracy"] == 0.75
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert list(scores)[0] == "accuracy"


def test_pair_metrics_report_f1_of_the_positive_label(plugins):
    task = plugins.task("pair", labels=["0", "1"])
    scores = task.metrics(["0", "1", "1", "0"], ["0", "1", "0", "1"])
    assert scores["accuracy"] == 0.5 and scores["f1"] == pytest.approx(0.5)
    scores = task.metrics(["0", "1", "1", "1"], ["0", "1", "1", "0"])
    assert scores["f1"] == pytest.approx(0.8)
    assert list(scores)[0] == "macro_f1"  # the headline the gate and early stopping judge by


def test_classification_corrections(plugins):
    task = plugins.task("sentiment")
    assert task.parse_correction("2", Example("x")) == "positive"
    assert task.parse_correction("negative", Example("x")) == "negative"
    with pytest.raises(ValueError, match="1 = negative"):
        task.parse_correction("7", Example("x"))


def test_ner_metrics_are_strict_entity_level(plugins):
    task = plugins.task("ner")
    gold = [[Span(0, 2, "PER"), Span(3, 5, "LOC")], [Span(1, 3, "ORG")]]
    predicted = [[Span(0, 2, "PER"), Span(3, 4, "LOC")], [Span(1, 3, "LOC")]]  # a short span and a wrong type
    scores = task.metrics(gold, predicted)
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1/PER"] == 1.0 and scores["f1/LOC"] == 0.0
    assert list(scores)[0] == "f1"


def test_ner_training_labels_follow_the_tokenizer(make_bundle):
    bundle = make_bundle(task="ner")
    example = Example("张三在北京工作", payload=[Span(0, 2, "PER"), Span(3, 5, "LOC")])
    [window] = bundle.task.encode(bundle.tokenizer, example, 32, with_labels=True).windows
    tags = [None if i == -100 else bundle.task.model_labels[i] for i in window["labels"]]
    assert tags == [None, "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", None]


def test_ner_decoding_of_logits(plugins):
    task = plugins.task("ner")
    labels = task.model_labels
    window = {"input_ids": [101, 1, 2, 3, 102], "offset_mapping": [(0, 0), (0, 1), (1, 2), (2, 3), (0, 0)]}
    wanted = ["O", "B-PER", "I-PER", "O", "O"]
    logits = np.full((5, len(labels)), -5.0)
    for row, tag in enumerate(wanted):
        logits[row, labels.index(tag)] = 5.0
    prediction = task.decode(Example("张三在"), type("E", (), {"windows": [window]})(), [logits])
    assert prediction.payload == [Span(0, 2, "PER")]
    assert 0.99 < prediction.confidence <= 1.0


def test_ner_corrections(plugins):
    task = plugins.task("ner")
    example = Example("张三和张三在北京")
    assert task.parse_correction("张三:PER 张三:PER 6-8:LOC", example) == [
        Span(0, 2, "PER"), Span(3, 5, "PER"), Span(6, 8, "LOC")]
    assert task.parse_correction("", example) == []
    with pytest.raises(ValueError, match="not in the label set"):
        task.parse_correction("北京:CITY", example)
    with pytest.raises(ValueError, match="does not occur"):
        task.parse_correction("上海:LOC", example)


def test_spans_survive_the_round_trip_through_bert_tokens(plugins, make_bundle):
    """spans -> BIO over bert-base-chinese tokens -> spans, on sentences mixing Chinese, Latin words, digits,
    full-width forms and emoji (the benchmarks run the same check on the whole MSRA test file)."""
    tokenizer = make_bundle(task="ner").tokenizer
    task = plugins.task("ner", labels=["PER", "LOC", "ORG", "TEST"])
    examples = [("中共中央致电张三", [Span(0, 4, "ORG"), Span(6, 8, "PER")]),
                ("李四在Beijing做了CT检查，结果2023年出", [Span(0, 2, "PER"), Span(3, 10, "LOC"), Span(12, 14, "TEST")]),
                ("王五😀住在上海市浦东新区", [Span(0, 2, "PER"), Span(5, 12, "LOC")])]
    total = 0
    for text, spans in examples:
        task.validate(Example(text, payload=spans))
        offsets = [tuple(o) for o in tokenizer(text, return_offsets_mapping=True)["offset_mapping"]]
        tags, problems = spans_to_tags(spans, offsets)
        assert problems == []  # every span falls on token boundaries of this tokenizer
        assert tags_to_spans(tags, offsets) == sorted(spans)
        total += len(spans)
    assert total == 7



def test_predicted_ner_spans_point_into_the_text(make_bundle):
    bundle = make_bundle(task="ner")
    examples = [Example("张三在北京大学工作"), Example(""), Example("  "), Example("COVID-19 疫情")]
    predictions, _ = Predictor(bundle).predict(examples)
    for example, prediction in zip(examples, predictions):
        assert isinstance(prediction, Prediction)
        for start, end, label in prediction.payload:
            assert 0 <= start < end <= len(example.text) and label in bundle.task.labels
