"""`undertow feedback DOC_ID --confirm SIGNAL / --reject SIGNAL / --clear SIGNAL`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, notice, print_json, settings_for
from undertow.services.feedback import FeedbackResult, in_words, record_feedback


def feedback(
    doc_id: Annotated[str, typer.Argument(help="The document's id, as `undertow ask` or `status` show it.")],
    confirm: Annotated[list[str], typer.Option("--confirm", help="A signal that is really there (repeatable).")] = [],
    reject: Annotated[list[str], typer.Option("--reject", help="A flag that is wrong (repeatable).")] = [],
    clear: Annotated[list[str], typer.Option("--clear", help="Take back an earlier verdict on a signal (repeatable).")] = [],
    author: Annotated[str, typer.Option(help="Who says so (default: your login name).")] = "",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a document's flags. It counts at once (a rejected flag leaves the health score, a
    confirmed signal is flagged); the next `undertow train` applies it to the model too."""
    result = record_feedback(settings_for(home), doc_id, confirm, reject, author, clear)
    if as_json:
        print_json({"doc_id": result.doc_id, "confirmed": result.confirmed, "rejected": result.rejected, "flags_added": result.flagged,
                    "cleared": result.cleared, "author": result.author})
        return
    print_summary(result, clear)


def print_summary(result: FeedbackResult, clear: list[str]) -> None:
    done = [f"{verb} {in_words(signals)}" for verb, signals in (
        ("confirmed", result.confirmed), ("rejected", result.rejected), ("flagged", result.flagged),
        ("took back the verdict on", result.cleared),
    ) if signals]  # fmt: skip
    unknown = sorted(set(clear) - set(result.cleared))
    nothing = f"no verdict on {in_words(unknown)} to take back" if unknown else ""
    if not done:
        notice(f"{result.doc_id}: {nothing}")
        return
    notice(
        f"noted for {result.doc_id}, signed {result.author}: {'; '.join(done)}; it counts in health scores now, and `undertow train` "
        "applies it to the model" + (f"; {nothing}" if nothing else "")
    )
