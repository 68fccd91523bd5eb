"""`undertow reclassify`"""

from __future__ import annotations

from undertow.cli.common import HomeOption, JsonOption, err_console, print_json, settings_for, user_errors


def reclassify(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Re-flag every stored document with the current local model (after `undertow train`), from
    the sentence vectors already stored: nothing is re-read or re-embedded."""
    from undertow.extractor.local import load_local_model, model_path_for
    from undertow.ingest.reclassify import reclassify as run
    from undertow.store.home import Home

    settings = settings_for(home)
    with user_errors():
        model = load_local_model(model_path_for(settings))
        summary = run(Home(settings), model)
    if as_json:
        print_json({**summary.as_dict(), "model": model.version})
        return
    err_console.print(
        f"re-flagged {summary.documents} documents with {model.version}: flags {summary.flags_before} -> {summary.flags_after}"
        + (f"; {summary.skipped_other_embedding} documents embedded by another model were left as they were" if summary.skipped_other_embedding else "")
        + f" ({summary.seconds:.1f}s)",
        highlight=False,
    )
