import numpy as np
import pytest

from bertanno.core.engine import Predictor, length_batches, pad_batch
from bertanno.plugins.task import Example

REVIEWS = ["很好", "房间太小了，服务也一般，不会再来", "不错", "这本书的内容非常丰富，值得一读，推荐给大家", "差",
           "酒店的位置很好，交通方便，早餐也不错，就是价格有点贵", "一般般吧"]


def test_length_batches_cover_every_index_once_and_respect_the_budget():
    lengths = [5, 50, 7, 300, 12, 12, 90, 1000, 3]
    batches = length_batches(lengths, token_budget=200, max_batch_size=4)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        padded = max(lengths[i] for i in batch) * len(batch)
        assert padded <= 200 or len(batch) == 1  # an input over the budget gets a batch of its own
    # batched by length: each batch's lengths are a contiguous run of the sorted lengths
    flattened = [lengths[i] for batch in batches for i in batch]
    assert flattened == sorted(lengths)


def test_pad_batch_pads_to_the_longest_window_only():
    windows = [{"input_ids": [101, 5, 102], "token_type_ids": [0, 0, 0]}, {"input_ids": [101, 102], "token_type_ids": [0, 0]}]
    batch = pad_batch(windows, pad_token_id=0, keep_token_types=True)
    assert batch["input_ids"].shape == (2, 3)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


def test_batched_predictions_come_back_in_input_order(make_bundle):
    bundle = make_bundle(task="sentiment")
    examples = [Example(text) for text in REVIEWS]
    batched, stats = Predictor(bundle, token_budget=64, max_batch_size=3).predict(examples)
    assert stats.batches > 1
    single = [Predictor(bundle).predict([example])[0][0] for example in examples]
    for together, alone in zip(batched, single):
        assert together.payload == alone.payload
        assert together.confidence == pytest.approx(alone.confidence, abs=1e-5)
    # and the order really differs from length order, so the test can catch a mix-up
    assert [len(t) for t in REVIEWS] != sorted(len(t) for t in REVIEWS)


def test_truncation_is_counted_not_silent(make_bundle):
    bundle = make_bundle(task="sentiment")
    long_text = "很" * (bundle.max_length + 50)
    _, stats = Predictor(bundle).predict([Example("短"), Example(long_text)])
    assert stats.truncated == 1


def test_lawformer_loads_with_the_bert_tokenizer_and_windows_a_long_text(make_bundle):
    bundle = make_bundle("lawformer", "ner", labels=["NHCS", "NS"], attention_window=16, max_length=512)
    assert bundle.model.config.model_type == "longformer"
    assert bundle.tokenizer.unk_token_id not in bundle.tokenizer("被告人张某某在某市盗窃")["input_ids"]
    text = ("2017年6月底的一天13时许，被告人黄某某在嵊州市剡溪小学斜对面的花木田窃得电瓶4只。" * 150)[:6000]
    assert len(text) == 6000
    encoded = bundle.task.encode(bundle.tokenizer, Example(text), bundle.max_length)
    assert len(encoded.windows) > 1
    covered = np.zeros(len(text), dtype=bool)
    for window in encoded.windows:
        assert len(window["input_ids"]) <= bundle.max_length
        for start, end in window["offset_mapping"]:
            covered[start:end] = True
    assert covered.all(), "every character must fall in some window"
    [prediction], stats = Predictor(bundle).predict([Example(text)])
    assert stats.windows == len(encoded.windows) and stats.truncated == 0
    for start, end, label in prediction.payload:
        assert 0 <= start < end <= len(text) and label in ("NHCS", "NS")
