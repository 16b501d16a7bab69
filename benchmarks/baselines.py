"""Classical baselines on the identical splits, scored with the same task metrics as bertanno:

- sentiment and pairs: character 1-3-gram TF-IDF + logistic regression (pairs: the features of text a,
  of text b, and their element-wise product, which carries the overlap);
- NER: a linear-chain CRF (sklearn-crfsuite) over character features, tags BIO from the same spans;
- sentiment: SnowNLP's bundled sentiment model as it comes (trained on product reviews), no training here.
"""

from __future__ import annotations

from bertanno.plugins.bio import char_offsets, spans_to_tags, tags_to_spans
from bertanno.plugins.builtin.fast_families import balanced_class_weight
from bertanno.plugins.task import Span


def tfidf_logistic_regression(task, train, test) -> dict:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=300_000)
    pairs = task.example_kind == "pair"
    vectorizer.fit([e.text for e in train] + ([e.text_b for e in train] if pairs else []))

    def features(examples):
        a = vectorizer.transform([e.text for e in examples])
        if not pairs:
            return a
        b = vectorizer.transform([e.text_b for e in examples])
        return hstack([a, b, a.multiply(b)]).tocsr()

    labels = [e.payload for e in train]
    model = LogisticRegression(C=4.0, max_iter=2000, class_weight=balanced_class_weight(labels))  # as bertanno weighs
    model.fit(features(train), labels)
    predicted = list(model.predict(features(test)))
    return task.metrics([e.payload for e in test], predicted)


def _char_features(text: str, i: int) -> dict:
    def char(offset):
        j = i + offset
        return text[j] if 0 <= j < len(text) else ("<s>" if j < 0 else "</s>")

    c = text[i]
    return {
        "bias": 1.0, "c": c, "c-1": char(-1), "c+1": char(1), "c-2": char(-2), "c+2": char(2),
        "c-1c": char(-1) + c, "cc+1": c + char(1), "c-1c+1": char(-1) + char(1),
        "digit": c.isdigit(), "alpha": c.isascii() and c.isalpha(), "punct": not c.isalnum(),
    }


def crf(task, train, test, max_iterations: int = 100) -> dict:
    import sklearn_crfsuite

    def tags(example):
        spans = [Span(*s) for s in example.payload or ()]
        return [t or "O" for t in spans_to_tags(spans, char_offsets(len(example.text)))[0]]

    def sentence(text):
        return [_char_features(text, i) for i in range(len(text))]

    model = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=max_iterations,
                                 all_possible_transitions=True)
    model.fit([sentence(e.text) for e in train], [tags(e) for e in train])
    predicted = [tags_to_spans(t, char_offsets(len(e.text))) for e, t in
                 zip(test, model.predict([sentence(e.text) for e in test]))]
    return task.metrics([e.payload for e in test], predicted)


def snownlp_sentiment(task, test, positive: str = "1", negative: str = "0") -> dict:
    from snownlp import SnowNLP

    predicted = [positive if SnowNLP(e.text).sentiments > 0.5 else negative for e in test]
    return task.metrics([e.payload for e in test], predicted)
