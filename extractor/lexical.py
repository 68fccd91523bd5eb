"""Character n-grams of a sentence and its neighbours, hashed: the lexical half of the local model.

Sentence embeddings blur the words that decide the hard cases ("not", "our AE", "last year");
character n-grams keep them, in every language and through typos, and hashing means no
vocabulary to ship.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize
from undertow.extractor.char_ngrams import char_wb_counts

N_FEATURES = 2**18  # the default of TrainingConfig.hashed_features
NGRAM_RANGE = (2, 5)  # the default of TrainingConfig.ngram_range


@lru_cache(maxsize=4)
def vectorizer(ngram_range: tuple[int, int] = NGRAM_RANGE, n_features: int = N_FEATURES) -> HashingVectorizer:
    # char_wb n-grams never cross a word boundary, so a window's counts are exactly the sum of its
    # sentences' counts: each sentence is hashed once, not three times.
    return HashingVectorizer(
        analyzer="char_wb", ngram_range=tuple(ngram_range), n_features=n_features, alternate_sign=False, norm=None, lowercase=True
    )


_VECTORIZER = vectorizer()


def _window_operator(lengths: list[int], window: int = 1) -> sparse.csr_matrix:
    """Block-diagonal matrix that adds each sentence to its neighbours (up to `window` away)
    within the same document.

    Built from index arrays, not one small matrix per document: it runs on every ingest batch."""
    n = int(sum(lengths))
    document = np.repeat(np.arange(len(lengths)), lengths)
    before, after = [], []
    for distance in range(1, window + 1):
        same_document = document[distance:] == document[:-distance]  # sentence i and i+distance are neighbours
        before.append(np.flatnonzero(same_document))
        after.append(before[-1] + distance)
    rows = np.concatenate([np.arange(n), *before, *after])
    cols = np.concatenate([np.arange(n), *after, *before])
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def _document_operator(lengths: list[int]) -> sparse.csr_matrix:
    """Matrix that adds up the sentences of each document."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(len(lengths), len(rows)))


def counts(
    documents: list[list[str]], window: int = 1, ngram_range: tuple[int, int] = NGRAM_RANGE, n_features: int = N_FEATURES
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Raw n-gram counts of each sentence's window (the sentence and its neighbours up to `window`
    away) and of each whole document, from one hashing pass."""
    flat = [sentence for sentences in documents for sentence in sentences]
    raw = char_wb_counts(flat, tuple(ngram_range), n_features)
    if raw is None:  # text that is not valid Unicode: scikit-learn's own way, whatever it makes of it
        raw = vectorizer(tuple(ngram_range), n_features).transform(flat).tocsr().astype(np.float32)
    lengths = [len(s) for s in documents]
    return (_window_operator(lengths, window) @ raw).tocsr(), (_document_operator(lengths) @ raw).tocsr()


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + counts.shape[0]) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def weigh(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    counts = counts.copy()
    counts.data = 1.0 + np.log(counts.data)  # sublinear tf: a word said twice is not twice the evidence
    return normalize(counts.multiply(idf).tocsr())


def features(
    documents: list[list[str]], idf: np.ndarray, document_idf: np.ndarray, window: int = 1, ngram_range: tuple[int, int] = NGRAM_RANGE
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(one row per sentence window of every document in order, one row per document)."""
    windows, whole = counts(documents, window, ngram_range, len(idf))
    return weigh(windows, idf), weigh(whole, document_idf)
