"""Built-in model family ``llm``: a large language model behind any OpenAI-compatible chat-completions endpoint
(Ollama, vLLM, llama.cpp's server, a hosted API), serving a project's own labels from the first item.

``init P --task … --zero-shot llm --llm-model qwen2.5:7b`` makes version ``m001`` the project's first champion;
the endpoint (``--llm-url``, default Ollama's ``http://127.0.0.1:11434/v1``), the model name and the name of the
environment variable holding the API key (``--llm-key-env``, default ``BERTANNO_LLM_KEY``) are the version's
options. The key itself is read when a request is made: it is never stored and never printed. An ``http://``
URL to another machine is refused unless ``--allow-remote`` (the texts would cross the network unencrypted).

Each item is one request: a system message that names the task, its labels (and for relations the schema) and the
JSON to answer with; for a few-shot version (``train --family llm``: ``LlmFamily.fit`` keeps the training split's
decisions) the most similar decisions as user/assistant turns (``Demonstrations``); then the item's text; ``temperature`` 0, and ``response_format`` with a JSON schema (a server
that refuses it is asked again without, and from then on never with). The answer is parsed and checked: a label
of the project; entities as their surface text and type, which bertanno finds in the text itself (the n-th time
the model names a surface is its n-th occurrence, by code points), dropping and counting a surface that is not
in the text or a type that is not the project's (``PredictStats.unaligned``: the hallucinated spans); relations
between those entities as the schema allows. An answer that does not parse or check is asked for once more,
then the item gets no pre-annotation (``PredictStats.unanswered``). The confidence is the mean token
probability when the server returns log-probabilities; else, with ``--llm-samples K`` > 1, the share of K answers
(the first at temperature 0, the others at ``SAMPLE_TEMPERATURE`` with seeds 1…K-1) that agree with the first;
else 0 (none: ``--order uncertain`` serves such items first).

Requests: ``--llm-concurrency`` at a time (default 2), at most ``--llm-rpm`` a minute (default none), each with a
timeout (60 s); a 429 or 5xx answer is retried after its ``Retry-After`` or 1, 2, 4 s; an endpoint that does not
answer raises ``LlmUnavailable`` with the URL and what to check. Answers are cached by (model, messages) in the
project's models folder, one file per endpoint and model shared by all the project's versions (``cache_file``), so
a repeat costs nothing. No dependency beyond the standard library.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from bertanno.errors import BertannoError
from bertanno.plugins.families import ModelFamily, PredictStats, ServingUnavailable, Timer
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Prediction, Relation, Span, SpanGraph, Task

DEFAULT_URL = "http://127.0.0.1:11434/v1"
KEY_ENV = "BERTANNO_LLM_KEY"
CACHE_FILE = "llm_cache.jsonl"
CACHE_FOLDER = "llm-cache"
DEMONSTRATIONS_FILE = "demonstrations.jsonl"
SHOTS = 4
SHOT_BUDGET = 1500
SAMPLE_TEMPERATURE = 0.7
TIMEOUT = 60.0
RETRIES = 3
BACKOFF = (1.0, 2.0, 4.0)


class LlmUnavailable(ServingUnavailable):
    """The endpoint did not answer (refused, timed out, or kept failing): the sentence names it and what to check."""


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_remote: bool = False) -> str:
    """``url`` without a trailing slash. Raises ``BertannoError`` for a URL that is not http(s), and for an
    ``http://`` URL to another machine unless ``allow_remote``: the items' texts would travel unencrypted."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BertannoError(f"--llm-url must be an http:// or https:// URL of an OpenAI-compatible server, got {url!r}")
    if parts.scheme == "http" and not is_loopback(url) and not allow_remote:
        raise BertannoError(f"{url} is another machine over plain http: the items' texts would leave this machine "
                            "unencrypted; use https, a server on this machine, or say --allow-remote")
    return url.rstrip("/")


def masked(text: str, key: str | None) -> str:
    """``text`` with the API key replaced by ``***`` (an error message never shows it)."""
    return text.replace(key, "***") if key else text


# -- the answer each task asks for -----------------------------------------------------------------------------------

def answer_schema(task: Task) -> dict:
    """The JSON schema of the answer for ``task``'s kind of item (``response_format``)."""
    entity = {"type": "object", "properties": {"text": {"type": "string"}, "type": {"enum": list(task.labels)}},
              "required": ["text", "type"]}
    if task.example_kind == "spans":
        return {"type": "object", "properties": {"entities": {"type": "array", "items": entity}},
                "required": ["entities"]}
    if task.example_kind == "relations":
        relation = {"type": "object", "properties": {"head": {"type": "integer"}, "tail": {"type": "integer"},
                                                     "type": {"enum": list(task.relation_labels)}},
                    "required": ["head", "tail", "type"]}
        return {"type": "object", "properties": {"entities": {"type": "array", "items": entity},
                                                 "relations": {"type": "array", "items": relation}},
                "required": ["entities", "relations"]}
    return {"type": "object", "properties": {"label": {"enum": list(task.labels)}, "reason": {"type": "string"}},
            "required": ["label"]}


def instructions(task: Task, descriptions: dict[str, str] | None = None) -> str:
    """The system message: the task, its labels (with their descriptions from the project's guidelines when the
    version has them) and the JSON to answer with."""
    labels = "、".join(task.labels)
    if task.example_kind == "spans":
        asked = (f"找出文本中的所有实体，类型只能是：{labels}。每个实体给出它在文本中的原文（一字不差）和类型；同一实体出现几次就列几次，"
                 '按出现顺序。只回答 JSON：{"entities": [{"text": "原文", "type": "类型"}]}')
    elif task.example_kind == "relations":
        schema = "；".join(f"{t.name}：{'|'.join(t.heads)}→{'|'.join(t.tails)}" for t in task.relation_types)
        asked = (f"找出文本中的所有实体（类型只能是：{labels}）和它们之间的关系（关系类型及其头、尾实体类型：{schema}）。"
                 "实体给出原文和类型，按出现顺序；关系用实体在列表中的序号（从 0 开始）。只回答 JSON："
                 '{"entities": [{"text": "原文", "type": "类型"}], "relations": [{"head": 0, "tail": 1, "type": "关系"}]}')
    elif task.example_kind == "pair":
        asked = (f"判断下面两段文本的关系，标签只能是：{labels}。只回答 JSON："
                 '{"label": "标签", "reason": "一句理由"}')
    else:
        asked = f'给下面的文本一个标签，标签只能是：{labels}。只回答 JSON：{{"label": "标签", "reason": "一句理由"}}'
    meanings = "".join(f"\n- {label}：{descriptions[label]}" for label in task.labels if (descriptions or {}).get(label))
    return f"你是{task.name}标注助手。{asked}" + (f"\n标注指南中各标签的含义：{meanings}" if meanings else "")


def user_text(example: Example) -> str:
    """What the user message says: the text, or both texts of a pair."""
    return example.text if example.text_b is None else f"文本A：{example.text}\n文本B：{example.text_b}"


def messages(task: Task, example: Example, shots: Sequence[Example] = (),
             descriptions: dict[str, str] | None = None) -> list[dict]:
    """The chat messages for one item: the instructions (with the labels' ``descriptions``), then each
    demonstration as the user's text and the answer the team gave it (``answer_json``), then the item's text."""
    chat = [{"role": "system", "content": instructions(task, descriptions)}]
    for shot in shots:
        chat += [{"role": "user", "content": user_text(shot)},
                 {"role": "assistant", "content": json.dumps(answer_json(task, shot), ensure_ascii=False)}]
    return chat + [{"role": "user", "content": user_text(example)}]


def answer_json(task: Task, example: Example) -> dict:
    """The answer a labelled ``example`` calls for, in the JSON the instructions ask for: its label; its entities
    as surface text and type in text order; its relations by the entities' places in that list."""
    payload = example.payload
    if task.example_kind == "spans":
        return {"entities": [{"text": example.text[s.start:s.end], "type": s.label} for s in sorted(payload)]}
    if task.example_kind == "relations":
        spans = sorted(payload.spans)
        place = {span: n for n, span in enumerate(spans)}
        return {"entities": [{"text": example.text[s.start:s.end], "type": s.label} for s in spans],
                "relations": [{"head": place[r.head], "tail": place[r.tail], "type": r.label}
                              for r in payload.relations if r.head in place and r.tail in place]}
    return {"label": payload}


def estimated_tokens(text: str) -> int:
    """A tokenizer-free estimate of the tokens ``text`` costs: one a CJK character (Qwen's and GLM's
    tokenizers take one to two characters a token, so this errs high), one per four other characters."""
    wide = sum(1 for c in text if ord(c) >= 0x2E80)
    return wide + (len(text) - wide + 3) // 4


class Demonstrations:
    """The team's own decisions, to show the model as worked examples: for each item the ``shots`` most similar
    (cosine of TF-IDF over character unigrams and bigrams, scikit-learn), skipping the item itself, while their
    estimated tokens (``estimated_tokens`` of text and answer) stay within ``budget``."""

    def __init__(self, task: Task, examples: Sequence[Example], shots: int = SHOTS, budget: int = SHOT_BUDGET):
        self.task, self.examples, self.shots, self.budget = task, list(examples), shots, budget
        self.cost = [estimated_tokens(user_text(e)) + estimated_tokens(json.dumps(answer_json(task, e),
                                                                                   ensure_ascii=False))
                     for e in self.examples]
        self.vectorizer = self.matrix = None
        if self.examples and shots > 0:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
            self.matrix = self.vectorizer.fit_transform([user_text(e) for e in self.examples])

    def for_item(self, example: Example) -> list[Example]:
        """The demonstrations for ``example``, least similar first (the most similar sits next to the question).
        An empty list when there are none."""
        if self.vectorizer is None:
            return []
        similarity = (self.matrix @ self.vectorizer.transform([user_text(example)]).T).toarray().ravel()
        chosen, spent = [], 0
        for index in sorted(range(len(self.examples)), key=lambda i: (-similarity[i], i)):
            shot = self.examples[index]
            if (shot.text, shot.text_b) == (example.text, example.text_b):
                continue  # the item itself: its answer would be given away
            if spent + self.cost[index] > self.budget:
                continue
            chosen.append(shot)
            spent += self.cost[index]
            if len(chosen) == self.shots:
                break
        return chosen[::-1]

    def save(self, path: Path) -> None:
        """Write the pool to ``path`` as JSON lines (text, text_b, payload as the task stores it)."""
        lines = [json.dumps({"text": e.text, "text_b": e.text_b, "payload": self.task.payload_to_json(e.payload)},
                            ensure_ascii=False) for e in self.examples]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    @classmethod
    def load(cls, task: Task, path: Path, shots: int = SHOTS, budget: int = SHOT_BUDGET) -> "Demonstrations":
        """The pool ``save`` wrote (none when ``path`` does not exist)."""
        examples = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                examples.append(Example(row["text"], row.get("text_b"), task.payload_from_json(row["payload"])))
        return cls(task, examples, shots, budget)


def _json_object(content: str) -> Any:
    """The JSON object in a model's answer (a ```json fence around it allowed). Raises ``ValueError``."""
    found = re.search(r"\{.*\}", content, re.S)
    if found is None:
        raise ValueError("no JSON object in the answer")
    return json.loads(found.group())


def locate(text: str, entities: Any, labels: Sequence[str]) -> tuple[list[Span | None], int]:
    """Each named entity found in ``text``: the n-th time a surface is named is its n-th occurrence (by code
    points), kept when it overlaps no entity kept before it. ``None`` for one not in the text, of a type not in
    ``labels``, or overlapping; and how many such. Raises ``ValueError`` for a list that is not of
    ``{"text", "type"}`` objects."""
    if not isinstance(entities, list):
        raise ValueError("entities is not a list")
    found: list[Span | None] = []
    named: dict[str, int] = {}
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("text"), str):
            raise ValueError(f"an entity is not {{'text', 'type'}}: {str(entity)[:60]}")
        surface, label = entity["text"], entity.get("type")
        nth = named[surface] = named.get(surface, 0) + 1
        start = -1
        for _ in range(nth):
            start = text.find(surface, start + 1) if surface else -1
            if start < 0:
                break
        span = Span(start, start + len(surface), label) if start >= 0 and label in labels else None
        if span is not None and any(k is not None and k.start < span.end and span.start < k.end for k in found):
            span = None
        found.append(span)
    return found, sum(span is None for span in found)


def parse_answer(task: Task, example: Example, content: str) -> tuple[Any, dict]:
    """The payload in ``content`` for ``task``, and what else the answer said: ``named`` (entities and relations
    it named), ``dropped`` (of those, not in the text, of a foreign type, overlapping, or a relation the schema
    forbids) and its ``reason`` when it gave one. Raises ``ValueError`` for an answer that does not parse or
    check."""
    answer = _json_object(content)
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    reason = answer.get("reason")
    said = {"reason": reason.strip()[:500]} if isinstance(reason, str) and reason.strip() else {}
    if task.example_kind in ("spans", "relations"):
        spans, dropped = locate(example.text, answer.get("entities"), task.labels)
        if task.example_kind == "spans":
            return sorted(s for s in spans if s is not None), {**said, "named": len(spans), "dropped": dropped}
        relations, links = set(), answer.get("relations") or []
        for link in links:
            if not isinstance(link, dict):
                raise ValueError("a relation is not {'head', 'tail', 'type'}")
            head, tail, label = link.get("head"), link.get("tail"), link.get("type")
            if not (isinstance(head, int) and isinstance(tail, int) and 0 <= head < len(spans)
                    and 0 <= tail < len(spans)) or spans[head] is None or spans[tail] is None or head == tail:
                dropped += 1
                continue
            if label not in task.allowed_relations(spans[head], spans[tail]):
                dropped += 1
                continue
            relations.add(task.normal(Relation(spans[head], spans[tail], label)))
        kept = tuple(sorted(s for s in spans if s is not None))
        return SpanGraph(kept, tuple(sorted(relations))), {**said, "named": len(spans) + len(links),
                                                           "dropped": dropped}
    label = answer.get("label")
    if label not in task.labels:
        raise ValueError(f"the label {str(label)[:40]!r} is not one of {', '.join(task.labels)}")
    return label, said


# -- the endpoint --------------------------------------------------------------------------------------------------

class ChatClient:
    """Requests to ``URL/chat/completions``: retries, a rate limit, a concurrency cap, a cache."""

    def __init__(self, url: str, model: str, key_env: str = KEY_ENV, timeout: float = TIMEOUT,
                 per_minute: float | None = None, cache: Path | None = None, sleep=time.sleep):
        self.url, self.model, self.key_env, self.timeout = url.rstrip("/"), model, key_env, timeout
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.structured = True  # cleared when the server refuses response_format
        self.cache_path, self.sleep = cache, sleep
        self._lock, self._next_at = threading.Lock(), 0.0
        self._cache: dict[str, dict] = {}
        self._asking: dict[str, threading.Lock] = {}
        if cache is not None and cache.is_file():
            for line in cache.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self._cache[entry["key"]] = entry["answer"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a crash: asked again

    def _key(self, body: dict) -> str:
        asked = [self.model, body["messages"]] + ([body["seed"]] if body.get("seed") else [])
        return hashlib.sha256(json.dumps(asked, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()

    def chat(self, chat_messages: list[dict], schema: dict | None = None, fresh: bool = False,
             sample: int = 0) -> dict:
        """The answer ``{"content", "probability", "usage"}`` (the mean token probability, ``None`` without
        log-probabilities) to ``chat_messages``, from the cache unless ``fresh`` (then with ``"cached": True``).
        ``sample`` N > 0 asks for the N-th of several samples: temperature ``SAMPLE_TEMPERATURE`` and seed N
        (cached apart from the others). Raises ``LlmUnavailable``."""
        body = {"model": self.model, "messages": chat_messages, "temperature": 0, "logprobs": True}
        if sample:
            body.update(temperature=SAMPLE_TEMPERATURE, seed=sample)
        key = self._key(body)
        with self._lock:
            same = self._asking.setdefault(key, threading.Lock())
        with same:  # the same request twice at once (a repeated text): asked once, the second from the cache
            if not fresh and key in self._cache:
                return {**self._cache[key], "cached": True}
            return self._ask(body, key, schema)

    def _ask(self, body: dict, key: str, schema: dict | None) -> dict:
        if schema is not None and self.structured:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "annotation", "schema": schema, "strict": False}}
        reply = self._post(body)
        choice = (reply.get("choices") or [{}])[0]
        content = (choice.get("message") or {}).get("content") or ""
        tokens = ((choice.get("logprobs") or {}).get("content")) or []
        logprobs = [t["logprob"] for t in tokens if isinstance(t, dict) and isinstance(t.get("logprob"), (int, float))]
        answer = {"content": content,
                  "probability": math.exp(sum(logprobs) / len(logprobs)) if logprobs else None,
                  "usage": reply.get("usage") or {}}
        with self._lock:
            self._cache[key] = answer
            if self.cache_path is not None:
                with self.cache_path.open("a", encoding="utf-8") as cache:
                    cache.write(json.dumps({"key": key, "answer": answer}, ensure_ascii=False) + "\n")
        return answer

    def _wait_turn(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            at, self._next_at = max(now, self._next_at), max(now, self._next_at) + self.interval
        if at > now:
            self.sleep(at - now)

    def _post(self, body: dict) -> dict:
        key = os.environ.get(self.key_env) or None
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        endpoint = f"{self.url}/chat/completions"
        last = ""
        for attempt in range(RETRIES + 1):
            self._wait_turn()
            request = urllib.request.Request(endpoint, json.dumps(body, ensure_ascii=False).encode("utf-8"), headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:200]
                if error.code == 400 and "response_format" in body:  # a server without structured output
                    self.structured = False
                    body = {k: v for k, v in body.items() if k != "response_format"}
                    continue
                if error.code in (401, 403):
                    raise LlmUnavailable(f"{endpoint} refused the request ({error.code}): check the API key in "
                                         f"${self.key_env}") from None
                if error.code == 404:
                    raise LlmUnavailable(masked(f"{endpoint} answered 404: check --llm-url (it ends with /v1) and "
                                                f"that the model {self.model!r} is there ({detail})", key)) from None
                if error.code != 429 and error.code < 500:
                    raise LlmUnavailable(masked(f"{endpoint} answered {error.code}: {detail}", key)) from None
                last = f"{error.code} {detail}"
                wait = error.headers.get("Retry-After") if error.headers else None
                delay = float(wait) if wait and wait.replace(".", "", 1).isdigit() else BACKOFF[min(attempt, 2)]
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
                last = str(getattr(error, "reason", error))
                delay = BACKOFF[min(attempt, 2)]
            except ValueError as error:  # not JSON
                last = f"an answer that is not JSON ({error})"
                delay = BACKOFF[min(attempt, 2)]
            if attempt < RETRIES:
                self.sleep(min(delay, 10.0))
        raise LlmUnavailable(masked(f"the LLM endpoint {endpoint} did not answer after {RETRIES + 1} tries ({last}); "
                                    "check that the server runs (e.g. ollama serve) and --llm-url", key))


def _spend(spent: dict, answer: dict) -> None:
    """Add what ``answer`` cost to ``spent`` (``tokens_in``, ``tokens_out``); ``cached`` stays true only while
    every answer came from the cache."""
    usage = answer.get("usage") or {}
    spent["tokens_in"] += int(usage.get("prompt_tokens") or 0)
    spent["tokens_out"] += int(usage.get("completion_tokens") or 0)
    spent["cached"] = spent["cached"] and bool(answer.get("cached"))


def _paid(spent: dict) -> int:
    """The tokens of ``spent`` the endpoint was paid now: none when every answer came from the cache."""
    return 0 if spent["cached"] else spent["tokens_in"] + spent["tokens_out"]


class LlmModel:
    """An ``llm`` version serving ``task``."""

    def __init__(self, task: Task, client: ChatClient, concurrency: int = 2,
                 demonstrations: Demonstrations | None = None, samples: int = 1,
                 descriptions: dict[str, str] | None = None):
        self.task, self.client, self.concurrency = task, client, max(1, concurrency)
        self.demonstrations, self.samples, self.descriptions = demonstrations, max(1, samples), descriptions

    def _agreement(self, example: Example, chat: list[dict], schema: dict, payload: Any, spent: dict) -> float:
        """The share of ``samples`` answers that propose ``payload`` (the first, at temperature 0, counts as one):
        the confidence when the server gives no log-probabilities. Samples that do not parse disagree."""
        agreeing = 1
        for sample in range(1, self.samples):
            answer = self.client.chat(chat, schema, sample=sample)
            _spend(spent, answer)
            try:
                agreeing += parse_answer(self.task, example, answer["content"])[0] == payload
            except (ValueError, AttributeError, TypeError):
                continue
        spent["samples"], spent["agreeing"] = self.samples, agreeing
        return agreeing / self.samples

    def _answer(self, example: Example, stats: PredictStats, lock: threading.Lock) -> Prediction:
        shots = self.demonstrations.for_item(example) if self.demonstrations is not None else []
        chat = messages(self.task, example, shots, self.descriptions)
        schema = answer_schema(self.task)
        # what answering cost (both tries), and whether none of it was paid now (answered from the cache)
        spent = {"tokens_in": 0, "tokens_out": 0, "shots": len(shots), "cached": True}
        for attempt in range(2):  # an answer that does not check is asked for once more
            answer = self.client.chat(chat, schema, fresh=attempt > 0)
            _spend(spent, answer)
            try:
                payload, said = parse_answer(self.task, example, answer["content"])
            except (ValueError, AttributeError, TypeError):
                continue
            confidence = answer["probability"]
            if confidence is None:
                confidence = self._agreement(example, chat, schema, payload, spent) if self.samples > 1 else 0.0
            with lock:
                stats.unaligned += said.get("dropped", 0)
                stats.tokens += _paid(spent)
            return Prediction(payload, confidence, details={**said, **spent})
        with lock:
            stats.unanswered += 1
            stats.tokens += _paid(spent)
        return Prediction(None, 0.0, details={"unanswered": True, **spent})

    def predict(self, examples: Sequence[Example], progress=None) -> tuple[list[Prediction], PredictStats]:
        timer = Timer(len(examples))
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="llm") as pool:
            futures = [pool.submit(self._answer, example, timer.stats, lock) for example in examples]
            predictions = []
            for done, future in enumerate(futures, start=1):
                predictions.append(future.result())
                if progress:
                    progress(done, len(examples))
        return predictions, timer.done()


class LlmFamily(ModelFamily):
    name = "llm"
    description = ("A large language model behind an OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp): the "
                   "project's own labels from the first item")
    example_kinds = frozenset({"text", "pair", "spans", "relations"})
    zero_shot = True
    configured = True
    configured_by = "--zero-shot llm --llm-model NAME"
    trainable = True  # fit keeps the team's decisions as demonstrations; it sends nothing to the endpoint
    version_prefix = "m"
    confidence_note = "an LLM's answer (no confidence without log-probabilities)"
    origin = "the model the endpoint serves; texts go to --llm-url"

    def source_labels(self, options: dict | None = None) -> tuple[str, ...]:
        return tuple((options or {}).get("labels", ()))

    def source_name(self, options: dict | None = None) -> str:
        return f"llm:{(options or {}).get('model', '?')}"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path, options: dict | None = None) -> dict:
        """A few-shot version: the endpoint and model of ``options`` (the project's newest ``llm`` version's, with
        ``descriptions``: the labels' one-line descriptions in the project's guidelines, put in the prompt), and
        ``examples`` (the training split's standing decisions) kept as demonstrations, of which each item is
        shown the ``SHOTS`` most similar within ``SHOT_BUDGET`` estimated tokens. Nothing is sent anywhere until
        the version predicts. Raises ``BertannoError`` without ``options``."""
        if not options:
            raise BertannoError("an llm version is made from the endpoint and model of one before it: create the "
                                f"project with {self.configured_by}")
        self.check_task(task)
        Demonstrations(task, examples, 0).save(Path(directory) / DEMONSTRATIONS_FILE)
        shots, budget = int(options.get("shots", SHOTS)), int(options.get("shot_budget", SHOT_BUDGET))
        return {"options": {**options, "labels": list(task.labels), "shots": shots, "shot_budget": budget},
                "label_map": {label: label for label in task.labels}, "demonstrations": len(examples),
                "source": self.source_name(options)}

    def load(self, directory: Path, record: dict, task: Task) -> LlmModel:
        options = record.get("options") or {}
        url = check_url(options.get("url", DEFAULT_URL), bool(options.get("allow_remote")))
        client = ChatClient(url, options.get("model", ""), options.get("key_env", KEY_ENV),
                            per_minute=options.get("per_minute"), cache=cache_file(Path(directory), url,
                                                                                   options.get("model", "")))
        pool = Demonstrations.load(task, Path(directory) / DEMONSTRATIONS_FILE, int(options.get("shots", SHOTS)),
                                   int(options.get("shot_budget", SHOT_BUDGET)))
        return LlmModel(task, client, int(options.get("concurrency", 2)), pool, int(options.get("samples", 1)),
                        options.get("descriptions"))


def cache_file(directory: Path, url: str, model: str) -> Path:
    """Where a version in ``directory`` caches its answers: one file per endpoint and model in the project's models
    folder (``PROJECT-UID/llm-cache/HASH.jsonl``), shared by every version of the project that asks that model, so
    that a prompt asked before (the same messages: the same item, instructions and demonstrations) costs nothing
    however many versions later. Created when missing."""
    digest = hashlib.sha256(json.dumps([url, model]).encode("utf-8")).hexdigest()[:16]
    folder = directory.parent / CACHE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.{CACHE_FILE}"


def llm_options(task: Task, model: str | None, url: str | None = None, key_env: str | None = None,
                allow_remote: bool = False, concurrency: int = 2, per_minute: float | None = None,
                samples: int = 1) -> dict:
    """The options of an ``llm`` version for ``task`` (``init --zero-shot llm``). Raises ``BertannoError``
    without a model name, for a URL ``check_url`` refuses, and for a key variable name that is not one."""
    if not model:
        raise BertannoError("--zero-shot llm needs the model the endpoint serves: --llm-model NAME (e.g. qwen2.5:7b "
                            "for Ollama)")
    key_env = key_env or KEY_ENV
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
        raise BertannoError(f"--llm-key-env names an environment variable (the key is read from it, never stored); "
                            f"got {key_env!r}")
    return {"url": check_url(url or DEFAULT_URL, allow_remote), "model": model, "key_env": key_env,
            "allow_remote": allow_remote, "concurrency": concurrency, "per_minute": per_minute,
            "samples": samples, "labels": list(task.labels)}


@hookimpl
def register_model_families(register):
    register(LlmFamily())
