"""Built-in domain model aliases."""

from bertanno import DATA_DIR
from bertanno.plugins.hookspecs import hookimpl
from bertanno.plugins.specs import ModelSpec

SHIPPED = DATA_DIR / "models"

BUILTIN_MODELS = (
    ModelSpec(
        name="zh-mini",
        hub_id="bertanno/zh-mini",
        description="bertanno's own small Chinese BERT (4 x 256), pretrained on licence-clean legal, medical and "
                    "science text; shipped in the package, works offline",
        max_length=128,  # its pretraining length (also its tokenizer's model_max_length)
        directory=SHIPPED / "zh-mini",
        notes="see its model card: bertanno/data/models/zh-mini/README.md",
    ),
    ModelSpec(
        name="bert-base-chinese",
        hub_id="google-bert/bert-base-chinese",
        description="Google's Chinese BERT-base (12 x 768), general domain",
        max_length=512,
    ),
    ModelSpec(
        name="medbert",
        hub_id="trueto/medbert-base-wwm-chinese",
        description="MedBERT: Chinese BERT-base (whole-word masking) further trained on medical text",
        max_length=512,
    ),
    ModelSpec(
        name="lawformer",
        hub_id="thunlp/Lawformer",
        description="Lawformer: Longformer (12 x 768) pretrained on Chinese legal documents, inputs up to 4,096 tokens",
        tokenizer_id="hfl/chinese-roberta-wwm-ext",
        max_length=4096,
        architecture="longformer",
        notes="a Longformer whose tokenizer is the BERT WordPiece tokenizer of hfl/chinese-roberta-wwm-ext",
    ),
)


@hookimpl
def register_models(register):
    for spec in BUILTIN_MODELS:
        register(spec)
