"""`undertow distill`"""

from __future__ import annotations

from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, notice, print_json, settings_for
from undertow.errors import InputError
from undertow.services.distill import distill as run_distill
from undertow.services.distill import rollback as run_rollback


def distill(
    sample: Annotated[int, typer.Option("--sample", help="Documents the LLM labels (those labelled before count, and cost nothing).")] = 200,
    budget: Annotated[float | None, typer.Option("--budget", help="Most USD this run may spend on the LLM (needs the model's price in config).")] = None,
    holdout_share: Annotated[float, typer.Option("--holdout-share", help="Share of the labelled documents held back to measure agreement.")] = 0.3,
    full: Annotated[bool, typer.Option("--full", help="Retrain from the data plus the labels (minutes) instead of the fast refit.")] = False,
    rollback: Annotated[bool, typer.Option("--rollback", help="Put back the model the last distill replaced.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Teach the offline model how your customers write: an LLM labels a sample of your stored
    documents, the local model learns from them, and replaces the current one only if it agrees
    with the LLM more on documents held back."""
    settings = settings_for(home)
    if rollback:
        if full or budget is not None:
            raise InputError("--rollback takes no other option")
        undone = run_rollback(settings)
        if as_json:
            print_json(undone.__dict__)
        else:
            err_console.print(f"rolled back: model {undone.removed} removed, {undone.restored} active again", highlight=False)
        return
    result = run_distill(settings, sample=sample, budget_usd=budget, holdout_share=holdout_share, full=full, on_notice=notice)
    if as_json:
        print_json(result.__dict__)
        return
    if result.llm:
        notice(result.llm)
    for line in result.notes:
        notice(f"note: {line}")
    notice(f"{result.sampled} labelled documents ({result.asked} asked now, {result.unanswered} unanswered): "
           f"{result.teach} taught, {result.held_back} held back; agreement with the LLM on the held-back ones (F1):")
    notice(f"  {'signal':24s} {'before':>7s} {'after':>7s}")
    for signal, was in result.before["per_signal"].items():
        now = result.after["per_signal"].get(signal)
        notice(f"  {signal:24s} {_f1(was):>7s} {_f1(now):>7s}")
    notice(f"  {'macro':24s} {_f1(result.before['macro_f1']):>7s} {_f1(result.after['macro_f1']):>7s}")
    if result.replaced:
        notice(f"{result.kind}: model {result.model_after} replaces {result.model_before} -> {result.path} (`undertow distill --rollback` undoes it)")
    else:
        notice(f"{result.kind}: model {result.model_after} agrees no better; {result.model_before} stays active")


def _f1(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
