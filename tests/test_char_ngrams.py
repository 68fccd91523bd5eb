"""The array n-gram hasher makes scikit-learn's char_wb HashingVectorizer matrix, bit for bit: the
model's lexical weights are indexed by those hashes, so any other matrix is another model."""

from __future__ import annotations

import random

import numpy as np
import pytest

from undertow.extractor.char_ngrams import char_wb_counts
from undertow.extractor.lexical import vectorizer

TEXTS = [
    "We will NOT renew; moving to Acme next quarter.",
    "Zum 1. Oktober verlässt uns Frau Müller – die Übergabe läuft.",
    "  tabs\tand\nnewlines   and  double  spaces ",
    "a I x ok no",  # words shorter than the smallest n-gram, and of exactly its length
    "Ça coûte trop cher, on réduit à 10 utilisateurs.",
    "東京のチームは来月から別のツールを使います。",
    "Отказываемся от продления договора.",
    "emoji 🙂🚀 and ZWJ 👩‍💻 sequences",
    "",
    "non\u00a0breaking\u2003spaces and\u200bzero width",
    "Ελληνικά και العربية و עברית",
]


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 3), (3, 3)])
def test_the_counts_are_scikit_learns_for_text_in_many_scripts(ngram_range):
    rng = random.Random(7)
    alphabet = "abcdeéßøçñ日本語ЖЩ🙂 \t\n.,-'"
    texts = TEXTS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(300)]
    expected = vectorizer(ngram_range, 2**18).transform(texts).tocsr().astype(np.float32)
    got = char_wb_counts(texts, ngram_range, 2**18)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert (got != expected).nnz == 0
    assert np.array_equal(got.indices, expected.indices) and np.array_equal(got.indptr, expected.indptr)


def test_a_small_column_count_folds_hashes_as_scikit_learn_does():
    expected = vectorizer((2, 5), 1024).transform(TEXTS).tocsr().astype(np.float32)
    assert (char_wb_counts(TEXTS, (2, 5), 1024) != expected).nnz == 0


def test_text_that_is_not_valid_unicode_is_left_to_scikit_learn():
    assert char_wb_counts(["fine", "lone \ud800 surrogate"], (2, 5), 2**18) is None
