"""`undertow status`"""

from __future__ import annotations

from rich.table import Table

from undertow.cli.common import HomeOption, JsonOption, err_console, out_console, print_json, settings_for, user_errors
from undertow.masking import mask_url


def status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """What the store holds: documents, accounts, flags, the last runs, the models in use."""
    from undertow.extractor.local import model_path_for
    from undertow.store.records import RecordStore

    settings = settings_for(home)
    with user_errors():
        records = RecordStore(settings.sqlite_url)
        counts = records.counts()
        runs = records.last_runs(5)
    classifier_path = model_path_for(settings)
    report = {
        "home": str(settings.resolved_home),
        **counts,
        "embedding_models": records.embed_models(),
        "classifier": str(classifier_path),
        # URLs may carry user:password@ or ?api_key=: this output gets pasted into tickets.
        "vector_store": mask_url(settings.chroma_url) or str(settings.resolved_home / "chroma"),
        "record_store": mask_url(settings.sqlite_url),
        "llm": mask_url(settings.llm.base_url) or ("OpenAI" if settings.llm.api_key else "not configured (offline)"),
        "last_runs": [
            {k: run[k] for k in ("id", "kind", "status", "started_at", "read", "new", "updated", "skipped", "failed", "seconds")}
            for run in runs
        ],
    }
    if as_json:
        print_json(report)
        return
    out_console.print(f"[bold]{report['home']}[/]")
    for key in ("documents", "accounts", "flags", "flagged_documents", "feedback", "failures"):
        out_console.print(f"  {key.replace('_', ' '):<18} {report[key]}")
    out_console.print(f"  {'embedding model':<18} {', '.join(report['embedding_models']) or '-'}")
    out_console.print(f"  {'classifier':<18} {report['classifier']}")
    out_console.print(f"  {'llm':<18} {report['llm']}")
    if runs:
        table = Table("run", "kind", "status", "started", "read", "new", "upd", "skip", "fail", "s", title="last runs")
        for run in report["last_runs"]:
            started = run["started_at"].strftime("%Y-%m-%d %H:%M") if run["started_at"] else "-"
            table.add_row(*(started if k == "started_at" else "-" if run[k] is None else str(run[k]) for k in run))
        out_console.print(table)
    else:
        err_console.print("no runs yet: try `undertow demo` or `undertow ingest PATH`")
