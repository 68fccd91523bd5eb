"""`undertow bench`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import JsonOption, notice, out_console, print_json
from undertow.services.bench import bench as run_bench
from undertow.services.bench import bench_scale


def bench(
    docs: Annotated[int, typer.Option(help="How many generated documents to ingest.")] = 2000,
    skip_ask: Annotated[bool, typer.Option("--skip-ask", help="Leave out the `ask` latency benchmark.")] = False,
    scale: Annotated[bool, typer.Option("--scale", help="The scale benchmark: ingest, annotate and ask on a large portfolio, per backend.")] = False,
    scale_docs: Annotated[int, typer.Option(min=1, help="--scale: documents in the portfolio.")] = 200_000,
    scale_accounts: Annotated[int, typer.Option(min=1, help="--scale: accounts in the portfolio.")] = 5_000,
    backends: Annotated[str, typer.Option(help="--scale: sqlite (embedded Chroma), postgres (a Chroma server), or both.")] = "sqlite,postgres",
    workers: Annotated[int | None, typer.Option(min=1, help="--scale: `ingest --workers` (default: one per core).")] = None,
    postgres_url: Annotated[str | None, typer.Option(envvar="UNDERTOW_BENCH_POSTGRES_URL", help="--scale: a PostgreSQL server where the benchmark may make and drop a database.")] = None,
    work_dir: Annotated[Path | None, typer.Option(help="--scale: where the portfolio and stores go while it runs (default: the temp folder).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Print throughput and memory figures: ingestion vs embedding, classification, ask latency."""
    if scale:
        figures = bench_scale(scale_docs, scale_accounts, backends=[b.strip() for b in backends.split(",") if b.strip()], workers=workers,
                              postgres_url=postgres_url, work_dir=work_dir, on_step=notice)  # fmt: skip
    else:
        figures = run_bench(docs, ask=not skip_ask, on_step=notice)
    if as_json:
        print_json(figures)
        return
    for section, values in figures.items():
        out_console.print(f"[bold]{section}[/]")
        _print_figures(values, 2)


def _print_figures(values: dict, indent: int) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            out_console.print(" " * indent + key, highlight=False)
            _print_figures(value, indent + 2)
        else:
            out_console.print(f"{' ' * indent}{key:<{42 - indent}} {value}", highlight=False, soft_wrap=True)
