"""How long `undertow ask` takes for a large account, offline, once the embedding model is loaded.

Target: under a second per answer for an account with 500 documents. Building the store
(generating, embedding and classifying the documents) is set-up and is not timed; each timed
answer resolves the account by a loose name and builds the whole brief, with and without a
question (a question adds its embedding and the Chroma search).

    python -c "from undertow.eval.bench_ask import bench_ask; print(bench_ask('/tmp/bench-ask'))"
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time
from pathlib import Path

ACCOUNT_ID = "bench-logistics"
ACCOUNT_NAME = "Bench Logistics GmbH"
TARGET_S = 1.0
AS_OF = dt.date(2026, 10, 1)

QUIET = [
    "Weekly sync: we walked through the dashboard filters and the export settings.",
    "The warehouse team asked for a training session on the mobile scanner app.",
    "Ticket: the CSV export times out for reports with more than 50,000 rows.",
    "Thanks for the quick fix on the login issue, everything works again.",
    "We added twelve users in the Leeds depot and onboarding went smoothly.",
    "Can you send the updated invoice with the new billing address?",
    "Route planning saved the dispatchers about an hour every morning last month.",
    "Question about the API rate limits for the nightly synchronisation job.",
]
SIGNALLED = [
    "Dana is leaving the company at the end of the month and nobody replaces her yet.",
    "A team in Munich is piloting a cheaper tool for the same dashboards.",
    "Our CFO asked every department to cut software costs by twenty percent next year.",
    "Since the acquisition closed, headquarters decides which reporting tools we keep.",
    "Honestly it's fine, we mostly use spreadsheets for the planning now.",
]
QUESTIONS = ["Are they looking at a competitor?", "Who is our main contact now?", "Is the budget under pressure?"]


def generate_documents(count: int, seed: int = 7) -> list[dict]:
    """`count` documents for the benchmark account over the year before AS_OF, one in ten with a
    churn signal, plus a neighbour account so every query has something to filter out."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        signalled = i % 10 == 0
        # Signals cluster in the last weeks, as they do before a churn; quiet traffic spans the year.
        day = AS_OF - dt.timedelta(days=rng.randrange(0, 45 if signalled else 365))
        sentences = rng.sample(QUIET, 3) + ([SIGNALLED[(i // 10) % len(SIGNALLED)]] if signalled else [])
        rng.shuffle(sentences)
        docs.append({
            "id": f"bench-{i:04d}", "account_id": ACCOUNT_ID, "account_name": ACCOUNT_NAME,
            "source": rng.choice(["call_note", "email", "ticket", "chat", "meeting_transcript"]),
            "date": day.isoformat(), "subject": f"Update {i}", "text": " ".join(sentences),
        })  # fmt: skip
    for i in range(count // 5):
        day = AS_OF - dt.timedelta(days=rng.randrange(0, 365))
        docs.append({"id": f"other-{i:04d}", "account_id": "bench-retail", "account_name": "Bench Retail", "source": "email",
                     "date": day.isoformat(), "text": " ".join(rng.sample(QUIET + SIGNALLED, 3))})
    return docs


def build_store(home_dir: Path, documents: int):
    from undertow.extractor.local_backend import LocalClassifier
    from undertow.ingest.pipeline import Ingestor
    from undertow.ingest.sources import ReadOptions
    from undertow.settings import Settings
    from undertow.store.home import Home

    home_dir.mkdir(parents=True, exist_ok=True)
    path = home_dir / "bench-documents.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in generate_documents(documents)), encoding="utf-8")
    home = Home(Settings(home=home_dir))
    Ingestor(home, LocalClassifier()).run([path], ReadOptions())
    snapshot = {"account_id": ACCOUNT_ID, "quant_score": 82.0, "qual_risk": 0.2, "band": "green", "signals": ""}
    home.records.save_snapshots([
        snapshot | {"as_of": dt.datetime(2026, 8, 1), "health_score": 80.0},
        snapshot | {"as_of": dt.datetime(2026, 9, 1), "health_score": 71.0},
    ])  # fmt: skip
    return home


def _time(call, runs: int) -> list[float]:
    seconds = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        seconds.append(time.perf_counter() - started)
    return seconds


def bench_ask(home_dir: str | Path, documents: int = 500, runs: int = 7) -> dict:
    """Figures in seconds per answer (median of `runs`), for the lead's `undertow bench`."""
    from undertow.ask.answer import ask

    started = time.perf_counter()
    home = build_store(Path(home_dir), documents)
    home.embedder.embed(["load the model"])  # "after the model is loaded"
    setup_s = time.perf_counter() - started

    first = time.perf_counter()
    brief = ask(home, "bench logistics", QUESTIONS[0], as_of=AS_OF, use_llm=False)
    first_s = time.perf_counter() - first
    with_question = _time(lambda i: ask(home, "bench logistics", QUESTIONS[i % len(QUESTIONS)], as_of=AS_OF, use_llm=False), runs)
    without_question = _time(lambda i: ask(home, "bench logistics", as_of=AS_OF, use_llm=False), runs)
    median = statistics.median(with_question)
    return {
        "documents": brief.account.documents,
        "store_documents": home.records.counts()["documents"],
        "runs": runs,
        "setup_s": round(setup_s, 2),
        "first_answer_s": round(first_s, 4),
        "median_s_with_question": round(median, 4),
        "max_s_with_question": round(max(with_question), 4),
        "median_s_without_question": round(statistics.median(without_question), 4),
        "active_signals": len(brief.active_signals),
        "relevant_documents": len(brief.relevant_documents),
        "target_s": TARGET_S,
        "meets_target": median < TARGET_S,
    }
