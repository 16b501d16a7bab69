"""Put a zh-mini model into the package: fp16 safetensors in shards under 16 MiB, the tokenizer, and the model
card (what it is, what it read and under which licences, each training stage, its held-out masked-LM accuracy,
how to rebuild it).

    python -m benchmarks.zh_mini_ship MODEL [--stages benchmarks/zh_mini_stages.json] [--out bertanno/data/models/zh-mini]
    python -m benchmarks.zh_mini_ship --card-only [--out bertanno/data/models/zh-mini]

MODEL is a checkpoint folder of a ``bertanno pretrain`` run (``zh-mini.checkpoints/checkpoint-N``, its
evaluations in ``trainer_state.json``) or a finished model folder (its evaluations in
``bertanno-pretrain.json``), e.g. one that ``benchmarks.zh_mini_gpu`` brought back from a GPU lease.
The stages file lists every training stage that led to it, in order (where it ran, from what, steps, batch,
learning rate, hours, held-out accuracy at its end): the checkpoints do not record wall time or earlier
stages, so they are written down there, from the run logs, when a stage ends.

The card's downstream section (``benchmarks.report.zh_mini_card_section``: zh-mini fine-tuned on the eight shared
sets beside random weights and the classical baselines) comes from ``benchmarks/results/``; ``--card-only``
rewrites that section of the shipped card in place when new rows land, leaving the weights alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import REPO
from benchmarks.report import ZH_MINI_CARD_HEADING, zh_mini_card_section
from bertanno.pretraining.pretrain import HELD_OUT_MODULUS

OUT = REPO / "bertanno" / "data" / "models" / "zh-mini"
SHARD = "15MB"
LICENCES = {
    "legal-000.txt, legal-001.txt, legal-002.txt": "PRC statutes, regulations and judicial interpretations "
    "(LawRefBook/Laws), which PRC Copyright Law art. 5 excludes from copyright",
    "medical-000.txt": "Chinese-medical-dialogue-data (Toyhom, MIT) and Huatuo-Llama-Med-Chinese (SCIR-HI, "
    "Apache-2.0)",
    "science-000.txt": "CSL (ydli-ai, Apache-2.0): paper titles and abstracts",
    "train-splits.txt": "the training splits only of ChnSentiCorp, cMedQANER and cMedQQ (Apache-2.0); never a dev "
    "or test split",
}


def held_out(model: Path) -> tuple[int, list[dict]]:
    """The step reached and every held-out evaluation, from a checkpoint's trainer state or a finished model's
    pretrain record."""
    record = model / "bertanno-pretrain.json"
    if record.exists():
        data = json.loads(record.read_text(encoding="utf-8"))
        return int(data["steps"]), data["evaluations"]
    state = json.loads((model / "trainer_state.json").read_text(encoding="utf-8"))
    evaluations = [entry["held_out"] for entry in state["log_history"] if "held_out" in entry]
    return int(state["global_step"]), evaluations


def stage_tokens(stage: dict) -> int:
    """Tokens a training stage saw: steps x sequences per step x tokens per sequence (packed, so all real)."""
    return stage["steps"] * stage["batch"] * stage["max_length"]


def card(config: dict, stages: list[dict], evaluations: list[dict], parameters: int, shards: list[str]) -> str:
    last = evaluations[-1]
    every = max(1, len(evaluations) // 6)
    rows = "\n".join(f"| {e['step']:,} | {e['loss']:.3f} | {e['accuracy']:.3f} |"
                     for i, e in enumerate(evaluations) if i % every == every - 1 or e is last)
    tokens = sum(stage_tokens(stage) for stage in stages)
    stage_rows = "\n".join(
        f"| {n} | {stage['where']} | {stage['from']} | {stage['steps']:,} x {stage['batch']} x {stage['max_length']} "
        f"= {stage_tokens(stage) / 1e6:.1f} M | {stage['learning_rate']:g}, "
        f"{stage['warmup_steps']} warm-up steps, {stage['schedule']} | {stage['hours']:.2f} h "
        f"({stage_tokens(stage) / (stage['hours'] * 3600):,.0f} tokens/s) | "
        f"{stage['held_out_accuracy']:.3f} (step {stage['held_out_step']:,}) |"
        for n, stage in enumerate(stages, 1))
    commands = "\n".join(f"{stage['command']}" for stage in stages)
    licences = "\n".join(f"- `{name}`: {what}" for name, what in LICENCES.items())
    return with_card_section(f"""# zh-mini

bertanno's own small Chinese BERT, pretrained by bertanno's masked-LM pretraining (`bertanno pretrain`) from
random weights on licence-clean Chinese text: {config['num_hidden_layers']} layers x {config['hidden_size']}
hidden, {config['num_attention_heads']} heads, {parameters / 1e6:.1f} M parameters, the bert-base-chinese
vocabulary ({config['vocab_size']:,} WordPiece tokens), masked-LM head kept (so `bertanno pretrain --from
zh-mini` continues it). Weights stored in fp16 ({len(shards)} safetensors shards under 16 MiB), loaded in fp32.

It is what bertanno can use offline when no larger model is on the machine. It is small; how much it helps
each task, next to random weights and the classical baselines, is measured in bertanno's
`benchmarks/RESULTS.md`. A real bert-base-chinese, medbert or Lawformer is better wherever one can be had.

## Training

**{tokens:,} tokens seen** in {len(stages)} stages, sequences of packed corpus lines, masking BERT's (15 % of
the tokens; 80 % [MASK], 10 % random, 10 % kept), AdamW with weight decay 0.01, seed 13:

| stage | where | from | steps x batch x tokens | learning rate | time (throughput) | held-out accuracy |
|---|---|---|---|---|---|---|
{stage_rows}

Held out: 1 line in {HELD_OUT_MODULUS} of the corpus (by CRC32 of the line), never trained on; the same 128
sequences in every stage. At the end: masked-LM loss **{last['loss']:.3f}**, accuracy **{last['accuracy']:.3f}**
(share of masked tokens predicted exactly). The last stage's evaluations:

| step | held-out loss | held-out accuracy |
|---|---|---|
{rows}

## Data and licences

Only text whose licence allows shipping weights trained on it:

{licences}

Left out: news transcripts (research use only), a weekly web digest (no licence), exam passages
(non-commercial), Wikipedia paragraphs (CC BY-SA 4.0, share-alike), and every dev or test split.

## Rebuild

`python -m benchmarks.zh_mini_corpus DIR` writes `DIR/train-splits.txt` and prints the corpus list; then the
stages in order (each continues the previous one's model; on a CPU alone, `bertanno pretrain` with
`--resume` across sessions gets there too, far more slowly):

```
{commands}
python -m benchmarks.zh_mini_ship MODEL --stages benchmarks/zh_mini_stages.json
```
""")


def with_card_section(card_text: str, section: list[str] | None = None) -> str:
    """``card_text`` with its downstream section (from ``ZH_MINI_CARD_HEADING`` to the next ``## `` heading) replaced
    by ``section`` (lines; ``zh_mini_card_section()`` when None), or that section put before ``## Data and
    licences`` when the card has none; an empty section removes the old one. The section ends with one blank line
    before the next heading, so that a second replacement gives the same text."""
    lines = zh_mini_card_section() if section is None else section
    block = "\n".join(lines).rstrip("\n") + "\n\n" if lines else ""
    if ZH_MINI_CARD_HEADING in card_text:
        start = card_text.index(ZH_MINI_CARD_HEADING)
        end = card_text.find("\n## ", start + len(ZH_MINI_CARD_HEADING))
        return card_text[:start] + block + (card_text[end + 1:] if end >= 0 else "")
    start = card_text.index("## Data and licences")
    return card_text[:start] + block + card_text[start:]


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("checkpoint", type=Path, nargs="?", help="the model to ship (not with --card-only)")
    parser.add_argument("--card-only", action="store_true",
                        help="rewrite the shipped card's downstream section from benchmarks/results/ and stop")
    parser.add_argument("--stages", type=Path, default=REPO / "benchmarks" / "zh_mini_stages.json",
                        help="the training stages that led to MODEL, in order")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.card_only:
        readme = args.out / "README.md"
        if not readme.is_file():
            parser.error(f"no model card at {readme}: ship a model there first")
        readme.write_text(with_card_section(readme.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{readme}: downstream section rewritten")
        return args.out
    if args.checkpoint is None:
        parser.error("MODEL is required unless --card-only")

    import torch
    from transformers import BertForMaskedLM, BertTokenizerFast

    model = BertForMaskedLM.from_pretrained(str(args.checkpoint), dtype=torch.float32)
    tokenizer = BertTokenizerFast.from_pretrained(str(args.checkpoint))
    step, evaluations = held_out(args.checkpoint)
    stages = json.loads(args.stages.read_text(encoding="utf-8"))
    if stages[-1]["steps"] != step:
        raise SystemExit(f"the last stage in {args.stages} has {stages[-1]['steps']} steps, the model {step}")
    staging = Path(tempfile.mkdtemp(prefix=".zh-mini-", dir=args.out.parent if args.out.parent.exists() else None))
    model.half().save_pretrained(str(staging), safe_serialization=True, max_shard_size=SHARD)
    tokenizer.model_max_length = stages[-1]["max_length"]  # its pretraining length: inputs stop there
    tokenizer.save_pretrained(str(staging))
    shards = sorted(p.name for p in staging.glob("*.safetensors"))
    too_big = [p.name for p in staging.glob("*.safetensors") if p.stat().st_size >= 16 * 2**20]
    if too_big:
        raise SystemExit(f"shards of 16 MiB or more: {too_big}")
    config = json.loads((staging / "config.json").read_text(encoding="utf-8"))
    (staging / "README.md").write_text(card(config, stages, evaluations, sum(p.numel() for p in model.parameters()),
                                            shards), encoding="utf-8")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(args.out)
    print(f"{args.out}: step {step}, held-out accuracy {evaluations[-1]['accuracy']:.3f}, shards {shards}")
    return args.out


if __name__ == "__main__":
    main()
