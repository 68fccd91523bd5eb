"""`python -m undertow.eval.bench_web`: how fast `undertow serve` shows a large portfolio.

Target (issue 14): the portfolio page of 5,000 accounts in under 1 s on the project's machine.

The home is the demo portfolio, ingested for real (40 accounts, their documents embedded and
classified), then copied to 5,000 accounts: each copy gets its original's documents and flags
under new ids (stored vectors are zeros: nothing here searches them) and its numbers, and last
month's export is scored and stored, so bands move and trends exist as after a month of nights.
Pages are fetched over HTTP from the real server, as a browser would. The scores are made once
before the server listens (as `undertow serve` does) and again after an ingest or reclassify run;
that scoring is `undertow annotate`'s own cost, printed apart from the pages'.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET_S = 1.0


def _clone_rows(path: Path, out: Path, accounts: int) -> dict[str, str]:
    """Write `accounts` rows copied from the export at `path`; {copy's id: original's id}."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        copies = {}
        for i in range(accounts):
            row = dict(rows[i % len(rows)])
            if i >= len(rows):
                copies[f"{row['account_id']}-{i}"] = row["account_id"]
                row["account_id"], row["account_name"] = f"{row['account_id']}-{i}", f"{row['account_name']} {i}"
            writer.writerow(row)
    return copies


def _clone_documents(records, copies: dict[str, str]) -> int:
    import numpy as np

    from undertow.store.records import StoredDocument

    documents = list(records.iter_documents())
    flags: dict[str, list[dict]] = {}
    for flag in records.flags():
        flags.setdefault(flag["doc_id"], []).append(flag)
    by_account: dict[str, list[dict]] = {}
    for doc in documents:
        by_account.setdefault(doc["account_id"], []).append(doc)
    batch, stored = [], 0
    for account, source in copies.items():
        for doc in by_account.get(source, []):
            new_id = f"{doc['id']}#{account}"
            row = {**doc, "id": new_id, "account_id": account, "text_key": f"{doc['text_key']}#{account}"}
            copied = [{k: v for k, v in f.items() if k not in ("date", "source", "subject")} | {
                "doc_id": new_id, "account_id": account, "evidence": json.dumps(f["evidence"])} for f in flags.get(doc["id"], [])]
            batch.append(StoredDocument(row=row, spans=[(0, len(doc["text"]))], vectors=np.zeros((1, 4), np.float32), flags=copied))
        if len(batch) >= 2000:
            records.save_documents(batch)
            stored, batch = stored + len(batch), []
    records.save_documents(batch)
    return stored + len(batch)


def build_home(folder: Path, accounts: int) -> tuple:
    from undertow.demo.portfolio import DEMO_DATE, PREVIOUS_DATE
    from undertow.services.demo import demo
    from undertow.services.health import annotate
    from undertow.settings import load_settings
    from undertow.store.home import Home

    settings = load_settings(folder)
    run = demo(settings, folder / "demo", accounts=40)
    current, previous = folder / "accounts_5k.csv", folder / "accounts_5k_previous.csv"
    copies = _clone_rows(run.result.files.accounts, current, accounts)
    _clone_rows(run.result.files.previous_accounts, previous, accounts)
    documents = _clone_documents(Home(settings).records, copies)
    annotate(settings, previous, as_of=PREVIOUS_DATE)  # last month's snapshot, for trends and band moves
    return settings, current, DEMO_DATE, documents


def _fetch(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:  # our own server on 127.0.0.1
        size = len(response.read())
    return time.perf_counter() - started, size


def bench_web(accounts: int = 5000, repeats: int = 5) -> dict:
    from undertow.services.workspace import Workspace
    from undertow.web.app import create_app
    from undertow.web.server import running

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        settings, csv_path, as_of, documents = build_home(Path(folder), accounts)
        setup_s = time.perf_counter() - started
        workspace = Workspace(settings, csv_path, as_of=as_of)
        started = time.perf_counter()
        workspace.scored()  # as `undertow serve` does before it listens, and again after each ingest
        scoring_s = time.perf_counter() - started
        with running(create_app(workspace, allowed_hosts=["127.0.0.1"])) as url:
            first_s, size = _fetch(url + "/")
            warm = [_fetch(url + "/")[0] for _ in range(repeats)]
            summary = workspace.portfolio()["summary"]
            owner = workspace.portfolio()["choices"]["owner"][0]
            filtered = [_fetch(f"{url}/?owner={urllib.request.quote(owner)}")[0] for _ in range(repeats)]
            queued = summary["review_queue"][0]["account_id"]
            account = [_fetch(f"{url}/accounts/{urllib.request.quote(queued, safe='')}")[0] for _ in range(repeats)]
            api = [_fetch(url + "/api/portfolio")[0] for _ in range(repeats)]
    return {
        "accounts": accounts,
        "documents": documents,
        "review_queue": summary["review"],
        "setup_s": round(setup_s, 1),
        "scoring_s (at start and after an ingest)": round(scoring_s, 3),
        "portfolio_first_s": round(first_s, 3),
        "portfolio_median_s": round(statistics.median(warm), 3),
        "portfolio_max_s": round(max(warm), 3),
        "portfolio_page_kb": round(size / 1024),
        "portfolio_filtered_median_s": round(statistics.median(filtered), 3),
        "account_page_median_s": round(statistics.median(account), 3),
        "api_portfolio_median_s": round(statistics.median(api), 3),
        "target_s": TARGET_S,
        "meets_target": max(first_s, *warm) < TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    options = parser.parse_args()
    figures = bench_web(options.accounts, options.repeats)
    if options.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"  {key:<44} {value}")


if __name__ == "__main__":
    main()
