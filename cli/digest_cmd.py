"""`undertow digest --since 1d [--format markdown|html|json] [--webhook URL]`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import AsOfOption, HomeOption, JsonOption, ScorecardOption, err_console, parse_date, settings_for
from undertow.errors import InputError
from undertow.services import digest as digest_service


def digest(
    since: Annotated[str, typer.Option("--since", help="How far back: days or weeks (1d, 7d, 2w); compared with the last snapshot before then.")] = "1d",
    fmt: Annotated[str, typer.Option("--format", help="markdown, html (an e-mail body) or json (the chat webhook payload).")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Write the digest to FILE instead of stdout.")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", envvar="UNDERTOW_DIGEST_WEBHOOK", help="POST the JSON payload to this chat webhook URL (it quotes customers: use your own workspace's).", show_default=False)] = None,
    min_severity: Annotated[float | None, typer.Option("--min-severity", help="Flags of signals at least this severe (signals.yaml; default 0.9).", show_default=False)] = None,
    min_drop: Annotated[float | None, typer.Option("--min-drop", help="Score drops of at least this many points (default 5).", show_default=False)] = None,
    as_of: AsOfOption = None,
    scorecard: ScorecardOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed since the last scoring: accounts that entered the review queue and why, new high-severity flags, score drops."""
    if as_json:
        if fmt not in ("markdown", "json"):  # markdown is the default, so only a named other format conflicts
            raise InputError(f"--json and --format {fmt} ask for two formats: give one")
        fmt = "json"
    result = digest_service.digest(
        settings_for(home), since=since, as_of=parse_date("--as-of", as_of), fmt=fmt, min_severity=min_severity, min_drop=min_drop,
        scorecard=scorecard,
    )
    if out is not None:
        digest_service.write(result, out)
        err_console.print(f"digest for {result.digest.as_of.isoformat()} written to {out}", highlight=False, markup=False)
    else:
        typer.echo(result.text, nl=False)
    if webhook:
        status = digest_service.post(result, webhook)
        err_console.print(f"posted to the webhook (HTTP {status})", highlight=False)
