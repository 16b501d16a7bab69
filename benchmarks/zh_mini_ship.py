"""Put a ``bertanno pretrain`` checkpoint of zh-mini into the package: fp16 safetensors in shards under 16 MiB,
the tokenizer, and the model card (what it is, what it read and under which licences, how far it trained, its
held-out masked-LM accuracy, how to rebuild it).

    python -m benchmarks.zh_mini_ship CHECKPOINT --hours H [--out bertanno/data/models/zh-mini]

CHECKPOINT is a checkpoint folder of the run (``zh-mini.checkpoints/checkpoint-N``) or its finished model;
``--hours`` is the run's total time (the checkpoints do not record wall time: take it from the run logs).
The rebuild: ``python -m benchmarks.zh_mini_corpus DIR`` prints the ``bertanno pretrain`` command; run it
(with ``--resume`` after a stop) until it ends, then this.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.common import REPO, machine_facts
from bertanno.vocab.pretrain import HELD_OUT_MODULUS

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


def held_out(checkpoint: Path) -> tuple[int, list[dict]]:
    """The step reached and every held-out evaluation, from the trainer state the checkpoint keeps."""
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    evaluations = [entry["held_out"] for entry in state["log_history"] if "held_out" in entry]
    return int(state["global_step"]), evaluations


def card(config: dict, step: int, total_steps: int, evaluations: list[dict], hours: float, batch: int,
         max_length: int, parameters: int, shards: list[str]) -> str:
    last = evaluations[-1]
    rows = "\n".join(f"| {e['step']:,} | {e['loss']:.3f} | {e['accuracy']:.3f} |"
                     for e in evaluations if e["step"] % 1000 == 0 or e is last)
    facts = machine_facts(2)
    licences = "\n".join(f"- `{name}`: {what}" for name, what in LICENCES.items())
    return f"""# zh-mini

bertanno's own small Chinese BERT, pretrained by `bertanno pretrain` from random weights on licence-clean
Chinese text: {config['num_hidden_layers']} layers x {config['hidden_size']} hidden, {config['num_attention_heads']}
heads, {parameters / 1e6:.1f} M parameters, the bert-base-chinese vocabulary ({config['vocab_size']:,} WordPiece
tokens), masked-LM head kept (so `bertanno pretrain --from zh-mini` continues it). Weights stored in fp16
({len(shards)} safetensors shards under 16 MiB), loaded in fp32.

It is what bertanno can use offline when no larger model is on the machine. It is small and young; how much
it helps each task, next to random weights and the classical baselines, is measured in bertanno's
`benchmarks/RESULTS.md`. A real bert-base-chinese, medbert or Lawformer is better wherever one can be had.

## Training

- Steps: {step:,} of a {total_steps:,}-step schedule (learning rate 5e-4, linear decay, 500 warm-up steps,
  weight decay 0.01, seed 13); batch {batch} x {max_length} packed tokens: **{step * batch * max_length:,} tokens seen**
- Masking: BERT's (15 % of the tokens; 80 % [MASK], 10 % random, 10 % kept)
- Time: about {hours:.1f} h on {facts['cpu_count']} CPU cores ({facts['cpu']}, torch {facts['torch']}), niced,
  sharing the machine with development work; no GPU
- Held out: 1 line in {HELD_OUT_MODULUS} of the corpus (by CRC32 of the line), never trained on: masked-LM loss **{last['loss']:.3f}**,
  accuracy **{last['accuracy']:.3f}** (share of masked tokens predicted exactly) at step {last['step']:,}

| step | held-out loss | held-out accuracy |
|---|---|---|
{rows}

## Data and licences

Only text whose licence allows shipping weights trained on it:

{licences}

Left out: news transcripts (research use only), a weekly web digest (no licence), exam passages
(non-commercial), Wikipedia paragraphs (CC BY-SA 4.0, share-alike), and every dev or test split.

## Rebuild

```
python -m benchmarks.zh_mini_corpus DIR     # writes DIR/train-splits.txt, prints the pretrain command
bertanno pretrain zh-mini --corpus … --steps {total_steps} --eval-steps 250 [--hours H] [--resume]
python -m benchmarks.zh_mini_ship zh-mini.checkpoints/checkpoint-N --hours H
```
"""


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--hours", type=float, required=True, help="the run's total wall time, from its logs")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--batch-size", type=int, default=32, help="the run's --batch-size (default: pretrain's)")
    parser.add_argument("--max-length", type=int, default=128, help="the run's --max-length (default: pretrain's)")
    parser.add_argument("--total-steps", type=int, default=20_000, help="the run's --steps")
    args = parser.parse_args(argv)

    import torch
    from transformers import BertForMaskedLM, BertTokenizerFast

    model = BertForMaskedLM.from_pretrained(str(args.checkpoint), dtype=torch.float32)
    tokenizer = BertTokenizerFast.from_pretrained(str(args.checkpoint))
    step, evaluations = held_out(args.checkpoint)
    staging = Path(tempfile.mkdtemp(prefix=".zh-mini-", dir=args.out.parent if args.out.parent.exists() else None))
    model.half().save_pretrained(str(staging), safe_serialization=True, max_shard_size=SHARD)
    tokenizer.save_pretrained(str(staging))
    shards = sorted(p.name for p in staging.glob("*.safetensors"))
    too_big = [p.name for p in staging.glob("*.safetensors") if p.stat().st_size >= 16 * 2**20]
    if too_big:
        raise SystemExit(f"shards of 16 MiB or more: {too_big}")
    config = json.loads((staging / "config.json").read_text(encoding="utf-8"))
    (staging / "README.md").write_text(card(config, step, args.total_steps, evaluations, args.hours,
                                            args.batch_size, args.max_length,
                                            sum(p.numel() for p in model.parameters()), shards), encoding="utf-8")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(args.out)
    print(f"{args.out}: step {step}, held-out accuracy {evaluations[-1]['accuracy']:.3f}, shards {shards}")
    return args.out


if __name__ == "__main__":
    main()
