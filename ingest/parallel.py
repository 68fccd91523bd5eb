"""Embedding for the ingest pipeline, in this process or in worker processes (`--workers N`).

The embedding model is where ingestion spends its time, and its tokenizer is pure Python, so a
second BLAS thread in one process leaves much of a second core idle; N processes, each with its
share of the cores as its thread budget, use them. Workers only embed: they hold no store, and
what they return goes back to the one process that classifies and writes, so a batch is still
stored whole or not at all.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
from threadpoolctl import threadpool_limits
from undertow.extractor.embedding import Embedder
from undertow.extractor.sentences import EmbeddedText, embed_texts

from undertow.cores import available_cores
from undertow.errors import EXIT_INTERNAL, ConfigurationError, UndertowError
from undertow.text import detect_language


class EmbeddingWorkerDied(UndertowError):
    """A worker process ended in the middle of a run (killed, out of memory, a crash in numpy)."""

    exit_code = EXIT_INTERNAL


@dataclass
class Embedded:
    """One document as a worker returns it: the language it was split by, its sentences' offsets
    and their vectors (offsets, not sentences: the text need not travel back)."""

    language: str
    spans: list[tuple[int, int]]
    vectors: np.ndarray

    def as_text(self, text: str) -> EmbeddedText:
        return EmbeddedText.from_spans(text, self.spans, self.vectors)


def embed_documents(texts: list[str], languages: list[str], embedder: Embedder) -> list[Embedded]:
    """Detect the language a text does not state, split it by that language, embed every sentence."""
    languages = [language or detect_language(text) for text, language in zip(texts, languages)]
    embedded = embed_texts(texts, embedder, languages)
    return [Embedded(language, e.spans, e.vectors) for language, e in zip(languages, embedded)]


def threads_per_worker(workers: int) -> int:
    return max(1, available_cores() // workers)


# Documents a worker embeds at a time. A batch is written whole (one transaction, one vector
# upsert: fewer, larger writes cost the vector index much less), but embedded in chunks spread
# over the workers, so none waits while another embeds a whole batch.
EMBED_CHUNK = 64


class InlineEmbedding:
    """`--workers 1`: embed in this process when the batch is handed over."""

    ahead = 0  # batches handed over before the oldest is written: none, this is the sequential path

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def submit(self, texts: list[str], languages: list[str]) -> list[Future]:
        future: Future = Future()
        future.set_result(embed_documents(texts, languages, self.embedder))
        return [future]

    def collect(self, futures: list[Future]) -> list[Embedded]:
        return [embedded for future in futures for embedded in future.result()]

    def close(self) -> None:
        pass


class WorkerEmbedding:
    """N processes that embed, each with its own model and thread budget.

    Spawned, not forked: the parent holds database connections and Chroma's threads, which a
    fork would copy in whatever state they were in. Two batches per worker are kept in flight
    so that no worker waits while the parent classifies and writes."""

    def __init__(self, workers: int, embedder_name: str, threads: int | None = None):
        self.workers = workers
        self.threads = threads or threads_per_worker(workers)
        self.ahead = 2 * workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker,
            initargs=(self.threads, embedder_name, os.getpid()),
        )
        # The workers hold every core: BLAS threads of this process's own maths (classifying,
        # the rare document embedded here) would spin against them. One thread ran ingest 8-18%
        # faster with two workers on two cores.
        self._own_threads = threadpool_limits(limits=1, user_api="blas")

    def submit(self, texts: list[str], languages: list[str]) -> list[Future]:
        with _worker_deaths():
            return [
                self._executor.submit(_embed_in_worker, texts[start : start + EMBED_CHUNK], languages[start : start + EMBED_CHUNK])
                for start in range(0, len(texts), EMBED_CHUNK)
            ]

    def collect(self, futures: list[Future]) -> list[Embedded]:
        with _worker_deaths():
            return [embedded for future in futures for embedded in future.result()]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._own_threads.restore_original_limits()


@contextmanager
def _worker_deaths() -> Iterator[None]:
    """A worker that dies breaks the whole pool: whichever call notices says so, once, plainly."""
    try:
        yield
    except BrokenProcessPool as error:
        what = "died (killed, or out of memory?)" if "terminated abruptly" in str(error) else f"failed ({str(error).rstrip('.')})"
        raise EmbeddingWorkerDied(
            f"an embedding worker process {what}: the batches written before it are stored whole, the rest are not; "
            "run the same `undertow ingest` again to go on"
        ) from None


def check_workers(workers: int, embedding_kind: str, setting: str = "--workers") -> None:
    """Whether `workers` embedding processes can run for a home that embeds with `embedding_kind`;
    `setting` is how the user wrote it (`--workers`, or `workers =` in the nightly config)."""
    if workers < 1:
        raise ConfigurationError(f"{setting} {workers}: use 1 or more (1 embeds in this process)")
    if workers > 1 and embedding_kind != "local":
        raise ConfigurationError(
            f"{setting} {workers}: runs the bundled embedding model in {workers} processes, but this home embeds with "
            f"{embedding_kind!r}; set {setting} 1"
        )


def open_embedding(workers: int, embedder: Embedder, embedding_kind: str) -> InlineEmbedding | WorkerEmbedding:
    check_workers(workers, embedding_kind)
    if workers == 1:
        return InlineEmbedding(embedder)
    return WorkerEmbedding(workers, embedder.name)


# --- in the worker process ----------------------------------------------------------------------
_worker_embedder: Embedder | None = None


def _start_worker(threads: int, expected_name: str, parent: int) -> None:
    global _worker_embedder
    # Ctrl-C reaches the whole process group: the parent stops the run and then its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    from undertow.extractor.embedding import MultilingualUSE

    _worker_embedder = MultilingualUSE(threads=threads)
    if _worker_embedder.name != expected_name:  # vectors of two models must never share a store
        raise RuntimeError(f"worker embeds with {_worker_embedder.name}, the run with {expected_name}")


def _die_with(parent: int) -> None:
    """A parent killed outright (kill -9, the OOM killer) cannot stop its workers, and they would
    wait for work forever; on Linux the kernel ends them when it goes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # it went before the request was made
        os._exit(1)


def _embed_in_worker(texts: list[str], languages: list[str]) -> list[Embedded]:
    return embed_documents(texts, languages, _worker_embedder)
