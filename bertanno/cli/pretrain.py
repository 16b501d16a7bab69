"""``bertanno pretrain``: masked-LM pretraining of a Chinese BERT."""

from __future__ import annotations

from pathlib import Path

import click

from bertanno import hookimpl
from bertanno.cli.common import console, err_console


@click.command()
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
@click.option("--corpus", "corpus", multiple=True, required=True, type=click.Path(path_type=Path),
              help="A text file (one paragraph per line, or JSONL with a text field) or a directory of them. "
                   "Repeatable.")
@click.option("--from", "from_model", metavar="MODEL",
              help="Continue pretraining this model (alias, hub id or directory) instead of starting from scratch; "
                   "past the length it was pretrained at, its positions start as copies of the trained ones.")
@click.option("--layers", default=4, show_default=True, help="Transformer layers of a new model.")
@click.option("--hidden", default=256, show_default=True, help="Hidden size of a new model (heads: hidden/64).")
@click.option("--max-length", default=128, show_default=True, help="Tokens per packed sequence.")
@click.option("--batch-size", default=32, show_default=True, help="Sequences per step.")
@click.option("--lr", "learning_rate", default=5e-4, show_default=True, type=float,
              help="Peak learning rate (linear warm-up, then linear decay to 0 at --steps).")
@click.option("--warmup-steps", default=500, show_default=True, help="Steps of linear warm-up to the peak --lr.")
@click.option("--steps", default=20_000, show_default=True,
              help="Optimizer steps in all; the schedule's length. A resumed run keeps it.")
@click.option("--hours", type=float, help="Stop this run after so many hours; the model so far is written and "
                                          "--resume continues.")
@click.option("--checkpoint-minutes", default=10.0, show_default=True, help="How often a checkpoint is written.")
@click.option("--eval-steps", default=500, show_default=True,
              help="Held-out masked-LM loss and accuracy every this many steps.")
@click.option("--terms", "term_lists", multiple=True, metavar="LIST",
              help="Mask these terms whole (a built-in list name or a file). Repeatable.")
@click.option("--resume", is_flag=True, help="Continue the run whose checkpoints are in OUTPUT.checkpoints/.")
@click.option("--seed", default=13, show_default=True,
              help="New weights, masking and the order of the packed sequences (resume with the same one).")
@click.option("--workers", type=int, metavar="N",
              help="Data-loader processes packing and masking the corpus (default: up to 8 on a GPU, none on CPU); "
                   "resume with the same number.")
@click.option("--device", help="cpu, cuda … (default: a GPU when there is one; bf16 there).")
def pretrain(output, corpus, from_model, layers, hidden, max_length, batch_size, learning_rate, warmup_steps, steps,
             hours, checkpoint_minutes, eval_steps, term_lists, resume, seed, workers, device):
    """Pretrain a Chinese BERT as a masked language model on unlabelled text; write it to OUTPUT.

    From scratch (the bert-base-chinese vocabulary, --layers x --hidden) or --from a model. The
    corpus is streamed and packed into full sequences; 15 % of the tokens are masked (80/10/10),
    listed terms as a whole; one line in 200 is held out and scored every --eval-steps.
    Checkpoints go to OUTPUT.checkpoints/ every --checkpoint-minutes and on Ctrl-C; --resume
    continues from the newest, seeing exactly what an uninterrupted run would have seen. OUTPUT
    is written (with a model card, README.md) only when a run stops, and swapped in whole.

    \b
    Examples:
      bertanno pretrain my-bert --corpus corpus/ --steps 40000 --hours 2
      bertanno pretrain my-bert --corpus corpus/ --steps 40000 --hours 2 --resume
      bertanno pretrain clinic-bert --from bert-base-chinese \\
          --corpus notes.txt --terms medical --steps 2000
    Use the result as any model: bertanno init P --task T --model ./my-bert
    """
    from bertanno.core.plugins import get_plugins
    from bertanno.pretraining.pretrain import PretrainConfig
    from bertanno.pretraining.pretrain import pretrain as run_pretraining
    from bertanno.vocab.terms import load_term_list

    terms: list[str] = []
    for source in term_lists:
        terms += [t for t in load_term_list(source, get_plugins()).texts if t not in terms]
    config = PretrainConfig(layers=layers, hidden=hidden, max_length=max_length, batch_size=batch_size,
                            learning_rate=learning_rate, warmup_steps=warmup_steps, steps=steps, hours=hours,
                            checkpoint_minutes=checkpoint_minutes, eval_steps=eval_steps, seed=seed, device=device,
                            workers=workers)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[rate]:>7} tok/s  loss {task.fields[loss]}"))
    with Progress(*columns, console=err_console, transient=True) as progress:
        task_id = progress.add_task("pretraining", total=steps, rate="-", loss="-")

        def on_step(step, total, info):
            loss = f"{info['loss']:.3f}" if info.get("loss") is not None else "-"
            progress.update(task_id, completed=step, total=total, rate=f"{info['tokens_per_second']:,.0f}", loss=loss)
            if "held_out" in info:
                scores = info["held_out"]
                progress.console.print(f"step {step:,}: held-out masked-LM loss {scores['loss']:.3f}, "
                                       f"accuracy {scores['accuracy']:.3f}")

        result = run_pretraining(output, corpus, config, from_model, terms, resume, on_step)
    state = "finished" if result.finished else f"stopped at step {result.steps:,} of {result.total_steps:,}"
    console.print(f"{state}: {result.tokens_seen:,} tokens seen, {result.seconds / 60:.1f} min this run; "
                      f"model and card in {result.directory}")
    if not result.finished:
        console.print(f"continue with: bertanno pretrain {output} --corpus … --steps {result.total_steps} --resume")



@hookimpl
def register_commands(cli):
    """The built-in commands come in through the same hook as a plugin's."""
    for command in (pretrain,):
        cli.add_command(command)
