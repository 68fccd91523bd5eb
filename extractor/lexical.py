"""Character n-grams of a sentence and its neighbours, hashed: the lexical half of the local model.

Sentence embeddings blur the words that decide the hard cases ("not", "our AE", "last year");
character n-grams keep them, in every language and through typos, and hashing means no
vocabulary to ship.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

N_FEATURES = 2**18
# char_wb n-grams never cross a word boundary, so a window's counts are exactly the sum of its
# sentences' counts: each sentence is hashed once, not three times.
_VECTORIZER = HashingVectorizer(
    analyzer="char_wb", ngram_range=(2, 5), n_features=N_FEATURES, alternate_sign=False, norm=None, lowercase=True
)


def _window_operator(lengths: list[int]) -> sparse.csr_matrix:
    """Block-diagonal matrix that adds each sentence to its neighbours within the same document.

    Built from index arrays, not one small matrix per document: it runs on every ingest batch."""
    n = int(sum(lengths))
    document = np.repeat(np.arange(len(lengths)), lengths)
    same_document = document[1:] == document[:-1]  # sentence i and i+1 are neighbours
    before, after = np.flatnonzero(same_document), np.flatnonzero(same_document) + 1
    rows = np.concatenate([np.arange(n), before, after])
    cols = np.concatenate([np.arange(n), after, before])
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def _document_operator(lengths: list[int]) -> sparse.csr_matrix:
    """Matrix that adds up the sentences of each document."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(len(lengths), len(rows)))


def counts(documents: list[list[str]]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Raw n-gram counts of each sentence's window (the sentence, the one before, the one after)
    and of each whole document, from one hashing pass."""
    flat = [sentence for sentences in documents for sentence in sentences]
    raw = _VECTORIZER.transform(flat).tocsr().astype(np.float32)
    lengths = [len(s) for s in documents]
    return (_window_operator(lengths) @ raw).tocsr(), (_document_operator(lengths) @ raw).tocsr()


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + counts.shape[0]) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def weigh(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    counts = counts.copy()
    counts.data = 1.0 + np.log(counts.data)  # sublinear tf: a word said twice is not twice the evidence
    return normalize(counts.multiply(idf).tocsr())


def features(documents: list[list[str]], idf: np.ndarray, document_idf: np.ndarray | None = None) -> tuple[sparse.csr_matrix, sparse.csr_matrix | None]:
    """(one row per sentence window of every document in order, one row per document)."""
    windows, whole = counts(documents)
    return weigh(windows, idf), (weigh(whole, document_idf) if document_idf is not None else None)
