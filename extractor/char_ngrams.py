"""Hashed character n-gram counts inside word boundaries, exactly as scikit-learn's
`HashingVectorizer(analyzer="char_wb", lowercase=True, alternate_sign=False, norm=None)` makes
them, but computed in arrays rather than one Python string per n-gram.

Why: the lexical heads read these counts for every sentence the nightly job ingests, and making
each n-gram a Python string, then hashing it, was almost half of what the writing process does
per document (and so what keeps `ingest --workers` from scaling). The model's weights are indexed
by these hashes, so the output must be the same matrix, bit for bit; tests/test_char_ngrams.py
holds it to scikit-learn's on text in many scripts.

What scikit-learn does, and so this: lowercase; split on whitespace; pad each word with one space
on each side; every substring of n characters of a padded word, for n in the range, is one
n-gram (a padded word shorter than the smallest n is one n-gram, whole); an n-gram's column is
|MurmurHash3_x86_32(its UTF-8 bytes, seed 0)| modulo the number of columns.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_INT32_MIN = -(2**31)


def char_wb_counts(texts: list[str], ngram_range: tuple[int, int], n_features: int) -> sparse.csr_matrix | None:
    """(texts x n_features) float32 counts; None for text Python cannot encode as UTF-8 (a lone
    surrogate), which the caller then hashes the slow way, as scikit-learn would fail or not."""
    min_n, max_n = ngram_range
    words = [text.lower().split() for text in texts]
    padded = [f" {word} " for text_words in words for word in text_words]
    joined = "".join(padded)
    try:
        utf8 = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    codepoints = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    # Where each character's bytes start in the UTF-8 text: an n-gram of characters is a slice of bytes.
    char_bytes = 1 + (codepoints >= 0x80).astype(np.int64) + (codepoints >= 0x800) + (codepoints >= 0x10000)
    byte_at = np.concatenate([[0], np.cumsum(char_bytes)])

    word_len = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    word_start = np.cumsum(word_len) - word_len
    word_row = np.repeat(np.arange(len(texts)), [len(w) for w in words])
    starts, lengths, rows = _ngram_positions(word_start, word_len, word_row, min_n, max_n)

    first_byte = byte_at[starts]
    hashes = _murmur3(utf8, first_byte, byte_at[starts + lengths] - first_byte)
    signed = hashes.view(np.int32).astype(np.int64)
    columns = np.where(signed == _INT32_MIN, (2**31 - 1 - (n_features - 1)) % n_features, np.abs(signed) % n_features)
    counts = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), (rows, columns)), shape=(len(texts), n_features), dtype=np.float32
    )
    counts.sum_duplicates()  # also sorts the indices, as scikit-learn's are
    return counts


def _ngram_positions(word_start: np.ndarray, word_len: np.ndarray, word_row: np.ndarray, min_n: int, max_n: int):
    """(first character, length in characters, row) of every n-gram, word by word."""
    starts, lengths, rows = [], [], []
    for n in range(min_n, max_n + 1):
        fits = word_len >= n
        per_word = word_len[fits] - n + 1
        offsets = np.arange(per_word.sum()) - np.repeat(np.cumsum(per_word) - per_word, per_word)
        starts.append(np.repeat(word_start[fits], per_word) + offsets)
        lengths.append(np.full(len(offsets), n))
        rows.append(np.repeat(word_row[fits], per_word))
    short = word_len < min_n  # the whole padded word, once
    starts.append(word_start[short])
    lengths.append(word_len[short])
    rows.append(word_row[short])
    return np.concatenate(starts), np.concatenate(lengths), np.concatenate(rows)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def _murmur3(data: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """MurmurHash3_x86_32 with seed 0 of each byte slice data[first:first+length], as uint32.
    Slices of one length are hashed together, block by block."""
    out = np.empty(len(first), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for length in np.unique(lengths):
            chosen = np.flatnonzero(lengths == length)
            block = data[first[chosen, None] + np.arange(length)].astype(np.uint32)
            h = np.zeros(len(chosen), dtype=np.uint32)
            full = int(length) // 4
            for i in range(full):
                k = block[:, 4 * i] | block[:, 4 * i + 1] << 8 | block[:, 4 * i + 2] << 16 | block[:, 4 * i + 3] << 24
                h = _rotl(h ^ _mix(k), 13) * np.uint32(5) + np.uint32(0xE6546B64)
            tail = int(length) % 4
            if tail:
                k = np.zeros(len(chosen), dtype=np.uint32)
                for j in reversed(range(tail)):
                    k ^= block[:, 4 * full + j] << np.uint32(8 * j)
                h ^= _mix(k)
            h ^= np.uint32(length)
            h ^= h >> 16
            h *= np.uint32(0x85EBCA6B)
            h ^= h >> 13
            h *= np.uint32(0xC2B2AE35)
            h ^= h >> 16
            out[chosen] = h
    return out
