"""`ask` and `annotate` give the same review triggers for the same account: one set of rules
(health/review.py), applied by `annotate` to the accounts export and by `ask` to the snapshots
`annotate` stored."""

from __future__ import annotations

import pytest

from undertow.ask.answer import ask
from undertow.demo.portfolio import DEMO_DATE
from undertow.demo.run import run_demo
from undertow.store.home import Home

# Twelve accounts are enough for every trigger the store can carry, including accounts green on
# numbers that the words pull down to yellow or red: where the two used to disagree.
N_ACCOUNTS = 12


@pytest.fixture()
def demo(embedder, settings, tmp_path):
    home = Home(settings)
    result = run_demo(home, tmp_path / "demo", n_accounts=N_ACCOUNTS)
    pairs = {}
    for account in result.annotation.accounts:  # `annotate` writes their reasons as review_reasons
        brief = ask(home, account.account_id, as_of=DEMO_DATE, use_llm=False)  # what `undertow ask` calls
        pairs[account.account_id] = (account.review_triggers, brief.review)
    return pairs


@pytest.mark.slow
def test_ask_and_annotate_agree_on_every_demo_account(demo):
    assert len(demo) == N_ACCOUNTS
    for account_id, (annotated, asked) in demo.items():
        assert asked == annotated, account_id
    # Not vacuous: the demo fires the triggers that read the scores and those that read the export.
    kinds = {t.kind for annotated, _ in demo.values() for t in annotated}
    assert kinds >= {"green_numbers", "review_signal", "score_drop", "red_band", "csm_sentiment", "no_contact"}
