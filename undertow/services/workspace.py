"""What `undertow serve` shows and writes: the portfolio and one account, scored exactly as
`annotate` scores them (without storing a snapshot: looking is not recording), and the two things
a person writes from the pages, a verdict on a flag and a review note.

The scores are kept between requests and made again only when the accounts export or the store
has changed (a new ingest or reclassify run), so a page costs a render, not a scoring.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from undertow.errors import InputError, NotFound
from undertow.health.config import segment_key
from undertow.services._shared import Notice, quiet
from undertow.settings import Settings

QUEUE_PAGE = 50  # review-queue rows per page: 5,000 accounts can put a thousand in the queue
RENEWALS_SHOWN = 50
NOTE_LIMIT = 2000  # characters of a review note
VERDICTS = ("confirm", "reject", "relabel")


@dataclass(frozen=True)
class Filters:
    """The portfolio's filters; an empty value keeps every account."""

    owner: str = ""
    segment: str = ""
    signal: str = ""

    def keep(self, account) -> bool:
        # Segments are matched as the scorecard matches them ('Enterprise' is 'enterprise').
        text = account.row.text
        return ((not self.owner or text.get("csm_owner", "") == self.owner)
                and (not self.segment or segment_key(text.get("segment", "")) == segment_key(self.segment))
                and (not self.signal or self.signal in account.qual.active))  # fmt: skip

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value}


def demo_accounts(settings: Settings) -> tuple[Path, dt.date]:
    """The accounts export `undertow demo` wrote into this home, and the day it scores as of."""
    from undertow.demo.portfolio import DEMO_DATE

    path = settings.resolved_home / "demo" / "accounts.csv"
    if not path.exists():
        raise NotFound(f"no demo portfolio in {settings.resolved_home}: run `undertow demo` first (or pass the accounts export it wrote)")
    return path, DEMO_DATE


class Workspace:
    def __init__(self, settings: Settings, accounts_csv: Path, *, as_of: dt.date | None = None, mapping: dict[str, str] | None = None,
                 scorecard: Path | None = None, on_notice: Notice = quiet):
        from undertow.store.home import Home

        self.settings, self.accounts_csv = settings, accounts_csv
        self._as_of, self._mapping, self._scorecard, self._on_notice = as_of, mapping or {}, scorecard, on_notice
        self.home = Home(settings)
        self._lock = threading.Lock()
        self._scored, self._by_id, self._state = None, {}, None

    # --- scores, kept until the inputs change --------------------------------------------------------
    def _inputs_state(self) -> tuple:
        try:
            stat = self.accounts_csv.stat()
        except OSError as error:
            raise NotFound(f"{self.accounts_csv}: {error.strerror or error}") from None
        runs = self.home.records.last_runs(1)
        # A CSM's verdict moves scores at once (a rejected flag stops counting), so it is an input too.
        return stat.st_mtime_ns, stat.st_size, (runs[0]["id"], runs[0]["status"]) if runs else None, self.home.records.feedback_stamp()

    def scored(self):
        """The AnnotateResult (undertow.services.health) for the current inputs."""
        from undertow.services.health import annotate

        state = self._inputs_state()
        with self._lock:
            if self._scored is None or state != self._state:
                self._scored = annotate(self.settings, self.accounts_csv, as_of=self._as_of, mapping=self._mapping,
                                        scorecard=self._scorecard, save=False, on_notice=self._on_notice)
                self._by_id = {a.account_id: a for a in self._scored.accounts}
                self._state = state
            return self._scored

    @property
    def as_of(self) -> dt.date:
        return self.scored().as_of

    def account_health(self, account_id: str):
        self.scored()
        found = self._by_id.get(account_id)
        if found is None:
            raise NotFound(f"no account {account_id!r} in {self.accounts_csv.name}")
        return found

    # --- pages ---------------------------------------------------------------------------------------
    def portfolio(self, filters: Filters = Filters(), page: int = 1) -> dict:
        """`portfolio_summary` of the accounts the filters keep (the figures `report --html` shows),
        each queued account with its latest review note of the day, and one page of the queue."""
        from undertow.health.portfolio import portfolio_summary

        scored = self.scored()
        kept = [a for a in scored.accounts if filters.keep(a)]
        summary = portfolio_summary(kept, scored.as_of)
        reviewed = self.reviews_of_day()
        for line in summary["review_queue"]:
            line["reviewed"] = reviewed.get(line["account_id"])
        pages = max(1, -(-len(summary["review_queue"]) // QUEUE_PAGE))
        page = min(max(page, 1), pages)
        return {
            "summary": summary,
            "queue_page": summary["review_queue"][(page - 1) * QUEUE_PAGE : page * QUEUE_PAGE],
            "queue_offset": (page - 1) * QUEUE_PAGE,
            "page": page,
            "pages": pages,
            "renewals_shown": summary["renewals_90d"][:RENEWALS_SHOWN],
            "filters": filters,
            "choices": {
                "owner": sorted({a.row.text.get("csm_owner", "") for a in scored.accounts} - {""}),
                "segment": sorted({a.row.text.get("segment", "") for a in scored.accounts} - {""}),
                "signal": sorted({s for a in scored.accounts for s in a.qual.active}),
            },
            "reviewed_today": sum(1 for line in summary["review_queue"] if line["reviewed"]),
            "problems": scored.problems,
            "source": self.accounts_csv.name,
        }

    def find(self, text: str, limit: int = 50) -> list:
        """Accounts whose id or name holds `text` (any case), in order of need of attention."""
        needle = text.casefold().strip()
        found = [a for a in self.scored().accounts if needle and (needle in a.account_id.casefold() or needle in a.name.casefold())]
        return found[:limit]

    def account(self, account_id: str) -> dict:
        from undertow.services.account_view import account_view

        return account_view(self, self.account_health(account_id))

    def ask(self, account_id: str, question: str):
        """The Brief `undertow ask ACCOUNT QUESTION` gives, as of the workspace's day."""
        from undertow.services.ask import ask

        question = question.strip()
        if not question:
            raise InputError("type a question first")
        return ask(self.settings, self.account_health(account_id).account_id, question, as_of=self.as_of)

    # --- what a person writes ------------------------------------------------------------------------
    def judge_flag(self, doc_id: str, signal: str, verdict: str, author: str, relabel_to: str = ""):
        """confirm / reject a flag, or relabel it (reject it and confirm another signal), into the
        feedback store `undertow train` reads."""
        from undertow.services.feedback import record_feedback

        if verdict not in VERDICTS:
            raise InputError(f"unknown verdict {verdict!r}: one of {', '.join(VERDICTS)}")
        if verdict == "relabel" and (not relabel_to or relabel_to == signal):
            raise InputError(f"relabel {signal} as what? pick another signal")
        confirm = [signal] if verdict == "confirm" else [relabel_to] if verdict == "relabel" else []
        reject = [signal] if verdict in ("reject", "relabel") else []
        return record_feedback(self.settings, doc_id, confirm, reject, author)

    def mark_reviewed(self, account_id: str, note: str, author: str) -> dict:
        """A review note, kept with the snapshot of the workspace's day (by account and as-of)."""
        from undertow.health.history import as_of_datetime
        from undertow.store.lock import exclusive

        account = self.account_health(account_id)
        if len(note) > NOTE_LIMIT:
            raise InputError(f"the note has {len(note)} characters; keep it under {NOTE_LIMIT}")
        with exclusive(self.home.path, "review"):
            return self.home.records.add_review(account.account_id, as_of_datetime(self.as_of), note.strip(), author)

    def reviews_of_day(self) -> dict[str, dict]:
        from undertow.health.history import as_of_datetime

        return {row["account_id"]: row for row in self.home.records.reviews(as_of=as_of_datetime(self.as_of))}
