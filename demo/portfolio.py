"""A seeded, realistic customer portfolio: account numbers, documents and what happened next.

Most accounts are healthy and quiet. Some are red on numbers. Some look green on numbers while
their people say the things that come before churn (the champion leaves, a competitor is on
trial): those are the accounts a score built on numbers alone misses, and outcomes are drawn so
that they churn more often, as they do in life.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from undertow.errors import InputError

DEMO_DATE = dt.date(2026, 10, 1)
PREVIOUS_DATE = DEMO_DATE - dt.timedelta(days=30)  # the export a month earlier, for trends

# Fictional companies, each writing in its own language.
COMPANIES: list[tuple[str, str]] = [
    ("Brightwater Foods", "en"), ("Ottica Ferraris", "it"), ("Nordhafen Maschinenbau", "de"), ("Transportes Douro", "pt"),
    ("Zuiderzee Bouw", "nl"), ("Maison Lambert Optique", "fr"), ("Bodegas Rioverde", "es"), ("Kestrel Aviation Services", "en"),
    ("Oakridge Health Partners", "en"), ("Cantine Valdora", "it"), ("Bergmann Versicherung", "de"), ("Lumen Retail Group", "en"),
    ("Groenveld Zorg", "nl"), ("Transports Garonne", "fr"), ("Farmacias Atlantico", "pt"), ("Tidewater Insurance", "en"),
    ("Distribuciones Meseta", "es"), ("Copperline Telecom", "en"), ("Gruppo Alpemedica", "it"), ("Stadtwerke Lindenau", "de"),
    ("Fernhill Academy Trust", "en"), ("Havenstad Logistiek", "nl"), ("Assurances Belcour", "fr"), ("Summit Ridge Outdoors", "en"),
    ("Construtora Serra Azul", "pt"), ("Clinica Santa Lucia", "es"), ("Bluepeak Software", "en"), ("Tessuti Bellandi", "it"),
    ("Kaufhaus Rheinblick", "de"), ("Greystone Property Management", "en"), ("Polderlicht Energie", "nl"), ("Librairie Vauban", "fr"),
    ("Redfern Energy", "en"), ("Vinhos Quinta Alta", "pt"), ("Hoteles Costa Brava Sol", "es"), ("Silverleaf Hotels", "en"),
    ("Logistica Adriatica", "it"), ("Alpen Solar", "de"), ("Quayside Shipping", "en"), ("Marlow Finch Publishing", "en"),
]


@dataclass(frozen=True)
class Archetype:
    name: str
    share: float  # of the portfolio
    churn_rate: float  # share of these accounts that churn
    signals: tuple[str, ...]  # signals its documents carry (two drawn per account)
    signal_age_days: tuple[int, int]  # how old those documents are


ARCHETYPES = {
    "healthy": Archetype("healthy", 0.55, 0.05, (), (0, 0)),
    "hidden_risk": Archetype("hidden_risk", 0.175, 0.7, ("champion_departure", "competitor_mention", "strategy_shift"), (3, 28)),
    "red_numbers": Archetype("red_numbers", 0.15, 0.5, ("budget_pressure", "silent_dissatisfaction"), (10, 80)),
    "slipping": Archetype("slipping", 0.125, 0.3, ("budget_pressure", "silent_dissatisfaction"), (40, 150)),
}
SEGMENTS = (("enterprise", 0.3), ("mid-market", 0.4), ("smb", 0.3))


@dataclass
class DemoAccount:
    account_id: str
    name: str
    language: str
    archetype: str
    segment: str
    contact: str
    new_contact: str
    csm: str
    numbers: dict = field(default_factory=dict)  # the ACCOUNTS.md columns today
    previous: dict = field(default_factory=dict)  # the same a month earlier
    churned: bool = False
    outcome_date: dt.date | None = None


@dataclass
class DemoDocument:
    id: str
    account: DemoAccount
    source: str  # call_note | email | ticket | chat | meeting_transcript
    date: dt.datetime
    subject: str
    text: str
    author: str
    signal: str | None = None  # what was planted, for the curious; never given to the classifier
    fmt: str = "jsonl"  # the file format it is written in: jsonl, md, eml, mbox or csv
    planted_text: str | None = None  # the words that carry `signal`: what its evidence should quote


@dataclass
class Portfolio:
    accounts: list[DemoAccount]
    documents: list[DemoDocument]
    vendor: dict


@lru_cache(maxsize=1)
def snippets() -> dict:
    return yaml.safe_load(resources.files(__package__).joinpath("snippets.yaml").read_text(encoding="utf-8"))


def slug(name: str) -> str:
    """The id a helpdesk export's organisation name turns into on ingest (see ingest/tabular.py)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _archetype_plan(n: int, rng: random.Random) -> list[str]:
    """Each archetype's share of n accounts (at least one hidden risk and one red), shuffled."""
    plan: list[str] = []
    for name in ("hidden_risk", "red_numbers", "slipping"):
        plan += [name] * max(1 if name != "slipping" or n >= 6 else 0, round(ARCHETYPES[name].share * n))
    plan = plan[:n]
    plan += ["healthy"] * (n - len(plan))
    rng.shuffle(plan)
    return plan


def _segment(rng: random.Random) -> str:
    return rng.choices([s for s, _ in SEGMENTS], weights=[w for _, w in SEGMENTS])[0]


def _numbers(archetype: str, segment: str, rng: random.Random) -> dict:
    seats = {"enterprise": rng.randint(250, 1500), "mid-market": rng.randint(40, 220), "smb": rng.randint(5, 35)}[segment]
    u = rng.uniform
    if archetype == "red_numbers":
        ratio, trend, tickets, nps, csat, days, overdue = u(0.25, 0.5), u(-0.45, -0.25), rng.randint(5, 12), rng.randint(-45, -5), u(2.2, 3.1), rng.randint(35, 90), rng.randint(1, 3)
    elif archetype == "slipping":
        ratio, trend, tickets, nps, csat, days, overdue = u(0.5, 0.68), u(-0.22, -0.1), rng.randint(3, 7), rng.randint(-10, 20), u(3.2, 3.9), rng.randint(25, 55), rng.randint(0, 1)
    else:  # healthy and hidden risks look the same on numbers: that is the point
        ratio, trend, tickets, nps, csat, days, overdue = u(0.76, 0.97), u(-0.04, 0.15), rng.randint(0, 3), rng.randint(20, 70), u(4.0, 4.9), rng.randint(3, 25), 0
    if segment == "enterprise":
        tickets *= 2
    logins_prev = int(seats * u(8, 20))
    return {
        "seats_licensed": seats,
        "seats_active": max(1, round(seats * ratio)),
        "logins_30d": max(0, round(logins_prev * (1 + trend))),
        "logins_prev_30d": logins_prev,
        "tickets_open": tickets,
        "tickets_30d": tickets + rng.randint(0, 4),
        "nps": nps,
        "csat": round(csat, 1),
        "days_since_last_contact": days,
        "invoices_overdue": overdue,
        "arr": seats * rng.choice((240, 300, 360, 420)),
    }


def _previous(numbers: dict, archetype: str, rng: random.Random) -> dict:
    """A month earlier. Red accounts were still fine then: their fall is what the trend shows."""
    before = dict(numbers)
    if archetype == "red_numbers":
        before["seats_active"] = round(numbers["seats_licensed"] * rng.uniform(0.7, 0.85))
        before["logins_prev_30d"] = round(numbers["logins_prev_30d"] * rng.uniform(0.95, 1.05))
        before["logins_30d"] = round(before["logins_prev_30d"] * rng.uniform(0.92, 1.0))
        before["tickets_open"] = max(0, numbers["tickets_open"] - rng.randint(3, 5))
        before["nps"] = numbers["nps"] + rng.randint(20, 35)
        before["invoices_overdue"] = 0
    else:
        before["logins_30d"] = numbers["logins_prev_30d"]
        before["logins_prev_30d"] = round(numbers["logins_prev_30d"] * rng.uniform(0.93, 1.05))
    return before


def _days_before(days_now: int, rng: random.Random) -> int:
    """Days since contact a month earlier: the same silence, 30 days shorter, unless they spoke since."""
    return days_now - 30 if days_now >= 30 else rng.randint(3, 25)


def _csm_sentiment(archetype: str, rng: random.Random) -> str:
    # The CSM sees some of what the numbers miss, not all of it.
    choices = {"healthy": ("green",) * 9 + ("yellow",), "hidden_risk": ("green", "green", "yellow"), "red_numbers": ("red", "yellow"), "slipping": ("yellow", "green")}
    return rng.choice(choices[archetype])


def build_portfolio(n_accounts: int = 40, seed: int = 7) -> Portfolio:
    if not 2 <= n_accounts <= len(COMPANIES):
        raise InputError(f"the demo portfolio has 2 to {len(COMPANIES)} accounts, not {n_accounts}")
    # One stream per concern, so that changing how documents are written never reshuffles
    # which accounts churn (string seeds are hashed the same way in every process).
    rng = random.Random(f"{seed}:accounts")
    pool = snippets()
    vendor = pool["vendor"]
    plan = _archetype_plan(n_accounts, rng)
    accounts = []
    for (name, language), archetype in zip(COMPANIES, plan):
        names = rng.sample(pool["languages"][language]["names"], 2)
        segment = _segment(rng)
        numbers = _numbers(archetype, segment, rng)
        account = DemoAccount(slug(name), name, language, archetype, segment, names[0], names[1], rng.choice(vendor["csms"]), numbers, _previous(numbers, archetype, rng))
        account.numbers["csm_sentiment"] = _csm_sentiment(archetype, rng)
        account.previous["csm_sentiment"] = "green" if archetype != "red_numbers" else account.numbers["csm_sentiment"]
        if archetype == "healthy" and rng.random() < 0.1:
            # Fine on every count, but nobody has called them in months.
            account.numbers["days_since_last_contact"] = rng.randint(80, 120)
        account.previous["days_since_last_contact"] = _days_before(account.numbers["days_since_last_contact"], rng)
        accounts.append(account)
    _draw_outcomes(accounts, random.Random(f"{seed}:outcomes"))
    from undertow.demo.documents import compose_documents

    return Portfolio(accounts, compose_documents(accounts, pool, random.Random(f"{seed}:documents")), vendor)


def _draw_outcomes(accounts: list[DemoAccount], rng: random.Random) -> None:
    """Per archetype, its churn rate's share of accounts churn (which ones is drawn)."""
    for name, archetype in ARCHETYPES.items():
        members = [a for a in accounts if a.archetype == name]
        for account in rng.sample(members, round(archetype.churn_rate * len(members))):
            account.churned = True
    for account in accounts:
        account.outcome_date = DEMO_DATE + dt.timedelta(days=rng.randint(30, 180))
