"""The licence-clean pretraining corpus of the shipped ``zh-mini`` model, written as text files.

    python -m benchmarks.zh_mini_corpus OUT_DIR

Writes OUT_DIR/train-splits.txt (the texts of the **training splits only** of the shared sets whose
licence allows it: ChnSentiCorp, cMedQANER and cMedQQ, all Apache-2.0; never a dev or test split) and
prints the full ``bertanno pretrain`` command with the shared corpus files whose licence allows shipping
weights trained on them:

- legal-*.txt: PRC statutes and judicial interpretations (LawRefBook/Laws), outside copyright (PRC
  Copyright Law art. 5);
- medical-000.txt: Chinese-medical-dialogue-data (MIT) and Huatuo-Llama-Med-Chinese (Apache-2.0);
- science-000.txt: CSL (Apache-2.0).

Left out: news (research use only), web (no licence), exam (non-commercial), wiki (CC BY-SA 4.0,
share-alike), and the shared sets without a licence or for research use only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.common import SHARED
from benchmarks.datasets import load

DATASETS = ("chnsenticorp", "chineseblue_cmedqaner", "chineseblue_cmedqq")
CORPUS_FILES = ("legal-000.txt", "legal-001.txt", "legal-002.txt", "medical-000.txt", "science-000.txt")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit(__doc__)
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    texts: list[str] = []
    for name in DATASETS:
        for example in load(name).train:
            texts += [t.replace("\n", " ").strip() for t in (example.text, example.text_b) if t]
    path = out / "train-splits.txt"
    path.write_text("".join(f"{t}\n" for t in dict.fromkeys(texts) if t), encoding="utf-8")
    corpus = [SHARED / "data" / "corpus" / name for name in CORPUS_FILES] + [path]
    print(f"{path}: {len(texts)} training-split texts")
    print("bertanno pretrain zh-mini " + " ".join(f"--corpus {p}" for p in corpus))


if __name__ == "__main__":
    main()
