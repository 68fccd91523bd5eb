"""The local model's training mechanics: writer folds, the combiner, the sparse-head shortcut."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from undertow.documents import Document
from undertow.extractor import stacking
from undertow.extractor.training import LabelledExample, _logistic, writer_folds


def _examples(ids: list[str], groups: list[str | None] | None = None, account: str = "a") -> list[LabelledExample]:
    groups = groups or [None] * len(ids)
    return [LabelledExample(Document(id=i, account_id=account, text="x"), group=g) for i, g in zip(ids, groups)]


def test_writer_folds_keep_each_group_in_one_fold_whatever_the_ids_say():
    batches = ["tr-de", "tr-xde", "tr-en", "tr-yen", "tr-fr", "tr-xfr", "tr-nl", "tr-pt"]
    ids = [f"doc-{b}{n:04d}" for b in range(len(batches)) for n in range(1, 11)]  # the ids name no batch
    groups = [batches[b] for b in range(len(batches)) for _ in range(1, 11)]
    folds = writer_folds(_examples(ids, groups), 5)
    for batch in batches:
        assert len({f for g, f in zip(groups, folds) if g == batch}) == 1, batch
    assert set(folds) == {0, 1, 2, 3, 4}
    # the same data in another order gets the same folds
    assert dict(zip(ids, folds)) == dict(zip(ids[::-1], writer_folds(_examples(ids[::-1], groups[::-1]), 5)))


def test_documents_without_a_group_are_grouped_by_account():
    ids = [f"d-{n}" for n in range(12)]
    examples = [LabelledExample(Document(id=i, account_id=f"acct{n % 6}", text="x")) for n, i in enumerate(ids)]
    folds = writer_folds(examples, 5)
    for n in range(6):
        assert len({f for m, f in enumerate(folds) if m % 6 == n}) == 1


def test_writer_folds_fall_back_to_positions_when_there_are_too_few_groups():
    folds = writer_folds(_examples([f"d-{n}" for n in range(12)]), 5)
    assert list(folds) == [n % 5 for n in range(12)]


def test_sparse_heads_fit_only_the_columns_that_occur_with_the_same_result():
    rng = np.random.default_rng(0)
    dense = np.zeros((60, 40))
    dense[:, :12] = rng.random((60, 12)) * (rng.random((60, 12)) > 0.5)
    y = (dense[:, 0] + dense[:, 3] > 0.6).astype(int)
    weights, bias = _logistic(sparse.csr_matrix(dense), y, 1.0)
    reference = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000).fit(dense, y)
    np.testing.assert_allclose(weights, reference.coef_[0], atol=1e-3)
    assert abs(bias - reference.intercept_[0]) < 1e-3
    assert not weights[12:].any()


def _first_stage(sentence_scores: list[list[list[float]]], document: list[list[float]]) -> stacking.FirstStageScores:
    flat = np.array([s for doc in sentence_scores for s in doc])
    return stacking.FirstStageScores(flat, flat, [len(d) for d in sentence_scores], np.array(document), np.array(document))


def test_combiner_features_read_each_documents_own_sentences_and_the_other_signals():
    scores = _first_stage([[[0.9, 0.1], [0.2, 0.1]], [[0.1, 0.2]]], [[0.5, 0.5], [0.5, 0.5]])
    features = stacking.document_features(scores)
    assert features.shape == (2, 2, stacking.OWN_FEATURES + 1)
    best = features[:, :, 3]
    assert best[0, 0] > 2 and best[1, 0] < -2  # the first document's 0.9 is not the second's
    np.testing.assert_allclose(features[0, 0, -1], best[0, 1])  # signal 0 sees signal 1's best sentence
    np.testing.assert_allclose(features[0, 1, -1], best[0, 0])


def _features_document_by_document(scores: stacking.FirstStageScores) -> np.ndarray:
    """The combiner's inputs as their definition reads, one document at a time."""
    logit = stacking._logit
    rows = []
    for i, (sem, lex, both) in enumerate(zip(*(scores.per_document(s) for s in (scores.sentence_semantic, scores.sentence_lexical, scores.sentence_scores)))):
        best = logit(both.max(axis=0))
        own = np.stack([logit(sem.max(axis=0)), logit(lex.max(axis=0)), logit(scores.document_semantic[i]), best,
                        logit(np.sort(both, axis=0)[-2:].mean(axis=0)), (both > 0.5).sum(axis=0) / np.sqrt(len(both)),
                        logit(scores.document_lexical[i])], axis=1)  # fmt: skip
        others = np.stack([np.delete(best, k) for k in range(both.shape[1])])
        rows.append(np.hstack([own, others]))
    return np.array(rows, dtype=np.float32)


def test_combiner_features_of_a_batch_are_each_documents_own_exactly():
    rng = np.random.default_rng(3)
    lengths = [1, 3, 2, 5, 1, 4]
    semantic = rng.random((sum(lengths), 4)).astype(np.float32)
    lexical = rng.random((sum(lengths), 4)).astype(np.float32)
    semantic[1:3], lexical[1:3] = semantic[1], lexical[1]  # a tie for the best sentence
    scores = stacking.FirstStageScores(semantic, lexical, lengths, rng.random((6, 4)), rng.random((6, 4)))
    np.testing.assert_array_equal(stacking.document_features(scores), _features_document_by_document(scores))


def test_combiner_learns_to_trust_the_score_that_separates_the_classes():
    rng = np.random.default_rng(1)
    informative = rng.normal(size=200)
    features = np.zeros((200, 1, 3), dtype=np.float32)
    features[:, 0, 0] = rng.normal(size=200)  # noise
    features[:, 0, 1] = informative
    targets = (informative > 0)[:, None]
    weights, bias = stacking.fit_combiner(features, targets, np.ones_like(targets), regularisation=1.0)
    assert weights[0, 1] > 3 * abs(weights[0, 0])
    predicted = stacking.combined_scores(features, weights, bias)[:, 0] > 0.5
    assert (predicted == targets[:, 0]).mean() > 0.95


def test_sentence_windows_and_documents_add_up_only_their_own_sentences():
    from undertow.extractor import lexical

    documents = [["Anna leaves.", "Budget is frozen.", "Demo of Acme."], ["Quiet note."]]
    windows, whole = lexical.counts(documents)
    raw = lexical._VECTORIZER.transform([s for d in documents for s in d]).toarray()
    windows, whole = windows.toarray(), whole.toarray()
    np.testing.assert_allclose(windows[0], raw[0] + raw[1])
    np.testing.assert_allclose(windows[1], raw[0] + raw[1] + raw[2])
    np.testing.assert_allclose(windows[2], raw[1] + raw[2])  # not the next document's sentence
    np.testing.assert_allclose(windows[3], raw[3])
    np.testing.assert_allclose(whole, [raw[:3].sum(axis=0), raw[3]])
