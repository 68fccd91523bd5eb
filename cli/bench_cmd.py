"""`undertow bench`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import JsonOption, err_console, out_console, print_json


def bench(
    docs: Annotated[int, typer.Option(help="How many generated documents to ingest.")] = 2000,
    skip_ask: Annotated[bool, typer.Option("--skip-ask", help="Leave out the `ask` latency benchmark.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print throughput and memory figures: ingestion vs embedding, classification, ask latency."""
    import tempfile
    from pathlib import Path

    from undertow.eval.bench import bench_ingest

    err_console.print(f"benchmarking ingestion of {docs} generated documents (2 threads) ...")
    figures = {"ingest": bench_ingest(docs)}
    if not skip_ask:
        from undertow.eval.bench_ask import bench_ask

        err_console.print("benchmarking `ask` on an account with 500 documents ...")
        with tempfile.TemporaryDirectory() as folder:
            figures["ask"] = bench_ask(Path(folder))
    if as_json:
        print_json(figures)
        return
    for section, values in figures.items():
        out_console.print(f"[bold]{section}[/]")
        for key, value in values.items():
            out_console.print(f"  {key:<40} {value}")
