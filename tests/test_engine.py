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
    bundle = make_bundle(task="pair")
    long_text = "很" * (bundle.max_length + 50)
    _, stats = Predictor(bundle).predict([Example("短", text_b="句"), Example(long_text, text_b="句")])
    assert stats.truncated == 1


def test_a_long_sentiment_text_is_read_in_windows_when_asked_else_truncated(make_bundle):
    import dataclasses

    bundle = make_bundle(task="sentiment")
    long_text = "很" * (bundle.max_length + 50)
    windowed = dataclasses.replace(bundle, task=bundle.task.with_config(long_texts="windows"))
    [prediction, _], stats = Predictor(windowed).predict([Example(long_text), Example("短")])
    assert stats.truncated == 0 and stats.windows == 3 and prediction.payload in bundle.task.labels
    [prediction, _], stats = Predictor(bundle).predict([Example(long_text), Example("短")])  # the default
    assert stats.truncated == 1 and stats.windows == 2 and prediction.payload in bundle.task.labels


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


def test_the_gpu_predicts_in_half_precision_and_the_cpu_in_float32():
    import torch

    from bertanno.core.engine import inference_dtype

    assert inference_dtype(torch.device("cpu")) == torch.float32
    assert inference_dtype(torch.device("cuda"), bf16_supported=True) == torch.bfloat16
    assert inference_dtype(torch.device("cuda:1"), bf16_supported=False) == torch.float16


def test_the_gpu_token_budget_follows_free_memory_within_its_bounds():
    from bertanno.core.engine import CPU_TOKEN_BUDGET, GPU_MAX_TOKEN_BUDGET, memory_token_budget

    gib = 2 ** 30
    one = memory_token_budget(768, 4 * gib)
    assert CPU_TOKEN_BUDGET < one < GPU_MAX_TOKEN_BUDGET
    assert memory_token_budget(768, 8 * gib) in (2 * one, 2 * one + 1)  # proportional to the free memory
    assert memory_token_budget(768, 4 * gib, dtype_bytes=4) in (one // 2, one // 2 + 1)  # and to the value size
    assert memory_token_budget(768, 4 * gib, share=0.25) in (one // 2, one // 2 + 1)
    assert memory_token_budget(1536, 4 * gib) in (one // 2, one // 2 + 1)  # inversely to the width
    assert memory_token_budget(768, 2 ** 20) == CPU_TOKEN_BUDGET  # a nearly full GPU still takes a CPU-sized batch
    assert memory_token_budget(128, 140 * gib) == GPU_MAX_TOKEN_BUDGET


def test_the_cpu_predictor_keeps_float32_and_the_cpu_batch_sizes(make_bundle):
    import torch

    from bertanno.core.engine import CPU_MAX_BATCH_SIZE, CPU_TOKEN_BUDGET

    bundle = make_bundle(labels=["negative", "positive"], layers=1, hidden=32)
    predictor = Predictor(bundle, device="cpu")
    assert (predictor.dtype, predictor.token_budget, predictor.max_batch_size) == \
        (torch.float32, CPU_TOKEN_BUDGET, CPU_MAX_BATCH_SIZE)
    assert Predictor(bundle, device="cpu", token_budget=100, max_batch_size=2).token_budget == 100
    assert bundle.model.config._attn_implementation == "sdpa"  # PyTorch's fused attention, on the GPU too
    assert next(bundle.model.parameters()).dtype == torch.float32
