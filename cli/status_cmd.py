"""`undertow status`"""

from __future__ import annotations

from rich.table import Table

from undertow.cli.common import HomeOption, JsonOption, err_console, out_console, print_json, settings_for
from undertow.services.status import status as home_status


def status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """What the store holds: documents, accounts, flags, the last runs, the models in use."""
    report = home_status(settings_for(home))
    if as_json:
        print_json(report)
        return
    out_console.print(f"[bold]{report['home']}[/]")
    for key in ("documents", "accounts", "flags", "flagged_documents", "feedback"):
        out_console.print(f"  {key.replace('_', ' '):<18} {report[key]}")
    # Said in words, since a sum over reruns (the history) is what a reader would otherwise assume.
    out_console.print(f"  {'failures':<18} {report['failures']} (bad lines or files in each file's latest failing run; "
                      f"{report['failures_recorded']} recorded over all runs)", highlight=False, soft_wrap=True)
    out_console.print(f"  {'embedding model':<18} {', '.join(report['embedding_models']) or '-'}")
    out_console.print(f"  {'classifier':<18} {report['classifier']}")
    model = report["model"]
    if model["version"] is None:
        out_console.print(f"  {'model':<18} {model['error']}")
    else:
        out_console.print(f"  {'model':<18} {model['version']} (made by: {model['created_by'] or '-'}; refit of: {model['refit_of'] or '-'})")
        for name, f in model["dev_figures"].items():
            of = "" if model["dev_figures_of"] == model["version"] else f" [of {model['dev_figures_of']}]"
            out_console.print(f"  {'dev figures':<18} {name}{of}: F1 {f['macro_f1']:.3f}, quiet FA {f['quiet_false_alarm_rate']:.3f}, "
                              f"evidence {f['evidence_hit_rate']:.3f}, {f['documents']} docs", soft_wrap=True)
    out_console.print(f"  {'llm':<18} {report['llm']}")
    if report["last_runs"]:
        table = Table("run", "kind", "status", "started", "read", "new", "upd", "skip", "fail", "s", title="last runs")
        for run in report["last_runs"]:
            started = run["started_at"].strftime("%Y-%m-%d %H:%M") if run["started_at"] else "-"
            table.add_row(*(started if k == "started_at" else "-" if run[k] is None else str(run[k]) for k in run))
        out_console.print(table)
    else:
        err_console.print("no runs yet: try `undertow demo` or `undertow ingest PATH`")
