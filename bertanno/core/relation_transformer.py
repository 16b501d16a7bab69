"""The ``relation-transformer`` family: relations between entities by a BERT-family encoder with typed entity
markers, trained on the project's decisions.

Every entity of a passage is wrapped in markers of its type before the passage is encoded (``[unused1]`` 薛某某
``[unused2]`` for the first entity type, ``[unused3]`` … ``[unused4]`` for the second; reserved tokens of the
BERT vocabulary, so the embeddings need not grow), once per passage, and every pair of entities that the schema
allows some type between is classified from the encoder's vectors at the two start markers (concatenated, a
linear layer) as one of those types or as no relation: the typed-marker representation of Zhong and Chen ("A
Frustratingly Easy Approach for Entity and Relation Extraction", NAACL 2021; its approximation that marks all
entities in one pass) and of Zhou and Chen ("An Improved Baseline for Sentence-level Relation Extraction",
2022, typed markers). The encoder is zh-mini, the model shipped with bertanno, fine-tuned whole.

A version also holds a character CRF for the entities (``fast_families.CrfFamily``), which tags them before
their relations are classified when it serves a project. Files: ``encoder/`` (safetensors and tokenizer),
``relation_head.safetensors``, ``relations.json`` (the classes and markers), ``model.crfsuite``. Pairs whose
markers lie beyond the encoder's 512 tokens are not classified (no relation).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

from bertanno.errors import BertannoError
from bertanno.plugins.builtin.fast_families import CRF_FILE, CrfFamily, CrfModel
from bertanno.plugins.builtin.relation_families import NONE, EntitiesThenRelations, candidate_pairs, decide_pairs
from bertanno.plugins.families import ModelFamily
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.task import Example, Relation, Span, SpanGraph, Task

BASE = "zh-mini"
ENCODER = "encoder"
HEAD_FILE = "relation_head.safetensors"
RECORD = "relations.json"
EPOCHS, LEARNING_RATE, BATCH = 10, 1e-4, 8
TYPE_WIDTH = 32
"""Width of the entity-type embeddings the pair head reads beside the two markers' vectors."""


def markers(tokenizer, labels: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Entity type -> the ids of its start and end markers: ``[unused1]``/``[unused2]`` for the first type and so
    on (typed markers the encoder learns; 【 and 】 for every type, whose embeddings are pretrained, scored 0.546
    against 0.605 relation F1 on the first DUTIR fold of ``benchmarks.relations``). Raises
    ``BertannoError`` when the vocabulary has too few reserved tokens."""
    found = {}
    for index, label in enumerate(labels):
        ids = tokenizer.convert_tokens_to_ids([f"[unused{2 * index + 1}]", f"[unused{2 * index + 2}]"])
        if tokenizer.unk_token_id in ids:
            raise BertannoError(f"the encoder's vocabulary has no [unused{2 * index + 2}] token to mark {label} "
                                "entities with")
        found[label] = (ids[0], ids[1])
    return found


def marked_input(tokenizer, text: str, spans: Sequence[Span], marks: dict[str, tuple[int, int]],
                 max_length: int = 512) -> tuple[list[int], dict[int, int]]:
    """The passage's token ids with every entity between its type's markers, ``[CLS]`` … ``[SEP]``, cut at
    ``max_length``; and span index -> the position of its start marker (spans whose marker was cut are left
    out)."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        inside = [i for i, (a, b) in enumerate(offsets) if a < span.end and b > span.start]
        if inside:
            opening.setdefault(inside[0], []).append(index)
            closing.setdefault(inside[-1], []).append(index)
    sequence, where = [tokenizer.cls_token_id], {}
    for position, token in enumerate(ids):
        for index in opening.get(position, []):
            where[index] = len(sequence)
            sequence.append(marks[spans[index].label][0])
        sequence.append(token)
        for index in closing.get(position, []):
            sequence.append(marks[spans[index].label][1])
    sequence = sequence[:max_length - 1] + [tokenizer.sep_token_id]
    return sequence, {index: at for index, at in where.items() if at < len(sequence) - 1}


class RelationNet:
    """The encoder and the pair head (a torch module built lazily, so importing this file needs no torch)."""

    def __init__(self, encoder, classes: int, types: int):
        import torch

        self.encoder = encoder
        self.types = torch.nn.Embedding(types, TYPE_WIDTH)
        self.head = torch.nn.Linear(2 * encoder.config.hidden_size + 2 * TYPE_WIDTH, classes)
        self.dropout = torch.nn.Dropout(0.1)

    def parameters(self):
        return [*self.encoder.parameters(), *self.types.parameters(), *self.head.parameters()]

    def head_state(self) -> dict:
        """The pair head's tensors (the type embeddings and the linear layer), as ``relation_head.safetensors``
        holds them."""
        return {**{f"types.{k}": v for k, v in self.types.state_dict().items()},
                **{f"head.{k}": v for k, v in self.head.state_dict().items()}}

    def load_head(self, state: dict) -> None:
        self.types.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("types.")})
        self.head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})

    def train(self, mode: bool = True) -> None:
        self.encoder.train(mode)
        self.head.train(mode)
        self.dropout.train(mode)

    def scores(self, batch: list[list[int]], pairs: list[tuple[int, int, int, int, int]]):
        """Logits ``[pairs, classes]`` for ``pairs`` ``(row in batch, head marker, tail marker, head type, tail
        type)`` (types as indexes into the task's labels)."""
        import torch

        width = max(len(ids) for ids in batch)
        input_ids = torch.tensor([ids + [0] * (width - len(ids)) for ids in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        index = torch.tensor(pairs)
        heads, tails = hidden[index[:, 0], index[:, 1]], hidden[index[:, 0], index[:, 2]]
        features = torch.cat([heads, tails, self.types(index[:, 3]), self.types(index[:, 4])], dim=-1)
        return self.head(self.dropout(features))


def _examples_pairs(task, tokenizer, marks, examples: Sequence[Example], classes: list[str]):
    """Per example: its marked ids, and ``(head marker, tail marker, class index, allowed class indexes)`` per
    candidate pair whose markers both fit."""
    rows = []
    for example in examples:
        graph = task.graph(example.payload)
        spans = sorted(graph.spans)
        gold = {(tuple(r.head), tuple(r.tail)): r.label for r in (task.normal(r) for r in graph.relations)}
        ids, where = marked_input(tokenizer, example.text, spans, marks)
        pairs = []
        for head, tail, allowed in candidate_pairs(task, spans):
            if head in where and tail in where:
                label = gold.get((tuple(spans[head]), tuple(spans[tail])), NONE)
                label = label if label in allowed else NONE
                pairs.append((where[head], where[tail], classes.index(label),
                              [0] + [classes.index(name) for name in allowed if name in classes],
                              task.labels.index(spans[head].label), task.labels.index(spans[tail].label)))
        rows.append((ids, pairs))
    return rows


class RelationTransformerModel(EntitiesThenRelations):
    """A ``relation-transformer`` version: the CRF's entities, then the encoder's relations (``relations_for``)."""

    def __init__(self, task: Task, entities: CrfModel | None, net: RelationNet, tokenizer, classes: list[str],
                 marks: dict[str, tuple[int, int]]):
        self.task, self.entities, self.net, self.tokenizer = task, entities, net, tokenizer
        self.classes, self.marks = classes, marks
        self.net.train(False)

    def relations_for(self, text: str, spans: Sequence[Span]) -> tuple[list[Relation], float]:
        """The relations among ``spans`` of ``text`` and the mean probability of the pairs' decisions."""
        import torch

        spans = sorted(Span(*s) for s in spans)
        ids, where = marked_input(self.tokenizer, text, spans, self.marks)
        pairs = [(h, t, allowed) for h, t, allowed in candidate_pairs(self.task, spans) if h in where and t in where]
        if not pairs:
            return [], 1.0
        with torch.no_grad():
            logits = self.net.scores([ids], [(0, where[h], where[t], self.task.labels.index(spans[h].label),
                                              self.task.labels.index(spans[t].label)) for h, t, _ in pairs]
                                     ).float().numpy()
        return decide_pairs(self.task, spans, pairs, logits, self.classes)


def _relation_f1(task, model: RelationTransformerModel, examples: Sequence[Example]) -> float:
    """Relation F1 of ``model`` on ``examples`` with their own entities given."""
    predicted = [SpanGraph(tuple(sorted(task.graph(e.payload).spans)),
                           tuple(model.relations_for(e.text, task.graph(e.payload).spans)[0])) for e in examples]
    return task.metrics([e.payload for e in examples], predicted)["f1"]


class RelationTransformerFamily(ModelFamily):
    name = "relation-transformer"
    description = ("zh-mini with typed entity markers classifying every schema-allowed pair of entities; entities by "
                   "a character CRF (relations)")
    example_kinds = frozenset({"relations"})
    version_prefix = "t"
    trainable = True
    modules = ("torch", "transformers", "sklearn_crfsuite")
    install = "pip install torch transformers sklearn-crfsuite"
    origin = "trained here on the project's labels, from zh-mini (shipped with bertanno)"

    def fit(self, task: Task, examples: Sequence[Example], directory: Path, epochs: int = EPOCHS,
            seed: int = 42) -> dict:
        """Fine-tune zh-mini with the pair head on ``examples`` (the first tenth held out to choose the epoch by
        relation F1 with gold entities) and fit the CRF on their entities. Raises ``BertannoError`` without a
        relation to learn from."""
        import torch
        from safetensors.torch import save_file
        from transformers import AutoModel

        from bertanno.core.bundle import load_tokenizer
        from bertanno.core.hub import resolve_model

        self.require()
        usable = [e for e in examples if e.text and e.payload is not None]
        if not any(task.graph(e.payload).relations for e in usable):
            raise BertannoError("the relation model needs at least one relation among its training examples")
        classes = [NONE, *task.relation_labels]
        source = resolve_model(BASE)
        torch.manual_seed(seed)
        tokenizer = load_tokenizer(source.tokenizer_dir)
        marks = markers(tokenizer, task.labels)
        encoder = AutoModel.from_pretrained(source.weights_dir, dtype=torch.float32, add_pooling_layer=False)
        net = RelationNet(encoder, len(classes), len(task.labels))
        shuffled = list(usable)
        random.Random(seed).shuffle(shuffled)
        cut = max(1, len(shuffled) // 10) if len(shuffled) >= 10 else 0
        held, fitted = shuffled[:cut], shuffled[cut:]
        rows = [row for row in _examples_pairs(task, tokenizer, marks, fitted, classes) if row[1]]
        optimizer = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
        steps = max(1, epochs * ((len(rows) + BATCH - 1) // BATCH))
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / steps))
        model = RelationTransformerModel(task, None, net, tokenizer, classes, marks)
        best, best_state, best_epoch = -1.0, None, 0
        generator = random.Random(seed)
        for epoch in range(1, epochs + 1):
            net.train(True)
            generator.shuffle(rows)
            for start in range(0, len(rows), BATCH):
                batch = rows[start:start + BATCH]
                pairs = [(b, h, t, ht, tt) for b, (_, found) in enumerate(batch) for h, t, _, _, ht, tt in found]
                target = torch.tensor([c for _, found in batch for _, _, c, _, _, _ in found])
                allowed = torch.full((len(pairs), len(classes)), float("-inf"))
                for row, (_, _, _, indexes, _, _) in enumerate(p for _, found in batch for p in found):
                    allowed[row, indexes] = 0.0
                logits = net.scores([ids for ids, _ in batch], pairs) + allowed  # only what the schema allows
                loss = torch.nn.functional.cross_entropy(logits, target)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                schedule.step()
            net.train(False)
            score = _relation_f1(task, model, held) if held else float(epoch)
            if score > best:
                best, best_epoch = score, epoch
                best_state = ({k: v.clone() for k, v in encoder.state_dict().items()},
                              {k: v.clone() for k, v in net.head_state().items()})
        encoder.load_state_dict(best_state[0])
        net.load_head(best_state[1])
        directory.mkdir(parents=True, exist_ok=True)
        encoder.save_pretrained(directory / ENCODER)
        tokenizer.save_pretrained(directory / ENCODER)
        save_file({k: v.contiguous() for k, v in net.head_state().items()}, str(directory / HEAD_FILE))
        (directory / RECORD).write_text(json.dumps({"classes": classes, "markers": marks, "labels": list(task.labels)}),
                                        encoding="utf-8")
        CrfFamily().fit(task, [Example(e.text, payload=list(task.graph(e.payload).spans)) for e in usable],
                        directory)
        return {"examples": len(usable), "base_model": BASE, "epochs": epochs, "best_epoch": best_epoch,
                "held_out_relation_f1": round(best, 4) if held else None}

    def load(self, directory: Path, record: dict, task: Task) -> RelationTransformerModel:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel

        from bertanno.core.bundle import load_tokenizer

        self.require()
        directory = Path(directory)
        try:
            stored = json.loads((directory / RECORD).read_text(encoding="utf-8"))
            encoder = AutoModel.from_pretrained(directory / ENCODER, dtype=torch.float32, add_pooling_layer=False)
            tokenizer = load_tokenizer(directory / ENCODER)
            head = load_file(str(directory / HEAD_FILE))
        except (OSError, ValueError) as exc:
            raise BertannoError(f"cannot load the relation model in {directory}: {exc}") from None
        classes = list(stored["classes"])
        foreign = [c for c in classes if c != NONE and task.relation_type(c) is None]
        if foreign:
            raise BertannoError(f"{directory}: the relation model predicts {', '.join(foreign)}, not relation types "
                                "of the project's schema")
        if list(stored.get("labels", task.labels)) != list(task.labels):
            raise BertannoError(f"{directory}: the relation model was trained on the entity types "
                                f"{', '.join(stored['labels'])}, not the project's ({', '.join(task.labels)})")
        net = RelationNet(encoder, len(classes), len(task.labels))
        net.load_head(head)
        entities = CrfModel(task, directory / CRF_FILE) if (directory / CRF_FILE).is_file() else None
        marks = {label: tuple(ids) for label, ids in stored["markers"].items()}
        return RelationTransformerModel(task, entities, net, tokenizer, classes, marks)


@hookimpl
def register_model_families(register):
    register(RelationTransformerFamily())
