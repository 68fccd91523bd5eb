"""`undertow feedback DOC_ID --confirm SIGNAL / --reject SIGNAL`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, fail, print_json, settings_for, user_errors


def feedback(
    doc_id: Annotated[str, typer.Argument(help="The document's id, as `undertow ask` or `status` show it.")],
    confirm: Annotated[list[str], typer.Option("--confirm", help="A signal that is really there (repeatable).")] = [],
    reject: Annotated[list[str], typer.Option("--reject", help="A flag that is wrong (repeatable).")] = [],
    author: Annotated[str, typer.Option(help="Who says so.")] = "",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a CSM's correction as a label; the next `undertow train` learns from it."""
    from undertow.prompts import signal_names
    from undertow.store.records import RecordStore

    settings = settings_for(home)
    if not confirm and not reject:
        raise fail("say what is right or wrong: --confirm SIGNAL and/or --reject SIGNAL")
    known = signal_names(settings.signals_file)
    for signal in [*confirm, *reject]:
        if signal not in known:
            raise fail(f"unknown signal {signal!r}: one of {', '.join(known)}")
    if set(confirm) & set(reject):
        raise fail(f"cannot confirm and reject {sorted(set(confirm) & set(reject))} at once")
    with user_errors():
        records = RecordStore(settings.sqlite_url)
    if records.get_document(doc_id) is None:
        raise fail(f"no document {doc_id!r} in {settings.resolved_home}")
    for signal in confirm:
        records.add_feedback(doc_id, signal, True, author)
    for signal in reject:
        records.add_feedback(doc_id, signal, False, author)
    if as_json:
        print_json({"doc_id": doc_id, "confirmed": confirm, "rejected": reject})
    else:
        err_console.print(f"noted for {doc_id}: confirmed {confirm or '-'}, rejected {reject or '-'}; run `undertow train` to learn from it")
