"""``bertanno vocab …``: the domain-vocabulary commands (parsing and rendering; the work is in vocab/)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bertanno import hookimpl
from bertanno.cli.common import console, err_console, open_store, progress_bar


@click.group()
def vocab():
    """Teach a project's model the domain's own terms, and see what that changes.

    \b
    Example, a typical flow (NER on medical text):
      bertanno vocab lists                     built-in lists and plugins'
      bertanno vocab mine --project clinic -o mine.txt   candidates
      bertanno vocab add clinic medical mine.txt   every model gets these
      bertanno vocab check clinic "新冠病毒是一种新型冠状病毒"   tokens
      bertanno vocab stats clinic              tokens per text, term hits
      bertanno vocab adapt clinic notes.txt    masked-LM on domain text
      bertanno train clinic                    fine-tune with the terms

    Term list files: UTF-8, one term per line, # comments, optional TAB
    category TAB frequency. A term becomes one token; its embedding starts as
    the mean of its characters' embeddings. Removing a list (vocab remove)
    makes the next trained version tokenize as before.
    """


def _print_changes(changes, verb: str) -> None:
    for change in changes:
        parts = [f"{len(change.changed)} {verb}"]
        if change.unchanged:
            parts.append(f"{len(change.unchanged)} " + ("already in the project" if verb == "added" else "not in the project"))
        if change.single_token:
            parts.append(f"{len(change.single_token)} already one token of the base vocabulary "
                         f"(e.g. {', '.join(change.single_token[:3])})")
        if change.duplicates:
            parts.append(f"{change.duplicates} duplicate line(s) skipped")
        console.print(f"{change.name}: {change.read} terms read; " + "; ".join(parts))
        for line, why in change.malformed[:5]:
            err_console.print(f"  [yellow]{change.source}:{line}: not a term line, skipped:[/] {escape(why)}")
        if len(change.malformed) > 5:
            err_console.print(f"  … and {len(change.malformed) - 5} more malformed line(s)")


@vocab.command()
def lists():
    """The named term lists: built in (medical, legal) and from plugins.

    \b
    Example:
      bertanno vocab lists
    """
    from bertanno.core.plugins import get_plugins
    from bertanno.vocab.terms import read_term_list

    loaded = get_plugins()
    table = Table(title="Term lists (bertanno vocab add PROJECT NAME)")
    for column in ("name", "terms", "description", "from"):
        table.add_column(column)
    for name, entry in loaded.vocabularies.items():
        table.add_row(escape(name), str(len(read_term_list(entry.value.path).terms)), escape(entry.value.description),
                      escape(entry.plugin))
    console.print(table)


@vocab.command()
@click.argument("project")
@click.argument("term_lists", nargs=-1, metavar="[LIST]...")
@click.option("--char-level/--term-tokens", "char_level", default=None,
              help="NER: keep tokenizing character by character for the tags (the terms still extend the model), "
                   "so no added term can swallow an entity boundary; --term-tokens undoes it.")
@click.pass_context
def add(ctx, project, term_lists, char_level):
    """Extend PROJECT's models with the terms of each LIST (a list name or a file).

    Terms already in the project or already one token of the base vocabulary
    are skipped and counted. The next `bertanno train` builds a version with
    the terms; its directory and the store record exactly which terms, in which
    order (their token ids), so it always reloads with its own vocabulary. It
    needs the project model's tokenizer on this machine (not its weights).

    \b
    Example:
      bertanno vocab add clinic medical my-terms.txt
    """
    from bertanno.vocab.domain_vocabulary import add_lists, describe
    from bertanno.vocab.terms import load_term_list

    if not term_lists and char_level is None:
        raise click.UsageError("name at least one LIST (see: bertanno vocab lists), or --char-level/--term-tokens")
    store = open_store(ctx)
    changes, note = add_lists(store, project, [load_term_list(name) for name in term_lists], char_level)
    if char_level is not None:
        console.print(f"{project}: NER tags on " + ("characters; added terms are not used for tagging" if char_level
                                                   else "the tokenizer's tokens, added terms included"))
    _print_changes(changes, "added")
    if note:
        err_console.print(f"[yellow]{note}[/]")
    summary = describe(store, project)
    console.print(f"{project} now has {len(summary.terms)} domain term(s); retrain to use them: bertanno train {project}")


@vocab.command()
@click.argument("project")
@click.argument("term_lists", nargs=-1, metavar="[LIST]...")
@click.option("--all", "remove_all", is_flag=True, help="Remove every term.")
@click.pass_context
def remove(ctx, project, term_lists, remove_all):
    """Remove the terms of each LIST from PROJECT; the next version trained
    tokenizes without them.

    \b
    Example:
      bertanno vocab remove clinic my-terms.txt
    """
    from bertanno.vocab.domain_vocabulary import describe, remove_lists
    from bertanno.vocab.terms import load_term_list

    if bool(term_lists) == remove_all:
        raise click.UsageError("name the lists to remove, or --all")
    store = open_store(ctx)
    changes, note = remove_lists(store, project, None if remove_all else [load_term_list(n) for n in term_lists])
    _print_changes(changes, "removed")
    if note:
        err_console.print(f"[yellow]{note}[/]")
    console.print(f"{project} now has {len(describe(store, project).terms)} domain term(s); "
                  f"train from the base model to drop them: bertanno train {project} --from base")


@vocab.command()
@click.argument("project")
@click.option("--terms", "show_terms", is_flag=True, help="Print every term.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx, project, show_terms, as_json):
    """PROJECT's domain terms, their hash, the adapted model and the NER
    tokenization.

    \b
    Example:
      bertanno vocab show clinic --terms
    """
    from dataclasses import asdict

    from bertanno.vocab.domain_vocabulary import describe

    summary = describe(open_store(ctx), project)
    if as_json:
        click.echo(json.dumps(asdict(summary), ensure_ascii=False, indent=2))
        return
    console.print(f"{project}: {len(summary.terms)} term(s)" + (f" from {summary.name}" if summary.name else "")
                  + (f", hash {summary.hash[:12]}" if summary.hash else ""))
    console.print(f"base model: {summary.model}" + (f"; domain-adapted: {summary.adapted_model}" if summary.adapted_model else ""))
    if summary.char_level:
        console.print("NER tags on characters (--char-level)")
    if show_terms:
        console.print("\n".join(summary.terms))


@vocab.command()
@click.argument("project")
@click.argument("text")
@click.pass_context
def check(ctx, project, text):
    """Show TEXT's tokens and ids with PROJECT's model as it comes and with the project's terms.

    Each token is printed as surface:id; added domain terms are highlighted,
    and a line wraps at the terminal's width, so long texts stay readable.

    \b
    Example:
      bertanno vocab check clinic "高血压病史十年"
    """
    from rich.text import Text

    from bertanno.vocab.inspection import extended_tokenizer, pieces

    if not text.strip():
        raise click.UsageError("TEXT is empty: give the sentence to tokenize, e.g. \"新冠病毒是一种新型冠状病毒\"")
    before, after = extended_tokenizer(open_store(ctx), project)
    for title, tokenizer in (("before", before), ("after", after)):
        found = pieces(tokenizer, text)
        added = sum(piece.added for piece in found)
        console.print(f"[bold]{title}[/]: {len(found)} tokens" + (f", {added} of them domain terms" if added else ""))
        line = Text("  ")
        for piece in found:
            line.append(piece.surface, style="bold green" if piece.added else "")
            line.append(f":{piece.token_id} ", style="dim")
        console.print(line)


@vocab.command()
@click.argument("project")
@click.option("--char-level/--term-tokens", "char_level", default=None,
              help="Count as if NER tagged characters / tokens (default: the project's setting).")
@click.option("--examples", default=5, show_default=True, help="Conflicting entities to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stats(ctx, project, char_level, examples, as_json):
    """What PROJECT's terms change over its items: tokens per text, term hits,
    and annotated entities that an added term would swallow (NER).

    \b
    Example:
      bertanno vocab stats clinic --json
    """
    from bertanno.vocab.inspection import project_stats

    result = project_stats(open_store(ctx), project, char_level, examples)
    if as_json:
        click.echo(json.dumps({
            "texts": result.texts, "tokens_per_text_before": result.per_text_before,
            "tokens_per_text_after": result.per_text_after, "terms": result.terms,
            "terms_occurring": len(result.term_occurrences), "term_occurrences": sum(result.term_occurrences.values()),
            "spans": result.spans, "conflicts": result.conflicts, "char_level": result.char_level,
            "examples": [{"text": c.text, "span": list(c.span), "tokens": c.tokens} for c in result.examples],
        }, ensure_ascii=False, indent=2))
        return
    change = (result.per_text_after / result.per_text_before - 1) if result.per_text_before else 0.0
    console.print(f"{result.texts} texts: {result.per_text_before:.1f} tokens per text before, "
                  f"{result.per_text_after:.1f} after ({change:+.1%})")
    console.print(f"{len(result.term_occurrences)} of {result.terms} terms occur, "
                  f"{sum(result.term_occurrences.values())} times in all"
                  + ("; most often: " + ", ".join(f"{t} {n}" for t, n in result.term_occurrences.most_common(8))
                     if result.term_occurrences else ""))
    if result.spans:
        how = "character-level tags" if result.char_level else "term tokens"
        console.print(f"{result.spans} annotated entities; {result.conflicts} cut by an added term ({how})")
        for conflict in result.examples:
            start, end, label = conflict.span
            console.print(f"  {conflict.text[start:end]}:{label} at {start}-{end} in “{conflict.text[max(0, start - 10):end + 10]}”"
                          f" → tokens {conflict.tokens}")
        if result.conflicts and not result.char_level:
            console.print(f"fix: remove the offending terms, or tag characters: bertanno vocab add {project} --char-level")


@vocab.command()
@click.argument("corpus", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", help="Mine the project's items and its annotated entity surfaces (and its model's tokenizer).")
@click.option("--min-count", default=5, show_default=True, help="Least occurrences of a recurring string.")
@click.option("--max-length", default=6, show_default=True, help="Longest recurring string, in characters.")
@click.option("--top", default=200, show_default=True, help="How many candidates.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write them as a term list to review and then add (default: print a table).")
@click.pass_context
def mine(ctx, corpus, project, min_count, max_length, top, output):
    """Propose candidate terms from CORPUS (one text per line, or JSONL) and/or a project.

    Candidates are annotated entity surfaces and recurring strings of Chinese
    characters that the tokenizer splits into several tokens today, ranked;
    nothing is added until you run `bertanno vocab add` on the (reviewed)
    output.

    \b
    Example:
      bertanno vocab mine notes.txt --project clinic -o candidates.txt
    """
    from bertanno.core.bundle import load_tokenizer
    from bertanno.core.scratch import SKELETON_DIR
    from bertanno.vocab.corpus import project_corpus, read_corpus
    from bertanno.vocab.domain_vocabulary import base_tokenizer, describe
    from bertanno.vocab.mining import mine as mine_terms
    from bertanno.vocab.terms import Term, write_term_list

    if corpus is None and project is None:
        raise click.UsageError("give a CORPUS file, --project, or both")
    texts, entities, exclude = [], [], set()
    if project:
        store = open_store(ctx)
        texts, entities = project_corpus(store, project)
        summary = describe(store, project)
        tokenizer, exclude = base_tokenizer(summary.model), set(summary.terms)
    else:
        tokenizer = load_tokenizer(SKELETON_DIR)  # bert-base-chinese's vocabulary
    if corpus:
        texts += read_corpus(corpus)
    found = mine_terms(texts, tokenizer, entities, min_count, max_length, exclude, top)
    if output:
        write_term_list([Term(c.term, c.source, c.count) for c in found], output,
                        f"candidates mined by bertanno from {len(texts)} texts: review, then bertanno vocab add PROJECT {output}")
        console.print(f"{len(found)} candidates written to {output}; review them, then: bertanno vocab add PROJECT {output}")
        return
    table = Table(title=f"{len(found)} candidate terms from {len(texts)} texts")
    for column in ("term", "count", "source", "tokens today"):
        table.add_column(column)
    for candidate in found:
        table.add_row(escape(candidate.term), str(candidate.count), escape(candidate.source), str(candidate.pieces))
    console.print(table)


@vocab.command()
@click.argument("project")
@click.argument("corpus", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--epochs", default=1, show_default=True, help="Passes over the corpus; a pretrained model needs few.")
@click.option("--batch-size", default=16, show_default=True, help="Texts per step.")
@click.option("--lr", "learning_rate", default=5e-5, show_default=True, type=float,
              help="Learning rate (5e-5 suits a pretrained model; a small random one learns at 1e-3).")
@click.option("--max-length", default=128, show_default=True, help="Tokens per text (longer texts are cut).")
@click.option("--max-texts", type=int, help="Use at most this many texts (a seeded sample).")
@click.option("--seed", default=42, show_default=True, help="Masking, sampling and shuffling.")
@click.option("--device", help="cpu, cuda … (default: a GPU when there is one).")
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), envvar="BERTANNO_MODELS",
              show_envvar=True, help="Where the adapted model is saved (default: ./bertanno-models).")
@click.option("--checkpoint-every", type=click.IntRange(min=1), metavar="STEPS",
              help="Steps between checkpoints (default: a tenth of the run).")
@click.option("--nice", "be_nice", is_flag=True,
              help="Run at a lower CPU priority, so annotating on the same machine stays quick.")
@click.pass_context
def adapt(ctx, project, corpus, epochs, batch_size, learning_rate, max_length, max_texts, seed, device, models_dir,
          checkpoint_every, be_nice):
    """Masked-LM training of PROJECT's model (with its terms) on unlabelled domain text: CORPUS
    (one text per line, or JSONL) or, without it, the project's own items (those of the
    evaluation split left out: what judges a version is never trained on).

    Listed terms are masked whole. The adapted model is saved beside the
    project's versions; `bertanno train PROJECT --from adapted` starts from it
    (measured on public sets at about 1,350 labelled examples it did not help,
    so plain `train` keeps starting from the base model). The masked-LM loss on
    held-out text, before, at each checkpoint and after, says whether it learnt
    anything. A checkpoint is kept every --checkpoint-every steps: a run
    killed or stopped with Ctrl-C resumes from its last one when the same
    command is run again.

    \b
    Examples:
      bertanno vocab adapt clinic notes.txt --epochs 2
      nohup bertanno vocab adapt clinic --epochs 3 --nice &   (in the background)
    """
    import os
    import random
    import shutil

    from bertanno.app.training_runs import adapt_checkpoints, next_adapted_directory
    from bertanno.vocab.adapt import AdaptConfig
    from bertanno.vocab.adapt import adapt as adapt_model
    from bertanno.vocab.corpus import project_corpus, read_corpus
    from bertanno.vocab.domain_vocabulary import describe, set_adapted_model

    if be_nice:
        os.nice(10)
    store = open_store(ctx)
    summary = describe(store, project)
    texts = read_corpus(corpus) if corpus else project_corpus(store, project, without_evaluation=True)[0]
    if max_texts and len(texts) > max_texts:
        texts = random.Random(seed).sample(texts, max_texts)
    directory = next_adapted_directory(store, project, models_dir)
    checkpoints = adapt_checkpoints(store, project, models_dir)
    config = AdaptConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, max_length=max_length,
                         seed=seed, device=device, checkpoint_dir=checkpoints, checkpoint_every=checkpoint_every)
    with progress_bar("masked-LM steps") as advance:
        result = adapt_model(summary.model, summary.terms, texts, directory, config, advance)
    shutil.rmtree(checkpoints, ignore_errors=True)
    set_adapted_model(store, project, str(result.directory.resolve()))
    if result.resumed_from:
        console.print(f"resumed from the checkpoint at step {result.resumed_from}")
    if result.checkpoints:
        console.print("held-out masked-LM loss at each checkpoint: " + ", ".join(
            f"step {point['step']} {point['loss']:.3f}" for point in result.checkpoints))
    console.print(f"adapted on {result.texts} texts in {result.steps} steps ({result.seconds:.0f} s); "
                  f"held-out masked-LM loss {result.loss_before:.3f} → {result.loss_after:.3f}"
                  + (f", on term tokens {result.term_loss_before:.3f} → {result.term_loss_after:.3f}"
                     if result.term_loss_before is not None and result.term_loss_after is not None else ""))
    console.print(f"saved to {result.directory}; train from it with: bertanno train {project} --from adapted "
                  "(the gate judges that version against the champion as any other)")



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (vocab,):
        cli.add_command(command)
