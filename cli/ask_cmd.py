"""`undertow ask ACCOUNT [QUESTION]`"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.markup import escape

from undertow.cli.common import HomeOption, JsonOption, err_console, fail, out_console, print_json, settings_for, user_errors

NOT_FOUND_EXIT = 1
AMBIGUOUS_EXIT = 2


def _date(option: str, value: str | None) -> dt.date | None:
    from undertow.documents import parse_date

    if not value:
        return None
    try:
        return parse_date(value).date()
    except ValueError:
        raise fail(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def ask(
    account: Annotated[str, typer.Argument(help="Account id or name; names match loosely and ignore case ('acme', 'Acme Logistics GmbH').")],
    question: Annotated[str | None, typer.Argument(help="What you want to know; finds the documents closest to it.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only documents and flags from this date on (YYYY-MM-DD).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge as of this date; later documents are left out. Default: today.")] = None,
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=50, help="How many documents to show.")] = 5,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the LLM narrative even when an LLM is configured.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """What's really going on with an account: scores, signals with evidence, what changed, next steps.

    Exit codes: 0 answered; 1 no such account (the closest names are suggested); 2 ambiguous name (the candidates are listed) or bad input.
    """
    from undertow.ask.answer import ask as answer
    from undertow.ask.render import plain_text, print_rich
    from undertow.ask.resolve import AccountNotFound, AmbiguousAccount
    from undertow.store.home import Home

    settings = settings_for(home)
    since_day, as_of_day = _date("--since", since), _date("--as-of", as_of)
    with user_errors():
        store = Home(settings)
        try:
            if settings.llm.configured and not offline and not as_json and err_console.is_terminal:
                with err_console.status("reading the account and asking the LLM\u2026"):
                    brief = answer(store, account, question, since_day, as_of_day, top, use_llm=not offline)
            else:
                brief = answer(store, account, question, since_day, as_of_day, top, use_llm=not offline)
        except AmbiguousAccount as error:
            err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            for candidate, score in error.candidates:
                err_console.print(f"  {candidate.label}  ({candidate.documents} documents, match {score:.0f})", highlight=False, markup=False)
            raise typer.Exit(AMBIGUOUS_EXIT) from None
        except AccountNotFound as error:
            raise fail(str(error), NOT_FOUND_EXIT) from None
    if as_json:
        print_json(brief.as_dict())
    elif out_console.is_terminal:
        print_rich(brief, out_console)
    else:
        sys.stdout.write(plain_text(brief))
