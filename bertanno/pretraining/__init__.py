"""Pretraining an encoder of one's own: masked-language-model pretraining of a BERT on unlabelled Chinese text
(``bertanno pretrain``; how zh-mini was made). Sits above ``vocab/``, whose whole-word masking of domain terms
it reuses; imports ``core``, ``vocab``, ``plugins`` and ``store`` below it."""
