"""`undertow reclassify`"""

from __future__ import annotations

from undertow.cli.common import HomeOption, JsonOption, err_console, print_json, settings_for
from undertow.services.training import reclassify as run_reclassify


def reclassify(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Re-flag every stored document with the current local model (after `undertow train`), from
    the sentence vectors already stored: nothing is re-read or re-embedded."""
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
