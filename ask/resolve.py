"""Which account a CSM means: an id, a name, or a name as people say it ("acme", "Acme GmbH")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from undertow.errors import EXIT_INPUT_REJECTED, NotFound, UndertowError
from undertow.store.records import RecordStore

# A fuzzy match counts from this score (0-100, rapidfuzz WRatio); "acme" scores 90 against
# "Acme Logistics", a typo such as "brigthwater foods" 94 against "Brightwater Foods".
MATCH_SCORE = 80.0
# The best match wins outright only this far ahead of the next: "acme" against both
# "Acme Logistics" and "Acme Retail" is a question back to the user, not a guess.
CLEAR_LEAD = 10.0
SUGGESTIONS = 3
# Legal forms say nothing about which account is meant and make "Acme GmbH" look unlike "Acme".
_LEGAL_FORMS = re.compile(
    r"\b(gmbh|ag|kg|inc|incorporated|ltd|limited|llc|plc|corp|corporation|co|company|s\.?p\.?a|s\.?r\.?l|s\.?a|b\.?v|n\.?v|sarl|sas|oy)\b\.?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AccountRef:
    account_id: str
    account_name: str
    documents: int

    @property
    def label(self) -> str:
        if self.account_name and self.account_name != self.account_id:
            return f"{self.account_name} ({self.account_id})"
        return self.account_id


@dataclass(frozen=True)
class Resolved:
    account: AccountRef
    matched_by: str  # id | name | fuzzy
    score: float


class AccountNotFound(NotFound):
    exit_code = EXIT_INPUT_REJECTED  # `undertow ask` exits 1 for no such account, 2 for an ambiguous name

    def __init__(self, query: str, suggestions: list[AccountRef], known: int):
        self.query = query
        self.suggestions = suggestions
        if not known:
            message = f"no account {query!r}: the store holds no accounts yet; run `undertow ingest PATH` first"
        else:
            names = "; ".join(s.label for s in suggestions)
            message = f"no account matches {query!r}" + (f"; closest: {names}" if names else "")
        super().__init__(message)


class AmbiguousAccount(UndertowError, LookupError):
    def __init__(self, query: str, candidates: list[tuple[AccountRef, float]]):
        self.query = query
        self.candidates = candidates
        super().__init__(f"{query!r} matches {len(candidates)} accounts: give the id or more of the name")


def known_accounts(records: RecordStore) -> list[AccountRef]:
    """Accounts with documents, plus accounts only scored by `annotate` (known by id alone)."""
    found = {row["account_id"]: AccountRef(row["account_id"], row["account_name"] or "", int(row["documents"])) for row in records.accounts()}
    # Distinct ids only: a year of daily snapshots for a portfolio is too many rows to read per question.
    for account_id in records.scored_account_ids():
        found.setdefault(account_id, AccountRef(account_id, "", 0))
    return sorted(found.values(), key=lambda a: a.account_id)


def _key(text: str) -> str:
    return " ".join(utils.default_process(_LEGAL_FORMS.sub(" ", text)).split())


def similarity(query: str, account: AccountRef) -> float:
    wanted = _key(query)
    if not wanted:
        return 0.0
    options = [account.account_id] + ([account.account_name] if account.account_name else [])
    return max(fuzz.WRatio(wanted, _key(option)) for option in options)


def resolve_account(query: str, accounts: list[AccountRef]) -> Resolved:
    query = query.strip()
    folded = query.casefold()
    for matched_by, field in (("id", "account_id"), ("name", "account_name")):
        exact = [a for a in accounts if getattr(a, field) and getattr(a, field).casefold() == folded]
        if len(exact) == 1:
            return Resolved(exact[0], matched_by, 100.0)
        if len(exact) > 1:
            raise AmbiguousAccount(query, [(a, 100.0) for a in exact])

    scored = sorted(((a, similarity(query, a)) for a in accounts), key=lambda pair: (-pair[1], pair[0].account_id))
    close = [(a, round(score, 1)) for a, score in scored if score >= MATCH_SCORE]
    # Two letters match half the portfolio; a query that short must be exact.
    if len(_key(query)) < 3 or not close:
        raise AccountNotFound(query, [a for a, score in scored[:SUGGESTIONS] if score > 0], len(accounts))
    best, best_score = close[0]
    rivals = [(a, s) for a, s in close[1:] if best_score - s < CLEAR_LEAD]
    if rivals:
        raise AmbiguousAccount(query, [close[0], *rivals])
    return Resolved(best, "fuzzy", best_score)
