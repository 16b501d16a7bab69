"""Lexicon and character features beside the encoder for token tasks (``bertanno train --features``).

What a CRF over characters uses well and a small encoder may miss, per token (its first character): the character
bigrams either side, the jieba word it sits in (its position in the word, B/M/E/S, with the word's length, and the
word itself), and where it sits in a match of the project's terms (``vocab add``). Each feature is hashed into
``BUCKETS`` rows of a table with one score per tag; a token's feature scores are the sum of its features' rows and
are added to the encoder's token logits before the softmax or the CRF, as a linear layer over the encoder's output
concatenated with the features' one-hot vectors would (SoftLexicon, Ma et al. 2020, "Simplify the Usage of
Lexicon in Chinese NER", adds such word features to a BERT's output; here in their cheapest, linear form).

The table trains with the model (``FEATURE_MODULE`` while training, at its own step like the CRF's scores) and is
saved beside the weights (``FEATURES_FILE``); at serving time the scores are added in numpy outside the model, so
that int8 and ONNX variants use them unchanged.
"""

from __future__ import annotations

import threading
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from bertanno.plugins.bio import SPECIAL
from bertanno.plugins.builtin.gazetteer_family import automaton, match_spans

BUCKETS = 1 << 16
"""Hashed feature rows (row 0 is padding and stays 0)."""
SLOTS = 6
"""Features per token: left bigram, right bigram, word position and length, the word, the term position, and the
token itself when it spans several characters."""
FEATURES_KEY = "bertanno_token_features"
"""The model config's field saying that the version has a feature table: ``{"buckets": B, "slots": S}``."""
FEATURES_FILE = "token_features.npy"
FEATURE_MODULE = "bertanno_token_features"
FEATURE_LEARNING_RATE = 1e-2
"""The step of the feature table: it starts at 0, like the CRF's scores (``core.crf.CRF_LEARNING_RATE``)."""
TERM = "term"
"""The one type the term automaton gives its matches."""
_segmenters: dict[tuple[str, ...], tuple] = {}
_lock = threading.Lock()


def _segmenter(terms: tuple[str, ...]):
    """``(jieba tokenizer, term automaton)`` for ``terms``: a jieba tokenizer of its own (the process-wide one is
    left alone) with the terms as user words, and the gazetteer family's Aho-Corasick automaton over them; made
    once per term list (one project's at a time)."""
    with _lock:
        if terms not in _segmenters:
            import jieba

            jieba.setLogLevel(60)
            tokenizer = jieba.Tokenizer()
            for term in terms:
                if len(term) > 1 and not any(ch.isspace() for ch in term):
                    tokenizer.add_word(term)
            _segmenters.clear()  # one project's terms at a time
            _segmenters[terms] = (tokenizer, automaton([(term, TERM) for term in terms]))
        return _segmenters[terms]


def _position(index: int, length: int) -> str:
    return "S" if length == 1 else "B" if index == 0 else "E" if index == length - 1 else "M"


@lru_cache(maxsize=4096)
def _hashed(key: str) -> int:
    return 1 + zlib.crc32(key.encode("utf-8")) % (BUCKETS - 1)


def char_feature_keys(text: str, terms: Sequence[str] = ()) -> list[list[str]]:
    """The feature names of each character of ``text``: ``L:`` and ``R:`` the bigrams ending and starting there,
    ``S:`` its place in its jieba word (B/M/E/S) with the word's length (up to 4), ``W:`` the word when it has
    several characters, ``T:`` its place in the longest leftmost match of ``terms``. One list per character."""
    segmenter, terms_automaton = _segmenter(tuple(sorted({t for t in terms if t})))
    words = [""] * len(text)
    places = ["S"] * len(text)
    lengths = [1] * len(text)
    position = 0
    for line in text.split("\n"):
        for word, start, end in segmenter.tokenize(line):
            for offset in range(start, end):
                words[position + offset] = word
                places[position + offset] = _position(offset - start, end - start)
                lengths[position + offset] = end - start
        position += len(line) + 1
    in_term = ["O"] * len(text)
    for start, end, _ in match_spans(terms_automaton, text, {TERM: TERM}):  # longest leftmost
        for offset in range(start, end):
            in_term[offset] = _position(offset - start, end - start)
    keys = []
    for i, ch in enumerate(text):
        row = [f"L:{text[i - 1] if i else '<s>'}{ch}", f"R:{ch}{text[i + 1] if i + 1 < len(text) else '</s>'}",
               f"S:{places[i]}{min(lengths[i], 4)}", f"T:{in_term[i]}"]
        if lengths[i] > 1:
            row.append(f"W:{words[i]}")
        keys.append(row)
    return keys


def token_feature_ids(text: str, offsets: Sequence[tuple[int, int]], terms: Sequence[str] = ()) -> list[list[int]]:
    """``SLOTS`` hashed feature ids per token of a window (``offsets``: its ``offset_mapping``): its first
    character's features (``char_feature_keys``) and, for a token of several characters, ``K:`` the token; 0
    (padding) in the slots left and for special tokens."""
    return windows_feature_ids(text, [offsets], terms)[0]


def windows_feature_ids(text: str, windows: Sequence[Sequence[tuple[int, int]]],
                        terms: Sequence[str] = ()) -> list[list[list[int]]]:
    """``token_feature_ids`` of each window of one text (``windows``: their offset mappings), the text segmented
    once for all of them."""
    keys = char_feature_keys(text, terms)
    result = []
    for offsets in windows:
        rows = []
        for start, end in offsets:
            if (start, end) == SPECIAL or start >= len(text):
                rows.append([0] * SLOTS)
                continue
            names = list(keys[start])
            if end - start > 1:
                names.append(f"K:{text[start:end]}")
            ids = [_hashed(name) for name in names[:SLOTS]]
            rows.append(ids + [0] * (SLOTS - len(ids)))
        result.append(rows)
    return result


def feature_logits(table: np.ndarray, ids: Sequence[Sequence[int]]) -> np.ndarray:
    """``[tokens, tags]``: each token's feature scores, the sum of ``table``'s rows for its ``ids``."""
    return np.asarray(table)[np.asarray(ids, dtype=np.int64).reshape(len(ids), SLOTS)].sum(axis=1)


def attach_features(model, tags: int, table: np.ndarray | None = None):
    """Give ``model`` (a token classifier with ``tags`` outputs) a feature table as ``FEATURE_MODULE`` (``table``'s
    values, or zeros) and hooks that add its scores to the classifier's logits when the batch holds
    ``feature_ids`` (``[windows, tokens, SLOTS]``): a pre-hook takes them out of the model's inputs, a hook on the
    classifier adds the scores. Returns the module."""
    import torch

    class FeatureTable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            weights = torch.zeros(BUCKETS, tags) if table is None else torch.tensor(np.asarray(table),
                                                                                    dtype=torch.float32)
            self.table = torch.nn.Embedding(BUCKETS, tags, padding_idx=0, _weight=weights)
            self.pending = None

        def forward(self, ids):
            return self.table(ids).sum(dim=2)

    module = FeatureTable()
    setattr(model, FEATURE_MODULE, module)

    def take_ids(_, args, kwargs):
        module.pending = kwargs.pop("feature_ids", None)
        return args, kwargs

    def add_scores(_, __, logits):
        if module.pending is None or logits.dim() != 3:
            return logits
        ids = module.pending.to(logits.device)[:, : logits.shape[1]]
        return logits + module(ids).to(logits.dtype)

    module.handles = [model.register_forward_pre_hook(take_ids, with_kwargs=True),
                      model.classifier.register_forward_hook(add_scores)]
    return module


def detach_features(model) -> np.ndarray | None:
    """Remove a trained ``FEATURE_MODULE`` and its hooks from ``model``, record the table in its config
    (``FEATURES_KEY``) and return the table (``[BUCKETS, tags]``); ``None`` for a model without one."""
    module = getattr(model, FEATURE_MODULE, None)
    if module is None:
        return None
    for handle in module.handles:
        handle.remove()
    table = module.table.weight.detach().cpu().numpy().copy()
    delattr(model, FEATURE_MODULE)
    setattr(model.config, FEATURES_KEY, {"buckets": BUCKETS, "slots": SLOTS})
    return table


def features_of(bundle) -> np.ndarray | None:
    """The feature table ``bundle`` serves with: its training module's current values while it has one, else the
    table it was loaded or trained with (``bundle.token_features``); ``None`` for none."""
    module = getattr(bundle.model, FEATURE_MODULE, None)
    if module is not None:
        return module.table.weight.detach().cpu().numpy()
    return getattr(bundle, "token_features", None)


def save_features(table: np.ndarray | None, directory: Path) -> None:
    """Write ``table`` into a version folder (``FEATURES_FILE``, float32); nothing for ``None``."""
    if table is not None:
        np.save(Path(directory) / FEATURES_FILE, np.asarray(table, dtype=np.float32), allow_pickle=False)


def load_features(directory: Path, config) -> np.ndarray | None:
    """The feature table of a version folder whose model config says it has one (``FEATURES_KEY``); ``None``
    otherwise. Raises ``OSError``/``ValueError`` for a missing or damaged file."""
    if not getattr(config, FEATURES_KEY, None):
        return None
    return np.load(Path(directory) / FEATURES_FILE, allow_pickle=False)
