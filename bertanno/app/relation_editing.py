"""Editing a relations item: entity spans as the span editor edits them, and numbered relations between them,
under the project's schema. The model behind the relation view of the annotation screen and of the plain
terminal session.

Relations join spans by their numbers, so a relation follows its entity when the entity's boundaries move or its
type changes (it is dropped, and said so, when the schema no longer allows it), and goes when the entity goes.
Relations keep the number they got when they appeared (``r1``, ``r2``…), as spans do; one undo history holds
both.
"""

from __future__ import annotations

from typing import Any, Iterable

from bertanno.app.span_editing import SpanEditor
from bertanno.plugins.builtin.relations import RELATION_ITEM
from bertanno.plugins.task import Example, Relation, SpanGraph

Link = tuple[int, int, str]
"""A relation as the editor keeps it: ``(head span number, tail span number, relation type)``."""


class GraphEditor(SpanEditor):
    """Numbered spans (``SpanEditor``) and numbered relations between them, checked by the task's schema
    (``RelationsTask.validate``). Every change raises ``ValueError`` with a sentence and changes nothing when it
    cannot be made. ``dropped``: the relations the last change removed because an end went or the schema no
    longer allows them (``describe_link`` text, for the screen to say)."""

    def __init__(self, task, example: Example, payload: Any):
        self.links: dict[int, Link] = {}
        self.next_link = 1
        self.dropped: list[str] = []
        super().__init__(task, example, payload)

    # -- state ----------------------------------------------------------------------------------------------------
    def _state(self) -> tuple:
        return (*super()._state(), dict(getattr(self, "links", {})), getattr(self, "next_link", 1))

    def _restore(self, state: tuple) -> None:
        super()._restore(state[:2])
        self.links, self.next_link = dict(state[2]), state[3]

    def _settle(self) -> None:
        """Drop the relations whose head or tail is gone, or whose entity types the schema no longer joins."""
        self.dropped = []
        for number, (head, tail, label) in sorted(self.links.items()):
            if head in self.numbered and tail in self.numbered:
                kind = self.task.relation_type(label)
                if kind is not None and kind.allows(self.numbered[head].label, self.numbered[tail].label):
                    continue
            self.dropped.append(f"r{number} {label}")
            del self.links[number]

    def reset(self, payload: Any, record: bool = True) -> None:
        """Start over from ``payload`` (a ``SpanGraph``, its JSON form, a list of spans, or ``None``): spans
        numbered from 1 in text order, relations from 1 in the order of their ends."""
        graph = self.task.graph(payload)
        with self._change(record):
            super().reset(graph.spans, record=False)
            number_of = {tuple(span): number for number, span in self.numbered.items()}
            self.links = {n: (number_of[tuple(r.head)], number_of[tuple(r.tail)], r.label)
                          for n, r in enumerate(sorted(graph.relations), start=1)}
            self.next_link = len(self.links) + 1

    # -- reading --------------------------------------------------------------------------------------------------
    @property
    def graph(self) -> SpanGraph:
        """The spans and the relations as the task stores them (undirected relations with their ends in text
        order)."""
        relations = sorted(self.task.normal(Relation(self.numbered[h], self.numbered[t], label))
                           for h, t, label in self.links.values())
        return SpanGraph(tuple(self.spans), tuple(relations))

    def link_items(self) -> list[tuple[int, Link]]:
        """``(number, (head, tail, type))`` in the order of the head's place in the text, then the tail's."""
        return sorted(self.links.items(), key=lambda item: (self.numbered[item[1][0]], self.numbered[item[1][1]],
                                                            item[1][2]))

    def allowed(self, head: int, tail: int) -> list[str]:
        """The relation types the schema allows from span ``head`` to span ``tail``, in schema order."""
        return self.task.allowed_relations(self.numbered[head], self.numbered[tail])

    def arrow(self, label: str) -> str:
        """``─label→`` for a directed type, ``─label─`` for an undirected one."""
        kind = self.task.relation_type(label)
        return f"─{label}→" if kind is None or kind.directed else f"─{label}─"

    def describe_link(self, number: int) -> str:
        """``r3 薛某某 ─provide_shelter_for→ 赵某某``: a relation as the screen names it."""
        head, tail, label = self.links[number]
        text = self.example.text
        first, second = self.numbered[head], self.numbered[tail]
        return f"r{number} {text[first.start:first.end]} {self.arrow(label)} {text[second.start:second.end]}"

    def links_of(self, span: int) -> list[int]:
        """The numbers of the relations span ``span`` is an end of."""
        return [n for n, (head, tail, _) in self.links.items() if span in (head, tail)]

    # -- changes --------------------------------------------------------------------------------------------------
    def relate(self, head: int, tail: int, label: str) -> int:
        """Add a relation of type ``label`` from span ``head`` to span ``tail``; returns its number. Raises
        ``ValueError`` when a span is unknown, the schema does not allow the type between their entity types, or
        the relation is there already."""
        with self._change():
            for end in (head, tail):
                self._number(str(end))
            kind = self.task.relation_type(label)
            if kind is not None and not kind.directed and self.numbered[tail] < self.numbered[head]:
                head, tail = tail, head  # undirected: its ends in text order, as the task stores it
            same = [n for n, link in self.links.items() if link == (head, tail, label)]
            if same:
                raise ValueError(f"{self.describe_link(same[0])} is there already")
            number, self.next_link = self.next_link, self.next_link + 1
            self.links[number] = (head, tail, label)
            self._check_graph()
        return number

    def remove_links(self, numbers: Iterable[int]) -> None:
        """Remove the relations with these numbers (all or none)."""
        numbers = list(numbers)
        with self._change():
            for number in numbers:
                self._link(str(number))
            for number in numbers:
                del self.links[number]

    def retype(self, number: int, label: str) -> None:
        """Give relation ``number`` the type ``label``, keeping its ends and its number."""
        with self._change():
            head, tail, _ = self.links[self._link(str(number))]
            self.links[number] = (head, tail, label)
            self._check_graph()

    def reverse(self, number: int) -> None:
        """Swap the head and the tail of relation ``number``. Raises ``ValueError`` for an undirected relation
        (it has no direction) and when the schema does not allow the type the other way round."""
        with self._change():
            head, tail, label = self.links[self._link(str(number))]
            kind = self.task.relation_type(label)
            if kind is not None and not kind.directed:
                raise ValueError(f"{self.describe_link(number)} is undirected: it has no direction to reverse")
            self.links[number] = (tail, head, label)
            self._check_graph()

    def merge(self, number: int) -> int:
        """``SpanEditor.merge``; the relations of the span merged in move to the span that stays."""
        following = [n for n, s in self.items() if s.start >= self.numbered[self._number(str(number))].end]
        with self._change():
            kept = super().merge(number)
            if following:
                gone = following[0]
                self.links = {n: (kept if h == gone else h, kept if t == gone else t, label)
                              for n, (h, t, label) in self.links.items()}
                self._check_graph()
        return kept

    def _apply(self, command: str) -> None:
        """``SpanEditor``'s commands, and ``H>T:TYPE`` (a relation from span ``H`` to span ``T``), ``-r N``
        (remove relations, as ``- N`` takes spans), ``tr N TYPE`` (change a relation's type)."""
        match = RELATION_ITEM.match(command.replace(" ", ""))
        if match:
            self.relate(self._number(match["head"]), self._number(match["tail"]), match["label"])
        elif command.startswith("-r"):
            self.remove_links(self._link_numbers(command[2:]))
        elif command.startswith("tr "):
            number, _, label = command[3:].strip().partition(" ")
            self.retype(self._link(number), label.strip())
        else:
            super()._apply(command)

    # -- helpers --------------------------------------------------------------------------------------------------
    def _check_graph(self) -> None:
        """The task's checks of the whole graph (schema, repeats); ``ValueError`` with its sentence."""
        self.task.validate(Example(self.example.text, payload=self.graph))

    def _link(self, text: str) -> int:
        text = text.strip().removeprefix("r")
        if not text.isdigit() or int(text) not in self.links:
            shown = ", ".join(f"r{n}" for n, _ in self.link_items()) or "none yet"
            raise ValueError(f"no relation {text!r}; the relations are {shown}")
        return int(text)

    def _link_numbers(self, text: str) -> list[int]:
        text = text.strip()
        if text == "all":
            return list(self.links)
        numbers = [self._link(part) for part in filter(None, text.replace(" ", ",").split(","))]
        if not numbers:
            raise ValueError("remove relations with -r N, -r N,M or -r all")
        return numbers
