"""`undertow reclassify`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, NoRedactOption, err_console, print_json, settings_for
from undertow.services.llm import heal_fallbacks
from undertow.services.training import reclassify as run_reclassify


def reclassify(
    home: HomeOption = None,
    as_json: JsonOption = False,
    fallbacks: Annotated[bool, typer.Option("--fallbacks", help="Instead: ask the LLM again for documents that fell back to the local model (an outage, a deadline, the cost ceiling).")] = False,
    no_redact: NoRedactOption = False,
) -> None:
    """Re-flag every stored document with the current local model (after `undertow train`), from
    the sentence vectors already stored: nothing is re-read or re-embedded."""
    if fallbacks:
        settings = settings_for(home)
        if no_redact:
            settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"redact": False})})
        healed = heal_fallbacks(settings)
        if as_json:
            print_json({"pending": healed.pending, "healed": healed.healed, "summary": healed.summary})
            return
        err_console.print(f"{healed.healed} of {healed.pending} documents that fell back now have the LLM's verdict", highlight=False)
        if healed.summary:
            err_console.print(healed.summary, highlight=False)
        return
    result = run_reclassify(settings_for(home))
    summary = result.summary
    if as_json:
        print_json({**summary.as_dict(), "model": result.model_version})
        return
    err_console.print(
        f"re-flagged {summary.documents} documents with {result.model_version}: flags {summary.flags_before} -> {summary.flags_after}"
        + (f"; {summary.skipped_other_embedding} documents embedded by another model were left as they were" if summary.skipped_other_embedding else "")
        + f" ({summary.seconds:.1f}s)",
        highlight=False,
    )
