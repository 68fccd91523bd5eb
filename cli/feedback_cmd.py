"""`undertow feedback DOC_ID --confirm SIGNAL / --reject SIGNAL / --clear SIGNAL`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, print_json, settings_for
from undertow.services.feedback import record_feedback


def feedback(
    doc_id: Annotated[str, typer.Argument(help="The document's id, as `undertow ask` or `status` show it.")],
    confirm: Annotated[list[str], typer.Option("--confirm", help="A signal that is really there (repeatable).")] = [],
    reject: Annotated[list[str], typer.Option("--reject", help="A flag that is wrong (repeatable).")] = [],
    clear: Annotated[list[str], typer.Option("--clear", help="Take back an earlier verdict on a signal (repeatable).")] = [],
    author: Annotated[str, typer.Option(help="Who says so.")] = "",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a document's flags. It counts at once (a rejected flag leaves the health score, a
    confirmed signal is flagged); the next `undertow train` applies it to the model too."""
    result = record_feedback(settings_for(home), doc_id, confirm, reject, author, clear)
    if as_json:
        print_json({"doc_id": result.doc_id, "confirmed": result.confirmed, "rejected": result.rejected, "flags_added": result.flagged,
                    "cleared": result.cleared})
        return
    added = f"; flagged {', '.join(result.flagged)}" if result.flagged else ""
    cleared = f"; took back the verdict on {', '.join(result.cleared)}" if result.cleared else ""
    unknown = sorted(set(clear) - set(result.cleared))
    none = f"; no verdict on {', '.join(unknown)} to take back" if unknown else ""
    err_console.print(
        f"noted for {result.doc_id}: confirmed {result.confirmed or '-'}, rejected {result.rejected or '-'}{added}{cleared}{none}; "
        "it counts in health scores now, and `undertow train` applies it to the model"
    )
