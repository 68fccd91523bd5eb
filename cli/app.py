"""The `undertow` command. Each command lives in its own small module and is registered here."""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperGroup

from undertow.cli.annotate_cmd import annotate, backtest
from undertow.cli.ask_cmd import ask
from undertow.cli.bench_cmd import bench
from undertow.cli.classify_cmd import classify
from undertow.cli.common import expect_json, json_failures, user_errors
from undertow.cli.demo_cmd import demo
from undertow.cli.digest_cmd import digest
from undertow.cli.distill_cmd import distill
from undertow.cli.doctor_cmd import doctor
from undertow.cli.eval_cmd import eval_command
from undertow.cli.feedback_cmd import feedback
from undertow.cli.ingest_cmd import ingest
from undertow.cli.nightly_cmd import nightly
from undertow.cli.reclassify_cmd import reclassify
from undertow.cli.report_cmd import report
from undertow.cli.serve_cmd import serve
from undertow.cli.status_cmd import status
from undertow.cli.train_cmd import train


class UndertowGroup(TyperGroup):
    """Every command runs inside `user_errors`: a failure the user can fix (an UndertowError) ends
    as one line and its exit code, in this one place (with --json, on stdout too: `json_failures`); anything else goes on to `main`."""

    def resolve_command(self, ctx, args):
        resolved = super().resolve_command(ctx, args)  # before its options are parsed, so that a usage error is in JSON too
        expect_json(*resolved[1:])
        return resolved

    def invoke(self, ctx):
        with json_failures(), user_errors():
            return super().invoke(ctx)


app = typer.Typer(
    cls=UndertowGroup,
    name="undertow",
    help="Reads call notes, emails and tickets, and flags the churn risks a health score misses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# In the order `undertow --help` lists them.
for command in (ingest, status, train, distill, reclassify, classify):
    app.command()(command)
app.command(name="eval")(eval_command)
for command in (feedback, annotate, backtest, report, demo, ask, bench, doctor, nightly, serve, digest):
    app.command()(command)


def main() -> None:
    # Telemetry off and hub lookups impossible: the default path must never touch the network.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.umask(0o077)  # everything Undertow writes holds customer text: readable by its owner only
    try:
        app()
    except Exception as error:  # noqa: BLE001 - the one place an unexpected error becomes exit code 3
        from undertow.cli.common import print_internal_error, report_json_failure
        from undertow.cli.crash import describe, record_crash
        from undertow.errors import EXIT_INTERNAL

        try:
            where = f"the traceback is in {record_crash(error)}"
        except OSError as log_error:
            where = f"and the log could not be written ({log_error})"
        print_internal_error(f"{describe(error)}; {where}")
        report_json_failure(f"internal error: {describe(error)}; {where}", EXIT_INTERNAL)
        sys.exit(EXIT_INTERNAL)
