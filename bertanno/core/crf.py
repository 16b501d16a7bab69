"""A linear-chain CRF output layer over a token head's logits (``bertanno train --head crf``).

The encoder and its token classifier stay as they are: the classifier's logits are the CRF's emission scores,
and the CRF adds learned scores for each tag following each other tag, for the first tag and for the last
(Lafferty, McCallum and Pereira 2001; over BERT as in Souza et al. 2019, "Portuguese Named Entity Recognition
using BERT-CRF"). Training maximises the likelihood of the gold tag sequence of each window; decoding is Viterbi
with the transitions IOB2 forbids masked out, in numpy (``plugins.bio.crf_viterbi``), outside the model. So an
exported ONNX graph or an int8 model is the same graph as without the CRF, and the scores travel in the model's
``config.json`` (``CRF_KEY``), which every variant keeps.

While training, the layer is a submodule of the model (``CRF_MODULE``), so the Trainer's optimizer, the epoch
judge's saved best weights and the scoring between epochs all see it, and a hook on the model makes the loss of a
call with labels the CRF's; ``detach_crf`` writes its scores into the config and removes it (and the hook) before
the version is saved.
"""

from __future__ import annotations

from typing import Sequence

from bertanno.errors import BertannoError
from bertanno.plugins.bio import bio_transitions

HEADS = ("softmax", "crf")
CRF_KEY = "bertanno_crf"
"""The model config's field with the learned scores: ``{"transitions": [[…]], "start": […], "end": […]}``."""
CRF_MODULE = "bertanno_crf"
"""The model's attribute holding the ``LinearChainCrf`` while it trains."""
CRF_LEARNING_RATE = 1e-2
"""The step of the CRF's own scores. They start at 0 and must reach values of a few units within a few hundred
steps; at the encoder's step (2e-5 to 2e-4) they would barely move, so BERT-CRF implementations give them a step
about 100 times larger (e.g. Souza et al.'s and the common ``crf_learning_rate`` option)."""
FORBIDDEN = -1e4
"""Stand-in for minus infinity inside the training graph (finite, so that no gradient becomes NaN)."""


def _module_class():
    import torch

    class LinearChainCrf(torch.nn.Module):
        """Learned transition, start and end scores for ``labels`` (IOB2 tags), with the transitions IOB2 forbids
        held at ``FORBIDDEN``. The start of a window is not constrained while training: a window of a long text
        may begin inside an entity (``I-X``); decoding joins the windows and constrains the text's start."""

        def __init__(self, labels: Sequence[str], transitions=None, start=None, end=None):
            super().__init__()
            size = len(labels)
            allowed, _ = bio_transitions(labels)

            def parameter(values, shape):
                tensor = torch.zeros(shape) if values is None else torch.tensor(values, dtype=torch.float32)
                return torch.nn.Parameter(torch.where(torch.isfinite(tensor), tensor, torch.zeros(())))

            self.transitions = parameter(transitions, (size, size))
            self.start = parameter(start, (size,))
            self.end = parameter(end, (size,))
            self.register_buffer("allowed", torch.tensor(allowed), persistent=False)

        def masked_transitions(self):
            return torch.where(self.allowed, self.transitions, torch.full_like(self.transitions, FORBIDDEN))

        def negative_log_likelihood(self, emissions, tags, mask):
            """The mean over tokens of ``-log p(gold tags | window)``: ``emissions`` ``[windows, tokens, tags]``,
            ``tags`` ``[windows, tokens]`` (any value where ``mask`` is false), ``mask`` ``[windows, tokens]``
            (true for the tokens that count, anywhere in the row: they are packed to the left first). Windows
            without a counted token add nothing. A scalar tensor."""
            order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # counted tokens first, in order
            emissions = emissions.gather(1, order[..., None].expand_as(emissions)).float()
            tags = tags.gather(1, order).clamp(min=0)
            mask = mask.gather(1, order)
            lengths = mask.sum(1)
            rows = lengths > 0
            emissions, tags, mask, lengths = emissions[rows], tags[rows], mask[rows], lengths[rows]
            if len(lengths) == 0:
                return emissions.sum() * 0.0
            transitions = self.masked_transitions()
            # the gold path's score
            emitted = emissions.gather(2, tags[..., None]).squeeze(-1)
            gold = self.start[tags[:, 0]] + (emitted * mask).sum(1)
            gold = gold + (transitions[tags[:, :-1], tags[:, 1:]] * mask[:, 1:]).sum(1)
            gold = gold + self.end[tags.gather(1, (lengths - 1)[:, None]).squeeze(1)]
            # the log partition: the forward algorithm
            alpha = self.start + emissions[:, 0]
            for t in range(1, emissions.shape[1]):
                step = torch.logsumexp(alpha[:, :, None] + transitions[None], dim=1) + emissions[:, t]
                alpha = torch.where(mask[:, t, None], step, alpha)
            partition = torch.logsumexp(alpha + self.end, dim=1)
            return (partition - gold).sum() / lengths.sum()

        def scores(self) -> dict:
            """The learned scores as lists (``CRF_KEY``'s value), forbidden transitions as they are stored."""
            return {"transitions": self.transitions.detach().cpu().tolist(),
                    "start": self.start.detach().cpu().tolist(), "end": self.end.detach().cpu().tolist()}

    return LinearChainCrf


def check_head(head: str, task) -> None:
    """Raise ``BertannoError`` unless ``head`` (one of ``HEADS``, as ``TrainConfig`` checks) can serve ``task``: a
    CRF needs a task that decodes IOB2 tags (``Task.crf_decoding``)."""
    if head == "crf" and not getattr(task, "crf_decoding", False):
        raise BertannoError(f"--head crf puts a CRF over BIO tags; task {task.name!r} has no tags to chain (a CRF "
                            "head is for ner)")


def attach_crf(model, labels: Sequence[str]):
    """Give ``model`` (a token classifier for IOB2 ``labels``) a ``LinearChainCrf`` as ``CRF_MODULE``: the scores
    its config holds (a version trained with a CRF, trained on), or zeros; and a hook that, when the model is called
    with ``labels`` (-100 where a token does not count), replaces the loss it returns by the CRF's negative
    log-likelihood of them. The loss is computed inside the model's call, so that data-parallel training
    (``DistributedDataParallel``) sees the CRF's scores used in the forward pass. Returns the layer."""
    saved = getattr(model.config, CRF_KEY, None) or {}
    layer = _module_class()(labels, saved.get("transitions"), saved.get("start"), saved.get("end"))
    setattr(model, CRF_MODULE, layer)

    def crf_loss(_, args, kwargs, output):
        gold = kwargs.get("labels")
        if gold is None or getattr(output, "logits", None) is None or output.logits.dim() != 3:
            return output
        output.loss = layer.negative_log_likelihood(output.logits, gold, gold != -100)
        return output

    layer.handles = [model.register_forward_hook(crf_loss, with_kwargs=True)]
    return layer


def detach_crf(model) -> None:
    """Move a trained ``CRF_MODULE``'s scores into ``model.config`` (``CRF_KEY``) and remove the module, so that
    the saved weights are the plain token classifier's. Nothing for a model without one."""
    layer = getattr(model, CRF_MODULE, None)
    if layer is None:
        return
    setattr(model.config, CRF_KEY, layer.scores())
    for handle in getattr(layer, "handles", ()):
        handle.remove()
    delattr(model, CRF_MODULE)


def crf_scores_of(model) -> dict | None:
    """The CRF scores a model decodes with: its training layer's while it has one, else its config's
    (``CRF_KEY``); ``None`` for a softmax head. Lists, as ``LinearChainCrf.scores`` gives them."""
    layer = getattr(model, CRF_MODULE, None)
    if layer is not None:
        return layer.scores()
    return getattr(getattr(model, "config", None), CRF_KEY, None) or None
