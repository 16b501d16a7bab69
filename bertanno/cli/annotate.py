"""``bertanno annotate``: the terminal session."""

from __future__ import annotations

import os
import sys

import click
from rich.markup import escape

from bertanno import hookimpl
from bertanno.cli.common import console, err_console, open_store, precision_option, where_option
from bertanno.errors import BertannoError


def keys_option(function):
    """``--keys`` / ``BERTANNO_KEYS``, shared by annotate and review; the actions listed are the keymap's own."""
    from bertanno.app.line_screen import KEYS

    return click.option("--keys", "keymap", envvar="BERTANNO_KEYS", show_envvar=True, metavar="ACTION=KEY …",
                        help='Change the keymap, e.g. "accept=y reject=n skip=k" (actions: '
                             f'{" ".join(KEYS)}).')(function)


@click.command()
@click.argument("project")
@click.option("--annotator", help="Your name in the records (default: your user name).")
@click.option("--order", type=click.Choice(["sequential", "uncertain", "random"]), default="sequential",
              show_default=True, help="uncertain: the items the model is least sure of first.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="A saved version to pre-annotate with (default: the project's champion, if any).")
@click.option("--no-predict-ahead", is_flag=True, help="Predict each item when it is shown, not ahead in batches.")
@click.option("--live-every", default=20, show_default=True, metavar="N", type=click.IntRange(min=0),
              help="Refit the fast live model every N decisions (0: never). Not with --model.")
@click.option("--decisions", type=click.File("r", encoding="utf-8"),
              help="No terminal: read one key sequence per item from this file (- for stdin); \"@4.5 a\" also gives "
                   "the item's time in seconds.")
@click.option("--plain", is_flag=True,
              help="The line-by-line screen instead of the full-screen one (for a terminal that cannot draw a "
                   "full screen, or a screen reader); chosen by itself when TERM is dumb.")
@click.option("--idle-limit", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS",
              help="A pause between keys longer than this is not counted as time on the item (each decision "
                   "records its active time, keystrokes, what was shown and the edit).")
@click.option("--fast-accept", default=0.5, show_default=True, type=click.FloatRange(min=0), metavar="SECONDS",
              help="Say so, gently, when your last 10 accepts took a median under this (0: never).")
@click.option("--web", is_flag=True,
              help="Serve this same screen in a web browser on localhost (pip install 'bertanno[web]'): each "
                   "tab that opens http://localhost:PORT is a session of its own. From another machine: "
                   "ssh -L PORT:localhost:PORT this-host, then open the page there.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="With --web: the port on localhost.")
@where_option
@keys_option
@precision_option
@click.pass_context
def annotate(ctx, project, annotator, order, model_dir, no_predict_ahead, decisions, plain, keymap, live_every,
             idle_limit, fast_accept, where, precision, web, port):
    """Accept or correct the model's pre-annotations of PROJECT, one item at a time.

    \b
    Keys:
      Enter / a  accept        1-9  choose that label    x  reject
      s          skip          u  undo, step by step     ?  all keys
      g          guidelines    #  comment (! flags)      =  filter the items
      q, Ctrl-C, Ctrl-D  quit

    NER, full screen: arrows move a cursor through the text, shift+arrows
    select, 1-9 label the selection (on a span: change its type), d removes
    the span under the cursor, Tab jumps between spans, w selects the word,
    W widens the selection to whole word pieces, [ ] { } move a span's ends,
    : takes a line command (+ 北京:LOC, - 2).
    With --plain, c opens the line editor for spans.

    \b
    Every decision is committed before the next item is shown; quitting at any
    moment loses nothing, and the next run resumes at the first undecided item.
    Two annotators on one project never get the same item. With --decisions,
    each line is what you would type for one item: a, x, s, u, q, 2,
    "c positive", or for NER "c + 北京:LOC; - 1".

    While you annotate, a fast model (linear for sentences and pairs, crf for
    NER) is refitted in the background every --live-every decisions and gated
    like any version; when it becomes the champion it pre-annotates the next
    items. The header says which model serves and its score.

    With --web the same screen is served to a web browser on localhost.

    \b
    Examples:
      bertanno annotate reviews --order uncertain --annotator li
      bertanno annotate clinic --where "model:DIS confidence:<0.6"
      bertanno annotate reviews --web --port 8000
                            then open http://localhost:8000
    """
    from bertanno.app.line_screen import parse_keymap
    from bertanno.app.session import AnnotationSession, session_predictor
    from bertanno.app.web import serve_annotation, serving_under_a_browser

    keys = parse_keymap(keymap)
    store = open_store(ctx)
    if web:
        if decisions or plain:
            raise click.UsageError("--web serves the full screen: not with --decisions or --plain")
        options = [*(["--annotator", annotator] if annotator else []), "--order", order,
                   *(["--model", model_dir] if model_dir else []), *(["--no-predict-ahead"] if no_predict_ahead else []),
                   "--live-every", str(live_every), "--idle-limit", str(idle_limit),
                   "--fast-accept", str(fast_accept), *(["--where", where] if where else []),
                   *(["--keys", keymap] if keymap else []), *(["--precision", precision] if precision else [])]
        from bertanno.core.project import open_project

        open_project(store, project)  # no such project: a sentence now, not a page whose tabs fail
        store.close()
        err_console.print(f"serving {escape(project)} on http://localhost:{port} (Ctrl-C stops; from another "
                          f"machine: ssh -L {port}:localhost:{port} this-host)", highlight=False)
        serve_annotation(project, options, port, ctx.find_root().obj["db"])
        return
    browser = serving_under_a_browser()
    if not browser:
        from bertanno.core.project import open_project

        open_project(store, project)  # no such project: that sentence first, not "no terminal"
    if decisions is None and not sys.stdin.isatty() and not browser:
        raise BertannoError("no terminal to annotate in: give --decisions FILE (one key sequence per item, - for stdin)")
    with err_console.status(f"loading {escape(model_dir) if model_dir else 'the champion of ' + project} "
                            "(a transformer takes some seconds) …"):
        predictor, version = session_predictor(store, project, model_dir, precision=precision)
    session = AnnotationSession(store, project, annotator, order, predictor, version, not no_predict_ahead,
                                live_every=None if model_dir else live_every, idle_limit=idle_limit,
                                fast_accept=fast_accept, where=where)
    if predictor is None:
        later = (f"a {session.live.family.name} model takes over after {live_every} decisions" if session.live
                 else f"then bertanno train {project}")
        err_console.print(f"project {project} has no model yet: annotate by hand; {later}")
    plain = plain or (not browser and os.environ.get("TERM", "") in ("dumb", ""))
    run_session(session, decisions, keys, plain)


@click.command()
@click.argument("project")
@click.option("--reviewer", help="Your name in the records (default: your user name).")
@click.option("--annotators", metavar="NAME,NAME…",
              help="Only the items each of these annotators decided (default: every disagreement).")
@click.option("--sample", default=0, show_default=True, type=click.IntRange(min=0), metavar="N",
              help="Also N items the annotators agreed on, drawn at random and shuffled in, as spot checks.")
@click.option("--seed", default=0, show_default=True, help="The seed of --sample's draw and order.")
@click.option("--decisions", type=click.File("r", encoding="utf-8"),
              help="No terminal: read one key sequence per item from this file (- for stdin), as annotate does.")
@click.option("--plain", is_flag=True, help="The line-by-line screen instead of the full-screen one.")
@click.option("--idle-limit", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              metavar="SECONDS", help="A pause between keys longer than this is not counted as time on the item.")
@where_option
@keys_option
@click.pass_context
def review(ctx, project, reviewer, annotators, sample, seed, decisions, plain, idle_limit, where, keymap):
    """Settle the items PROJECT's annotators decided differently, one at a time.

    Each item shows every annotator's decision side by side (for NER, each
    one's spans over the same ruler, spans not everyone marked reversed) and
    the model's latest prediction. Your decision settles the item: training
    and exports use it from then on (it is recorded with source "review").

    \b
    Keys (as in annotate):
      Enter / a  accept the proposal: what every annotator gave, or what a
                 strict majority of three or more gave (NER: span by span);
                 with no majority Enter asks which version settles it
      v N        settle with version N: an annotator's, or their union
      1-9        choose that label     c  correct (type a label, edit spans)
      x          the item is unusable: decided, with no label
      s          leave it for later    u  undo, step by step     q  quit

    A reject is shown as "rejected" and is never a vote for "no entities":
    the proposal only holds what some annotator gave.

    \b
    Examples:
      bertanno review notes --reviewer chen
      bertanno review notes --annotators li,wang --sample 20
      bertanno review notes --where "is:flagged"
      bertanno review notes --decisions decisions.txt
    """
    from bertanno.app.line_screen import parse_keymap
    from bertanno.app.review import ReviewSession, review_summary

    keys = parse_keymap(keymap)
    store = open_store(ctx)
    if decisions is None and not sys.stdin.isatty():
        raise BertannoError("no terminal to review in: give --decisions FILE (one key sequence per item, - for stdin)")
    names = [name.strip() for name in (annotators or "").split(",") if name.strip()] or None
    session = ReviewSession(store, project, reviewer, names, sample, seed, idle_limit=idle_limit, where=where)
    plain = plain or os.environ.get("TERM", "") in ("dumb", "")
    run_session(session, decisions, keys, plain, summary=review_summary)


def run_session(session, decisions=None, keys=None, plain: bool = False, summary=None) -> None:
    """The full-screen session (the line-by-line one with ``plain``, the scripted one with ``decisions``);
    says what was saved, however it ends (``summary(counts, annotator)``: the line that says it)."""
    from bertanno.app.line_screen import KEYS, run_interactive, run_scripted

    try:
        if decisions is not None:
            run_scripted(session, decisions, lambda line: console.print(line, highlight=False), keys)
        elif plain:
            run_interactive(session, console, click.getchar, keys)
        else:
            from bertanno.app.screen import AnnotationApp

            AnnotationApp(session, keys or KEYS).run()
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        session.close()
    counts = session.counts
    if summary is not None:
        console.print("\n" + summary(counts, session.annotator))
        return
    console.print(f"\nsaved: {counts['accept']} accepted, {counts['correct']} corrected, {counts['reject']} rejected, "
                  f"{counts['skip']} skipped (annotator {session.annotator})")



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (annotate, review):
        cli.add_command(command)
