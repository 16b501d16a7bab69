"""``bertanno predict``: pre-annotate a file with a model."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from bertanno import hookimpl
from bertanno.cli.common import (
    dash_is_stdout,
    err_console,
    open_store,
    parse_labels,
    parse_options,
    precision_option,
    progress_bar,
)
from bertanno.errors import BertannoError


def gpus_option(function):
    """``--gpus F``: each Ray actor's GPUs (both commands that run on Ray take it)."""
    return click.option("--gpus", type=click.FloatRange(min=0, min_open=True), metavar="F",
                        help="With --ray: GPUs of each actor (1, or 0.5 to put two models on a GPU); the pool "
                             "defaults to the cluster's GPUs / F. An actor's model runs on its GPU in bf16.")(function)


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
@click.option("--token-budget", type=click.IntRange(min=1), metavar="N",
              help="Padded tokens per batch (default: 8192 on the CPU; on a GPU, sized by its free memory).")
@click.option("--trust-remote-code", is_flag=True, help="Allow code shipped inside the model directory to run.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", metavar="[ADDRESS]",
              help="Run on Ray Data (pip install 'bertanno[ray]'; MODEL a saved version): --ray alone starts a "
                   "local Ray instance, --ray HOST:6379 joins a cluster; -o names a folder of JSONL shards.")
@click.option("--actors", type=click.IntRange(min=1), metavar="N",
              help="With --ray: models loaded at once, one per actor (default: the cluster's CPUs / --threads).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="With --ray: CPU threads (and Ray CPUs) of each actor.")
@click.option("--untrained", is_flag=True,
              help="With a base model: predict with its task head as it starts, random (speed tests only).")
@gpus_option
@precision_option
def predict(model, file, task_name, labels, format_name, options, skip_bad, output, device, token_budget,
            trust_remote_code, ray_address, actors, threads, gpus, precision, untrained):
    """Pre-annotate FILE with MODEL and write one JSON line per item.

    MODEL is a saved version directory of any family (bertanno train saves
    one). A base model (alias, hub id, directory) has a task head nobody
    trained: its output is random, so it is refused unless --untrained
    (with --task) says that is what you want, e.g. to time a model.
    Each line is bertanno's jsonl with the predicted label (or spans) and, in meta.prediction,
    the model and its confidence; bertanno import reads it back as pre-annotations.

    \b
    Example:
      bertanno predict runs/v3 reviews.txt -o predictions.jsonl
      bertanno import reviews predictions.jsonl
      bertanno predict runs/v3 archive.csv --ray -o predictions/    shards
                                     part-00000.jsonl … of 512 rows each

    With --ray a shard is written whole once all its rows are back, and a
    shard already in the folder is kept: run the same command again after a
    stop and only the missing shards are predicted.
    """
    from bertanno.core.bundle import is_version_dir, load_bundle, read_version_record, record_family_name
    from bertanno.core.engine import Predictor, check_device
    from bertanno.core.import_export import check_output, predictions_jsonl, write_output
    from bertanno.core.optimize import serving_bundle
    from bertanno.core.plugins import get_plugins
    from bertanno.core.reading import read_examples

    if ray_address:
        return _predict_on_ray(model, file, format_name, options, skip_bad, output, ray_address, actors, threads,
                               gpus, precision)
    if actors or gpus:
        raise click.UsageError("--actors and --gpus size a Ray actor pool: add --ray")
    if output is not None:
        check_output(output)
    plugins = get_plugins()
    task = None
    if not is_version_dir(model):
        folder = Path(model)
        if folder.is_dir() and not (folder / "config.json").is_file():
            raise BertannoError(f"{model} is neither a saved version (no bertanno.json) nor a model folder (no "
                                "config.json); MODEL comes first, then FILE: bertanno predict MODEL FILE")
        if not task_name:
            raise BertannoError(f"{model} is a base model: say which task with --task ({', '.join(plugins.tasks)})")
        task = plugins.task(task_name, labels=parse_labels(labels))
        if not untrained:
            raise BertannoError(
                f"{model} is a base model: its {task.name} head was never trained, so its labels would be random "
                "guesses. Predict with a trained version (bertanno train PROJECT, then bertanno predict "
                "MODELS/PROJECT-…/v001 FILE, or bertanno predict-project PROJECT), or add --untrained to time it")
        err_console.print(f"[yellow]warning[/]: {escape(model)}'s {task.name} head is untrained: its predictions "
                          "are random; do not import them as pre-annotations", highlight=False)
    check_device(device)
    if task is None and record_family_name(read_version_record(model)) != "transformer":
        return _predict_with_family(model, file, format_name, options, skip_bad, output, plugins)
    bundle = serving_bundle(load_bundle(model, task, plugins, trust_remote_code), precision, Path(model), device)
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


def _predict_with_family(model, file, format_name, options, skip_bad, output, plugins) -> None:
    """``predict`` with a saved version of a family other than the transformer (crf, linear, lexicon, a
    gazetteer, a zero-shot family, a plugin's): loaded and served through its family, as annotate serves it."""
    from bertanno.core.bundle import read_version_record, version_task
    from bertanno.core.import_export import predictions_jsonl, write_output
    from bertanno.core.reading import read_examples
    from bertanno.core.serving import load_served

    task = version_task(read_version_record(model), plugins)
    served = load_served(model, plugins, task)
    result = read_examples(file, task, format_name, parse_options(options), skip_bad, plugins)
    for error in result.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    with progress_bar("predicting") as advance:
        predictions, _ = served.predict(result.examples, progress=advance)
    text = predictions_jsonl(task, result.examples, predictions, Path(model).name, plugins)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
    err_console.print(f"{len(predictions)} item(s) predicted", highlight=False)


def _predict_on_ray(model, file, format_name, options, skip_bad, output, address, actors, threads, gpus,
                    precision):
    """``predict --ray``: the file's rows in JSONL shards under the folder ``output``."""
    from bertanno.core.bundle import is_version_dir, read_version_record, version_task
    from bertanno.core.plugins import get_plugins
    from bertanno.core.ray_predictions import ModelSource, predict_files_on_ray
    from bertanno.core.reading import read_examples

    if not is_version_dir(model):
        raise BertannoError(f"{model} is not a saved version: with --ray every actor loads a version folder "
                            "(bertanno train saves one; a base model predicts without --ray)")
    if output is None:
        raise click.UsageError("with --ray, name a folder for the JSONL shards with -o")
    plugins = get_plugins()
    task = version_task(read_version_record(model), plugins)
    result = read_examples(file, task, format_name, parse_options(options), skip_bad, plugins)
    for error in result.errors:
        err_console.print(f"[yellow]skipped[/] {escape(str(file))}:{error.line}: {escape(error.message)}")
    source = ModelSource(str(Path(model).resolve()), None, precision)
    with progress_bar("predicting on Ray", unit="items") as advance:
        done = predict_files_on_ray(result.examples, task, source, output, Path(model).name,
                                    address=None if address == "local" else address, actors=actors, threads=threads,
                                    gpus=gpus or 0.0, progress=advance, plugins=plugins)
    kept = f"; {len(done.kept)} shard(s) already there kept" if done.kept else ""
    rate = f" in {done.seconds:.1f} s ({done.predicted / done.seconds:.1f} items/s)" if done.seconds else ""
    err_console.print(f"{done.predicted} items predicted{rate}: {len(done.written)} shard(s) written to "
                      f"{escape(str(output))}{kept}", highlight=False)
    if done.truncated:
        err_console.print(f"[yellow]{done.truncated} item(s) were longer than the model's input and were "
                          "truncated[/]", highlight=False)


def _report_stats(stats, max_length: int) -> None:
    err_console.print(f"{stats.examples} items, {stats.tokens} tokens in {stats.batches} batches, "
                      f"{stats.examples_per_second:.1f} items/s")
    if stats.truncated:
        err_console.print(f"[yellow]{stats.truncated} item(s) were longer than {max_length} tokens and were "
                          "truncated[/]; a long-input model (lawformer) avoids this")
    _report_dropped(stats)



@click.command(name="predict-project")
@click.argument("project")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, exists=True),
              help="A saved version to pre-annotate with (default: the project's champion).")
@click.option("--all", "everything", is_flag=True, help="Decided items too (default: the undecided ones).")
@click.option("--chunk-size", default=512, show_default=True, type=click.IntRange(min=1),
              help="Items predicted and stored per transaction: what a kill can cost.")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="CPU threads for the model (default: all cores; with --ray: each actor's, default 1).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", metavar="[ADDRESS]",
              help="Run on Ray Data (pip install 'bertanno[ray]'): --ray alone starts a local Ray instance, "
                   "--ray HOST:6379 or ray://HOST:10001 joins that cluster.")
@click.option("--actors", type=click.IntRange(min=1), metavar="N",
              help="With --ray: models loaded at once, one per actor (default: the cluster's CPUs / --threads).")
@gpus_option
@precision_option
@click.pass_context
def predict_project(ctx, project, model_dir, everything, chunk_size, threads, ray_address, actors, gpus, precision):
    """Pre-annotate every undecided item of PROJECT and store the predictions.

    The annotation session then serves them at once, most uncertain first with
    --order uncertain. An item whose latest pre-annotation is already this
    model's is skipped, and each chunk is stored as it finishes, so a run that
    is killed or stopped with Ctrl-C continues where it stopped when started
    again.

    \b
    Examples:
      bertanno predict-project reviews                 the champion
      bertanno predict-project reviews --model models/reviews/v004
      bertanno predict-project reviews --ray           on a local Ray instance
      bertanno predict-project reviews --ray ray-head:6379 --threads 4
                                                       on a cluster: one model per
                                                       4 CPUs on every node
      bertanno predict-project reviews --ray ray-head:6379 --gpus 1
                                                       one model per GPU

    With --ray the model's folder must be readable at the same path on every
    Ray node (storage they all mount) and bertanno installed there; the
    predictions come back to this process, which stores them in chunks.
    """
    from bertanno.app.training_runs import pre_annotate
    from bertanno.core.ray_predictions import RayJob

    if (actors or gpus) and not ray_address:
        raise click.UsageError("--actors and --gpus size a Ray actor pool: add --ray")
    job = RayJob(None if ray_address == "local" else ray_address, actors, threads or 1, gpus or 0.0) \
        if ray_address else None
    if threads and not job:
        import torch

        torch.set_num_threads(threads)
    store = open_store(ctx)
    try:
        with progress_bar("pre-annotating", unit="items") as advance:
            name, result = pre_annotate(store, project, model_dir, undecided_only=not everything, progress=advance,
                                        chunk_size=chunk_size, precision=precision, ray=job)
    except KeyboardInterrupt:
        err_console.print("[yellow]stopped[/]: the chunks finished are stored; run the same command again to "
                          "continue", highlight=False)
        raise SystemExit(130) from None
    stats = result.stats
    if not result.predicted:
        err_console.print(f"nothing to do: all {result.already} {'' if everything else 'undecided '}items have "
                          f"{escape(name)}'s predictions already", highlight=False)
        return
    err_console.print(f"{result.predicted} items pre-annotated by {escape(name)} in {stats.seconds:.1f} s "
                      f"({stats.examples_per_second:.1f} items/s)"
                      + (f"; {result.already} already had its predictions" if result.already else ""),
                      highlight=False)
    if stats.truncated:
        err_console.print(f"[yellow]{stats.truncated} item(s) were longer than the model's input and were "
                          "truncated[/]", highlight=False)
    _report_dropped(stats)


def _report_dropped(stats) -> None:
    """What a model proposed that could not be used: spans not in the text (or of a type the project does not
    have: an LLM's hallucinated spans), items with no usable answer."""
    if stats.unaligned:
        err_console.print(f"[yellow]{stats.unaligned} proposed span(s) or relation(s) were not in the text or not of "
                          "the project's types, and were dropped[/]", highlight=False)
    if stats.unanswered:
        err_console.print(f"[yellow]{stats.unanswered} item(s) got no usable answer and no pre-annotation[/]",
                          highlight=False)


@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (predict, predict_project):
        cli.add_command(command)
