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
_VECTORIZER = HashingVectorizer(
    analyzer="char_wb", ngram_range=(2, 5), n_features=N_FEATURES, alternate_sign=False, norm=None, lowercase=True
)


def window_texts(sentences: list[str]) -> list[str]:
    """Each sentence with the one before and after it."""
    return [" ".join(sentences[max(0, i - 1) : i + 2]) for i in range(len(sentences))]


def counts(texts: list[str]) -> sparse.csr_matrix:
    matrix = _VECTORIZER.transform(texts).tocsr()
    matrix.data = 1.0 + np.log(matrix.data)  # sublinear tf: a word said twice is not twice the evidence
    return matrix


def fit_idf(matrix: sparse.csr_matrix) -> np.ndarray:
    document_frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return (np.log((1.0 + matrix.shape[0]) / (1.0 + document_frequency)) + 1.0).astype(np.float32)


def features(texts: list[str], idf: np.ndarray) -> sparse.csr_matrix:
    return normalize(counts(texts).multiply(idf).tocsr())
