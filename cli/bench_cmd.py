"""`undertow bench`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import JsonOption, err_console, out_console, print_json
from undertow.services.bench import bench as run_bench


def bench(
    docs: Annotated[int, typer.Option(help="How many generated documents to ingest.")] = 2000,
    skip_ask: Annotated[bool, typer.Option("--skip-ask", help="Leave out the `ask` latency benchmark.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print throughput and memory figures: ingestion vs embedding, classification, ask latency."""
    figures = run_bench(docs, ask=not skip_ask, on_step=err_console.print)
    if as_json:
        print_json(figures)
        return
    for section, values in figures.items():
        out_console.print(f"[bold]{section}[/]")
        for key, value in values.items():
            out_console.print(f"  {key:<40} {value}")
