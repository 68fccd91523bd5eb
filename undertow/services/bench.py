"""`bench`: throughput and memory figures on generated documents."""

from __future__ import annotations

import tempfile
from pathlib import Path

from undertow.services._shared import Notice, quiet


def bench(docs: int = 2000, *, ask: bool = True, on_step: Notice = quiet) -> dict[str, dict]:
    """{"ingest": figures, "ask": figures}; `ask` runs on an account of 500 documents in a temporary home."""
    from undertow.eval.bench import bench_ingest

    on_step(f"benchmarking ingestion of {docs} generated documents (2 threads) ...")
    figures = {"ingest": bench_ingest(docs)}
    if ask:
        from undertow.eval.bench_ask import bench_ask

        on_step("benchmarking `ask` on an account with 500 documents ...")
        with tempfile.TemporaryDirectory() as folder:
            figures["ask"] = bench_ask(Path(folder))
    return figures
