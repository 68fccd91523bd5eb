"""The `undertow` command. Each command lives in its own small module and is registered here."""

from __future__ import annotations

import os

import typer

from undertow.cli.eval_cmd import classify, eval_command
from undertow.cli.feedback_cmd import feedback
from undertow.cli.ingest_cmd import ingest
from undertow.cli.status_cmd import status
from undertow.cli.train_cmd import train

app = typer.Typer(
    name="undertow",
    help="Reads call notes, emails and tickets, and flags the churn risks a health score misses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(ingest)
app.command()(status)
app.command()(train)
app.command()(classify)
app.command(name="eval")(eval_command)
app.command()(feedback)


def main() -> None:
    # Telemetry off and hub lookups impossible: the default path must never touch the network.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app()
