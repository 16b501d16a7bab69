"""``bertanno predict``: pre-annotate a file with a model."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from bertanno import hookimpl
from bertanno.cli.common import dash_is_stdout, err_console, parse_labels, parse_options, progress_bar
from bertanno.errors import BertannoError


@click.command()
@click.argument("model")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--task", "task_name", help="Task of a base model (a saved version knows its own).")
@click.option("--labels", help="Comma-separated label set for a base model, e.g. negative,positive.")
@click.option("--format", "format_name", help="Input format (default: guessed from the file).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Format option, repeatable: columns=text,label  label_map=0=negative,1=positive  end=inclusive")
@click.option("--skip-bad", is_flag=True, help="Skip rows that cannot be read instead of stopping.")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=dash_is_stdout,
              help="Write JSONL here (default or -: standard output).")
@click.option("--device", help="cpu, cuda, cuda:1 … (default: a GPU when there is one).")
@click.option("--token-budget", default=8192, show_default=True, help="Padded tokens per batch.")
@click.option("--trust-remote-code", is_flag=True, help="Allow code shipped inside the model directory to run.")
def predict(model, file, task_name, labels, format_name, options, skip_bad, output, device, token_budget,
            trust_remote_code):
    """Pre-annotate FILE with MODEL and write one JSON line per item.

    MODEL is a saved version directory, or a base model (alias, hub id, directory) with --task.
    Each line is bertanno's jsonl with the predicted label (or spans) and, in meta.prediction,
    the model and its confidence; bertanno import reads it back as pre-annotations.

    \b
    Example:
      bertanno predict runs/v3 reviews.txt -o predictions.jsonl
      bertanno import reviews predictions.jsonl
    """
    from bertanno.core.bundle import is_version_dir, load_bundle
    from bertanno.core.engine import Predictor
    from bertanno.core.reading import read_examples
    from bertanno.core.transfer import check_output, predictions_jsonl, write_output
    from bertanno.plugins.manager import get_plugins

    if output is not None:
        check_output(output)
    plugins = get_plugins()
    task = None
    if not is_version_dir(model):
        if not task_name:
            raise BertannoError(f"{model} is a base model: say which task with --task ({', '.join(plugins.tasks)})")
        task = plugins.task(task_name, labels=parse_labels(labels))
    bundle = load_bundle(model, task, plugins, trust_remote_code)
    result = read_examples(file, bundle.task, format_name, parse_options(options), skip_bad, plugins)
    for error in result.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    predictor = Predictor(bundle, device=device, token_budget=token_budget)
    with progress_bar("predicting") as advance:
        predictions, stats = predictor.predict(result.examples, progress=advance)
    name = Path(model).name if is_version_dir(model) else model
    text = predictions_jsonl(bundle.task, result.examples, predictions, name, plugins)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
    _report_stats(stats, bundle.max_length)


def _report_stats(stats, max_length: int) -> None:
    err_console.print(f"{stats.examples} items, {stats.tokens} tokens in {stats.batches} batches, "
                      f"{stats.examples_per_second:.1f} items/s")
    if stats.truncated:
        err_console.print(f"[yellow]{stats.truncated} item(s) were longer than {max_length} tokens and were "
                          "truncated[/]; a long-input model (lawformer) avoids this")



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (predict,):
        cli.add_command(command)
