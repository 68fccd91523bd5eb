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


def _rows_of(raw: sparse.csr_matrix, source: np.ndarray) -> sparse.csr_matrix:
    """Row i is row source[i] of `raw`, or empty where source[i] is -1. Picking rows keeps each
    row's columns in order, so sums of such matrices stay canonical with no sort."""
    n = raw.shape[0]
    padded = sparse.csr_matrix((raw.data, raw.indices, np.append(raw.indptr, raw.indptr[-1])), shape=(n + 1, raw.shape[1]))
    return padded[np.where(source < 0, n, source)]


def _windows(raw: sparse.csr_matrix, lengths: list[int], window: int) -> sparse.csr_matrix:
    """Each sentence's counts plus its neighbours' up to `window` away in the same document.

    Sums of shifted copies rather than a product with a neighbour matrix: a sparse product
    leaves columns unsorted, and sorting them again was the largest part of weighing a batch."""
    document = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(len(document))
    summed = raw
    for distance in range(1, window + 1):
        for shift in (-distance, distance):
            source = position + shift
            inside = (source >= 0) & (source < len(document))
            source = np.where(inside, source, -1)
            source[inside] = np.where(document[source[inside]] == document[inside], source[inside], -1)
            summed = summed + _rows_of(raw, source)
    return summed.tocsr()


def _documents(raw: sparse.csr_matrix, lengths: list[int]) -> sparse.csr_matrix:
    """Each document's counts: the sum of its sentences' rows, columns in order."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    adder = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(len(lengths), len(rows)))
    whole = (adder @ raw).tocsr()
    whole.sort_indices()
    return whole


def counts(
    documents: list[list[str]], window: int = 1, ngram_range: tuple[int, int] = NGRAM_RANGE, n_features: int = N_FEATURES
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Raw n-gram counts of each sentence's window (the sentence and its neighbours up to `window`
    away) and of each whole document, from one hashing pass; columns in order in every row."""
    flat = [sentence for sentences in documents for sentence in sentences]
    raw = char_wb_counts(flat, tuple(ngram_range), n_features)
    if raw is None:  # text that is not valid Unicode: scikit-learn's own way, whatever it makes of it
        raw = vectorizer(tuple(ngram_range), n_features).transform(flat).tocsr().astype(np.float32)
    raw.sum_duplicates()
    lengths = [len(s) for s in documents]
    return _windows(raw, lengths, window), _documents(raw, lengths)


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return (np.log((1.0 + counts.shape[0]) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def weigh(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf (a word said twice is not twice the evidence) times idf, each row of unit
    length. On the data array in place of a broadcast product, which rebuilt and re-sorted the
    matrix; the columns must be in order, as `counts` leaves them, for the same sums."""
    weighed = sparse.csr_matrix(((1.0 + np.log(counts.data)) * idf[counts.indices], counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)
    return normalize(weighed, copy=False)


def features(
    documents: list[list[str]], idf: np.ndarray, document_idf: np.ndarray, window: int = 1, ngram_range: tuple[int, int] = NGRAM_RANGE
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(one row per sentence window of every document in order, one row per document)."""
    windows, whole = counts(documents, window, ngram_range, len(idf))
    return weigh(windows, idf), weigh(whole, document_idf)
