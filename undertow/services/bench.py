"""`bench`: throughput and memory figures on generated documents."""

from __future__ import annotations

import tempfile
from pathlib import Path

from undertow.errors import InputError
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


def bench_scale(docs: int = 200_000, accounts: int = 5_000, *, backends: list[str] = ("sqlite", "postgres"),
                workers: int | None = None, postgres_url: str | None = None, work_dir: Path | None = None,
                on_step: Notice = quiet) -> dict[str, dict]:
    """Ingest, annotate and ask on a generated portfolio, per backend (eval/bench_scale.py says what
    is measured). The postgres backend needs a server where a database may be made and dropped."""
    from undertow.eval.bench_scale import BACKENDS
    from undertow.eval.bench_scale import bench_scale as run

    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise InputError(f"--backends: unknown {', '.join(unknown)}; use {','.join(BACKENDS)}")
    if not 1 <= accounts <= docs:
        raise InputError(f"--scale-accounts {accounts}: use 1 to --scale-docs ({docs})")
    if "postgres" in backends and postgres_url:
        try:
            import psycopg  # noqa: F401  (the `postgres` extra)
        except ImportError:
            raise InputError("the postgres backend needs the PostgreSQL driver: pip install 'undertow[postgres]'") from None
    return run(docs, accounts, backends=tuple(backends), workers=workers, postgres_url=postgres_url,
               sample_docs=min(4_000, docs), work_dir=work_dir, on_step=on_step)
