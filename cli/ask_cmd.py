"""`undertow ask ACCOUNT [QUESTION]`"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, NoRedactOption, err_console, fail, out_console, parse_date, print_json, settings_for


def ask(
    account: Annotated[str, typer.Argument(help="Account id or name; names match loosely and ignore case ('acme', 'Acme Logistics GmbH').")],
    question: Annotated[str | None, typer.Argument(help="What you want to know; finds the documents closest to it.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only documents and flags from this date on (YYYY-MM-DD).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge as of this date; later documents are left out. Default: today.")] = None,
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=50, help="How many documents to show.")] = 5,
    llm: Annotated[bool, typer.Option("--llm", help="Add the LLM's narrative (personal data redacted for remote endpoints).")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the LLM narrative even when llm.ask_narrative is on.")] = False,
    no_redact: NoRedactOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """What's really going on with an account: scores, signals with evidence, what changed, next steps.

    Exit codes: 0 answered; 1 no such account (the closest names are suggested); 2 ambiguous name (the candidates are listed) or bad input.
    """
    from undertow.ask.render import plain_text, print_rich
    from undertow.services.ask import AmbiguousAccount
    from undertow.services.ask import ask as answer

    settings = settings_for(home)
    since_day, as_of_day = parse_date("--since", since), parse_date("--as-of", as_of)
    use_llm = False if offline else (True if llm else None)
    waits_on_llm = settings.llm.configured and (llm or settings.llm.ask_narrative) and not offline and not as_json and err_console.is_terminal
    try:
        with err_console.status("reading the account and asking the LLM\u2026") if waits_on_llm else nullcontext():
            brief = answer(settings, account, question, since=since_day, as_of=as_of_day, top=top, use_llm=use_llm,
                           redact=False if no_redact else None)
    except AmbiguousAccount as error:
        fail(str(error))  # printed here, with the candidates below it; the exit is raised after them
        for candidate, score in error.candidates:
            err_console.print(f"  {candidate.label}  ({candidate.documents} documents, match {score:.0f})", highlight=False, markup=False)
        if as_json:  # a script needs the candidates to choose from, not only that it failed
            print_json({"error": str(error), "exit_code": error.exit_code, "candidates": [
                {"account_id": c.account_id, "account_name": c.account_name, "documents": c.documents, "match": round(score)} for c, score in error.candidates]})
        raise typer.Exit(error.exit_code) from None
    if as_json:
        print_json(brief.as_dict())
    elif out_console.is_terminal:
        print_rich(brief, out_console)
    else:
        sys.stdout.write(plain_text(brief))
