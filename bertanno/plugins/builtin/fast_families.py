"""Built-in trainable model families that fit in seconds on CPU: ``linear`` (sentences and pairs) and
``crf`` (entity spans). A young project has few labels; these learn from them at once, and compete with
the transformer versions under the same gate.

- ``linear``: the classical TF-IDF baseline: character 1-3-grams of the training texts (seen in two texts or
  more, as scikit-learn's ``TfidfVectorizer`` keeps them), sublinear tf ``1 + log tf``, smoothed idf, l2 norm,
  and logistic regression on them; for pairs the features of text a, of text b and their element-wise product
  (the overlap). Stored as ``linear.npz`` (coefficients, intercepts, classes, the n-grams and their idf): no
  pickle, nothing that runs code when loaded. A version saved before the n-grams by name (hashed into 2^18
  buckets) or before the idf weights (tf alone) is served as it was trained.
- ``crf``: a linear-chain CRF (sklearn-crfsuite, L-BFGS with L1 and L2 penalties of 0.1) over character
  features (the character, its neighbours up to two away, bigrams, character classes); BIO tags per
  character, derived from the spans. Stored in CRFsuite's own model file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from bertanno.errors import BertannoError
from bertanno.plugins.bio import char_offsets, spans_to_tags, tags_to_spans
from bertanno.plugins.families import ModelFamily, Timer, predict_each
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Span, Task, softmax

HASH_FEATURES = 2 ** 18
"""Buckets of the hashed n-grams of a version saved before 2026-12-07. Hashing 1,500 reviews into them merged enough
n-grams to cost the live model 0.4 to 1.6 points of accuracy or positive F1 against the TF-IDF baseline on the
same examples (``benchmarks.linear_family``); versions now keep their n-grams by name."""
MAX_NGRAMS = 300_000
"""The most frequent n-grams a version keeps (the baseline's ``max_features``)."""
LINEAR_FILE = "linear.npz"
MIN_DF_FROM = 100
"""Texts from which ``learn_vocabulary`` drops n-grams seen once, as the TF-IDF baseline does."""
CRF_FILE = "model.crfsuite"


# -- linear ------------------------------------------------------------------------------------------------------------

def _counter(ngrams: Sequence[str] | None):
    """Character 1-3-gram counts: over the version's own n-grams (a column each, in that order), or (``None``) a
    version saved before them, hashed into ``HASH_FEATURES`` buckets."""
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    if ngrams is None:
        return HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=HASH_FEATURES, alternate_sign=False,
                                 norm=None)
    vocabulary = {g: i for i, g in enumerate(ngrams)}  # checked here, once, not on the first transform
    return CountVectorizer(analyzer="char", ngram_range=(1, 3), vocabulary=vocabulary).fit([])


def _weighted(counts, idf: np.ndarray | None):
    """N-gram ``counts`` as the baseline weighs them: ``1 + log tf`` times ``idf`` (``None``: tf alone, a version
    saved before idf), each row l2-normalised."""
    from sklearn.preprocessing import normalize

    counts = counts.tocsr(copy=True).astype(np.float64)
    counts.data = 1.0 + np.log(counts.data)
    if idf is not None:
        counts = counts.multiply(idf.reshape(1, -1)).tocsr()
    return normalize(counts, norm="l2")


def learn_vocabulary(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The character 1-3-grams of ``texts`` a version keeps and their smoothed idf (``log((1 + n) / (1 + df)) +
    1``), as scikit-learn's ``TfidfVectorizer`` learns them for the baseline: ``(ngrams str [kept], idf float32
    [kept])``, at most ``MAX_NGRAMS``. From ``MIN_DF_FROM`` texts on an n-gram must be seen in two texts (the
    baseline's ``min_df=2``); below, every n-gram seen counts (a young project's word seen once is all it knows).
    Raises ``BertannoError`` when the texts hold no characters."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, max_features=MAX_NGRAMS,
                                     min_df=2 if len(texts) >= MIN_DF_FROM else 1).fit(texts)
    except ValueError:  # scikit-learn's "empty vocabulary": every text empty
        raise BertannoError("the linear model found no characters to learn from in its training texts") from None
    return vectorizer.get_feature_names_out().astype(str), vectorizer.idf_.astype(np.float32)


def linear_features(examples: Sequence[Example], pairs: bool, idf: np.ndarray | None, counter):
    """Sparse features ``[examples, n-grams]`` (``[examples, 3 x n-grams]`` for pairs: a, b, a * b): the n-gram
    counts of ``counter`` (``_counter``: made once per model, since building it over 300,000 n-grams takes about
    a second), weighted by ``_weighted``; n-grams the version does not know are left out before the rows are
    normalised, as the baseline leaves them."""
    from scipy.sparse import hstack

    a = _weighted(counter.transform([e.text for e in examples]), idf)
    if not pairs:
        return a
    b = _weighted(counter.transform([e.text_b or "" for e in examples]), idf)
    return hstack([a, b, a.multiply(b)]).tocsr()


def balanced_class_weight(labels: Sequence[str]) -> str | None:
    """scikit-learn's ``class_weight`` for a classifier of these training ``labels``: ``"balanced"`` (inverse
    frequency) when the commonest label is at least 1.5 times the rarest, as ``train`` weighs its loss
    (``core.training.label_weights``), else ``None``."""
    counts = Counter(labels).values()
    return "balanced" if counts and max(counts) >= 1.5 * min(counts) else None


def logistic_predictions(features, coef, intercept, classes: Sequence[str]) -> list[Prediction]:
    """One ``Prediction`` per row of ``features`` (``[examples, features]``, dense or sparse) from a logistic
    regression stored as scikit-learn keeps it (``coef`` ``[classes or 1, features]``, ``intercept``): the likeliest
    class, its probability as the confidence, every class's probability in ``scores``."""
    scores = np.asarray(features @ np.asarray(coef).T + np.asarray(intercept))
    if len(classes) == 2:  # scikit-learn's binary form: one column, the second class's log-odds
        scores = np.hstack([np.zeros_like(scores), scores])
    predictions = []
    for row in softmax(scores):
        best = int(row.argmax())
        predictions.append(Prediction(classes[best], float(row[best]),
                                      {label: float(p) for label, p in zip(classes, row)}))
    return predictions


class LinearModel:
    """A stored logistic regression over ``linear_features``: ``ngrams`` the character n-grams it knows and ``idf``
    their weights (``ngrams`` ``None``: a version saved before them, over hashed n-grams)."""

    def __init__(self, task: Task, coef: np.ndarray, intercept: np.ndarray, classes: list[str],
                 idf: np.ndarray | None = None, ngrams: Sequence[str] | None = None):
        self.task, self.coef, self.intercept, self.classes, self.idf = task, coef, intercept, classes, idf
        self.counter = _counter(ngrams)

    def predict(self, examples: Sequence[Example], progress=None):
        timer = Timer(len(examples))
        if not examples:
            return [], timer.done()
        features = linear_features(examples, self.task.example_kind == "pair", self.idf, self.counter)
        predictions = logistic_predictions(features, self.coef, self.intercept, self.classes)
        if progress:
            progress(len(examples), len(examples))
        return predictions, timer.done()


class LinearFamily(ModelFamily):
    name = "linear"
    description = "Character 1-3-gram logistic regression: trains in seconds from a few labels (sentences, pairs)"
    example_kinds = frozenset({"text", "pair"})
    version_prefix = "l"
    trainable = True
    live = True
    modules = ("sklearn", "scipy")
    install = "pip install scikit-learn"
    origin = "trained here on the project's labels (scikit-learn)"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        from sklearn.linear_model import LogisticRegression

        labels = [e.payload for e in examples]
        present = sorted(set(labels), key=list(task.labels).index)
        if len(present) < 2:
            raise BertannoError(f"the linear model needs at least two labels among its training examples; so far "
                                f"there is only {present[0] if present else 'none'}")
        model = LogisticRegression(C=4.0, max_iter=2000, class_weight=balanced_class_weight(labels))
        pairs = task.example_kind == "pair"
        ngrams, idf = learn_vocabulary([e.text for e in examples] + ([e.text_b or "" for e in examples] if pairs
                                                                       else []))
        model.fit(linear_features(examples, pairs, idf, _counter(ngrams)), labels)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / LINEAR_FILE, coef=model.coef_.astype(np.float32),
                            intercept=model.intercept_.astype(np.float32), classes=np.array(model.classes_, dtype=str),
                            idf=idf, ngrams=ngrams)
        return {"examples": len(examples), "classes": list(model.classes_), "ngrams": len(ngrams)}

    def load(self, directory: Path, record: dict, task: Task) -> LinearModel:
        try:
            stored = np.load(Path(directory) / LINEAR_FILE, allow_pickle=False)
        except OSError as exc:
            raise BertannoError(f"cannot load the linear model in {directory}: {exc}") from None
        classes = [str(c) for c in stored["classes"]]
        foreign = [c for c in classes if c not in task.labels]
        if foreign:
            raise BertannoError(f"{directory}: the linear model predicts {', '.join(foreign)}, not labels of the task")
        # saved before 2026-12-07: no n-grams by name, hashed n-grams with the idf of each bucket (or tf alone)
        return LinearModel(task, stored["coef"], stored["intercept"], classes,
                           stored["idf"] if "idf" in stored.files else None,
                           [str(g) for g in stored["ngrams"]] if "ngrams" in stored.files else None)


# -- crf ----------------------------------------------------------------------------------------------------------------

def char_features(text: str) -> list[dict]:
    """CRFsuite features for every character of ``text``."""
    def char(i):
        return text[i] if 0 <= i < len(text) else ("<s>" if i < 0 else "</s>")

    rows = []
    for i, c in enumerate(text):
        rows.append({
            "bias": 1.0, "c": c, "c-1": char(i - 1), "c+1": char(i + 1), "c-2": char(i - 2), "c+2": char(i + 2),
            "c-1c": char(i - 1) + c, "cc+1": c + char(i + 1), "c-1c+1": char(i - 1) + char(i + 1),
            "digit": c.isdigit(), "alpha": c.isascii() and c.isalpha(), "punct": not c.isalnum(),
        })
    return rows


def char_tags(example: Example) -> list[str]:
    spans = [Span(*s) for s in example.payload or ()]
    return [tag or "O" for tag in spans_to_tags(spans, char_offsets(len(example.text)))[0]]


class CrfModel:
    def __init__(self, task: Task, path: Path):
        import sklearn_crfsuite

        self.task = task
        self._crf = sklearn_crfsuite.CRF(model_filename=str(path))

    def predict(self, examples: Sequence[Example], progress=None):
        return predict_each(examples, self._predict_one, progress)

    def _predict_one(self, example: Example, stats) -> Prediction:
        """The Viterbi tags as spans; the confidence is the mean marginal probability of the chosen tags."""
        if not example.text:
            return Prediction([], 1.0)
        features = char_features(example.text)
        tags = self._crf.predict_single(features)
        marginals = self._crf.predict_marginals_single(features)
        confidence = float(np.mean([m[t] for m, t in zip(marginals, tags)]))
        spans = [s for s in tags_to_spans(tags, char_offsets(len(example.text))) if s[2] in self.task.labels]
        return Prediction(spans, confidence)


class CrfFamily(ModelFamily):
    name = "crf"
    description = "Linear-chain CRF over character features: trains in seconds from a few labelled texts (NER)"
    example_kinds = frozenset({"spans"})
    version_prefix = "c"
    trainable = True
    live = True
    modules = ("sklearn_crfsuite",)
    install = "pip install sklearn-crfsuite"
    origin = "trained here on the project's labels (CRFsuite)"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path) -> dict:
        import sklearn_crfsuite

        usable = [e for e in examples if e.text]
        if not any(e.payload for e in usable):
            raise BertannoError("the CRF needs at least one labelled entity among its training examples")
        directory.mkdir(parents=True, exist_ok=True)
        model = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100,
                                     all_possible_transitions=True, model_filename=str(directory / CRF_FILE))
        model.fit([char_features(e.text) for e in usable], [char_tags(e) for e in usable])
        return {"examples": len(usable)}

    def load(self, directory: Path, record: dict, task: Task) -> CrfModel:
        self.require()
        path = Path(directory) / CRF_FILE
        if not path.is_file():
            raise BertannoError(f"cannot load the CRF in {directory}: {CRF_FILE} is missing")
        return CrfModel(task, path)


@hookimpl
def register_model_families(register):
    register(LinearFamily())
    register(CrfFamily())
