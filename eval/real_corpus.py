"""Build the real-text sets from gathered batches and their labelling passes.

`eval/data/real/raw/` holds, per batch of gathering (one gatherer, one kind of source):
`BATCH.jsonl` (verbatim texts and where they came from), `BATCH.labels_a.jsonl` and
`BATCH.labels_b.jsonl` (two independent readings against SIGNALS.md) and
`BATCH.labels_settled.jsonl` (a third reading of the documents the two disagreed on).
A later round added `BATCH.labels_c.jsonl` (a fresh reader who never gathered, under the
stricter reading of docs/labelling.md) and `BATCH.labels_settled_bc.jsonl`; `--readings bc`
builds from readings B and C instead (it did not train a better model: eval/RESULTS.md). This module measures the agreement, merges the passes, splits by source family (a vendor,
forum or repository never spans two splits, so the test set measures text from places the model
never saw) and writes `eval/data/real/{train,dev,test}.jsonl` and `provenance.tsv`.

    python -m undertow.eval.real_corpus            # build
    python -m undertow.eval.real_corpus --disagreements   # write what the third reader settles
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from undertow.eval.datasets import real_path

REAL_DIR = real_path("train").parent
RAW_DIR = REAL_DIR / "raw"
SPLIT_SHARES = {"train": 0.58, "dev": 0.18, "test": 0.24}
PROVENANCE_FIELDS = ("id", "split", "family", "vendor", "language", "url", "repo", "path", "commit", "date_read", "licence")


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def batches(raw_dir: Path = RAW_DIR) -> list[str]:
    return sorted(p.name[: -len(".jsonl")] for p in raw_dir.glob("*.jsonl") if p.name.count(".") == 1)


def _labels_by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in _read_jsonl(path)}


# The pairs of independent readings a corpus can be built from, each with the file of the third
# reading that settled their disagreements. "ab" is the corpus's own.
READING_PAIRS = {"ab": ("labels_a", "labels_b", "labels_settled"), "bc": ("labels_b", "labels_c", "labels_settled_bc")}


def readings(batch: str, pair: str = "ab", raw_dir: Path = RAW_DIR) -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """(first, second, settled): one batch's pair of readings and the settling of their disagreements."""
    first, second, settled = (raw_dir / f"{batch}.{name}.jsonl" for name in READING_PAIRS[pair])
    return _labels_by_id(first), _labels_by_id(second), _labels_by_id(settled)


def agreement(first: dict[str, dict], second: dict[str, dict], signals: list[str]) -> dict:
    """Macro F1 of one pass against the other over the documents both labelled (symmetric:
    F1 does not care which pass is called gold), and the share of documents with identical sets."""
    shared = sorted(set(first) & set(second))
    f1s = {}
    for signal in signals:
        a = [signal in first[i]["labels"] for i in shared]
        b = [signal in second[i]["labels"] for i in shared]
        both = sum(x and y for x, y in zip(a, b))
        total = sum(a) + sum(b)
        if total:
            f1s[signal] = round(2 * both / total, 3)
    identical = sum(set(first[i]["labels"]) == set(second[i]["labels"]) for i in shared)
    return {
        "documents": len(shared),
        "macro_f1": round(sum(f1s.values()) / len(f1s), 3) if f1s else None,
        "per_signal": f1s,
        "identical_label_sets": round(identical / max(len(shared), 1), 3),
    }


def _union_evidence(text: str, *evidences: dict, signal: str) -> list[str]:
    quotes: list[str] = []
    for evidence in evidences:
        for quote in evidence.get(signal, []):
            if quote and quote in text and quote not in quotes:
                quotes.append(quote)
    return quotes


def merge(doc: dict, a: dict, b: dict, settled: dict | None) -> tuple[list[str], dict[str, list[str]]]:
    """Final labels: where the passes agree, their labels and the union of their evidence; where
    they disagree, the third reading's labels, with its evidence or the passes' evidence."""
    if settled is None:
        if set(a["labels"]) != set(b["labels"]):
            raise ValueError(f"{doc['id']}: the passes disagree and no settled reading exists")
        labels = sorted(a["labels"])
        sources = (a["evidence"], b["evidence"])
    else:
        labels = sorted(settled["labels"])
        sources = (settled.get("evidence", {}), a["evidence"], b["evidence"])
    evidence = {}
    for signal in labels:
        quotes = _union_evidence(doc["text"], *sources, signal=signal)
        if not quotes:
            raise ValueError(f"{doc['id']}: no verbatim evidence for {signal}")
        evidence[signal] = quotes
    return labels, evidence


def source_groups(docs: list[dict], cap_share: float = 0.025) -> dict[str, str]:
    """doc id -> group: documents from one source family, or about one vendor, are one group,
    so that neither a forum nor a vendor's story spans two splits. A vendor link that would make a
    group larger than `cap_share` of the corpus is not followed (every university retiring a
    tool in favour of Microsoft would otherwise become one group)."""
    parent: dict[str, str] = {}
    size: Counter = Counter()

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for doc in docs:
        size[find("family:" + doc["family"])] += 1
    vendor_docs: dict[str, list[dict]] = defaultdict(list)
    for doc in docs:
        if doc.get("vendor"):
            vendor_docs[doc["vendor"]].append(doc)
    cap = cap_share * len(docs)
    for vendor in sorted(vendor_docs, key=lambda v: (len(vendor_docs[v]), v)):
        roots = sorted({find("family:" + d["family"]) for d in vendor_docs[vendor]})
        if len(roots) < 2 or sum(size[r] for r in roots) > cap:
            continue
        for root in roots[1:]:
            parent[root] = roots[0]
            size[roots[0]] += size.pop(root)
    return {doc["id"]: find("family:" + doc["family"]) for doc in docs}


def assign_splits(docs: list[dict], placed: dict[str, str] | None = None, shares: dict[str, float] = SPLIT_SHARES) -> dict[str, str]:
    """doc id -> split.

    A family placed by an earlier build (`placed`, family -> split) never moves: the test set must
    stay unseen as the corpus grows. A new family joins the split of its group's placed families;
    the rest, within each batch (a language or kind of source) and in a fixed hashed order, go to
    whichever split is furthest below its share of documents, so every batch reaches every split
    and no group spans two."""
    placed = dict(placed or {})
    group_of = source_groups(docs)
    split_of: dict[str, str] = {}
    placed_in_group: dict[str, Counter] = defaultdict(Counter)
    for doc in docs:
        if doc["family"] in placed:
            placed_in_group[group_of[doc["id"]]][placed[doc["family"]]] += 1
    for group, splits in placed_in_group.items():
        split_of[group] = max(sorted(splits), key=lambda s: splits[s])
    by_batch: dict[str, Counter] = defaultdict(Counter)
    for doc in docs:
        by_batch[doc["id"].rsplit("-", 1)[0]][group_of[doc["id"]]] += 1
    for batch in sorted(by_batch):
        filled: Counter = Counter()
        groups = sorted(by_batch[batch], key=lambda g: hashlib.sha256(f"{batch}|{g}".encode()).hexdigest())
        for group in groups:
            if group not in split_of:  # a group already placed from another batch stays there
                total = sum(filled.values()) + by_batch[batch][group]
                split_of[group] = max(shares, key=lambda s: shares[s] * total - filled[s])
            filled[split_of[group]] += by_batch[batch][group]
    return {doc["id"]: placed.get(doc["family"], split_of[group_of[doc["id"]]]) for doc in docs}


def read_placed(path: Path) -> dict[str, str]:
    """family -> split, from a previous build's provenance.tsv."""
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {row["family"]: row["split"] for row in csv.DictReader(handle, delimiter="\t")}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "unknown"


def to_document(doc: dict, labels: list[str], evidence: dict) -> dict:
    return {
        "id": doc["id"],
        "account_id": _slug(doc["family"]),
        "account_name": doc["family"],
        "source": doc.get("source") or "note",
        "date": doc.get("date") or "",
        "author": "",
        "language": doc.get("language", ""),
        "subject": doc.get("subject", ""),
        "text": doc["text"],
        "labels": labels,
        "evidence": evidence,
        "family": doc["family"],
    }


def write_disagreements(signals: list[str], pair: str = "ab", raw_dir: Path = RAW_DIR) -> int:
    """`BATCH.disagreements.jsonl`: text and both readings of the pair, for the third reader."""
    count = 0
    for batch in batches(raw_dir):
        a, b, _ = readings(batch, pair, raw_dir)
        rows = []
        for doc in _read_jsonl(raw_dir / f"{batch}.jsonl"):
            if doc["id"] in a and doc["id"] in b and set(a[doc["id"]]["labels"]) != set(b[doc["id"]]["labels"]):
                rows.append({"id": doc["id"], "language": doc.get("language"), "subject": doc.get("subject", ""), "text": doc["text"],
                             "reading_1": a[doc["id"]], "reading_2": b[doc["id"]]})
        (raw_dir / f"{batch}.disagreements.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        count += len(rows)
    return count


def build(signals: list[str], raw_dir: Path = RAW_DIR, out_dir: Path = REAL_DIR, pair: str = "ab") -> dict:
    merged, provenance, report, seen = [], [], {}, set()
    for batch in batches(raw_dir):
        docs = _read_jsonl(raw_dir / f"{batch}.jsonl")
        a, b, settled = readings(batch, pair, raw_dir)
        report[batch] = agreement(a, b, signals) | {"settled": len(settled), "readings": pair}
        vendors = dict(zip(READING_PAIRS[pair][:2], (a, b)))["labels_b"]  # both pairs hold reading B
        for doc in docs:
            if doc["id"] not in a or doc["id"] not in b:
                continue  # not read twice: not in the corpus
            key = " ".join(doc["text"].lower().split())
            if key in seen:  # two gatherers found the same post: it counts once
                continue
            seen.add(key)
            labels, evidence = merge(doc, a[doc["id"]], b[doc["id"]], settled.get(doc["id"]))
            vendor = str(vendors.get(doc["id"], {}).get("vendor") or "").strip().lower()  # reading B names the vendor
            merged.append(to_document(doc, labels, evidence) | {"vendor": vendor, "group": batch})
            provenance.append(doc | {"vendor": merged[-1]["vendor"]})
    split_of = assign_splits(merged, read_placed(out_dir / "provenance.tsv"))
    out = split_rows(merged, split_of)
    for split, rows in out.items():
        (out_dir / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with open(out_dir / "provenance.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(PROVENANCE_FIELDS)
        for doc in provenance:
            writer.writerow([split_of[doc["id"]] if f == "split" else str(doc.get(f, "")).replace("\t", " ") for f in PROVENANCE_FIELDS])
    summary = {split: _summary(rows, signals) for split, rows in out.items()}
    return {"agreement": report, "splits": summary}


def split_rows(merged: list[dict], split_of: dict[str, str]) -> dict[str, list[dict]]:
    """split -> its rows. A training row keeps its `group` (the batch it was gathered in: training
    keeps a group in one fold, docs/formats.md); development and test rows are scored, not
    folded, so they go without it and their files (and digests) stay as they were."""
    out: dict[str, list[dict]] = {split: [] for split in SPLIT_SHARES}
    for doc in merged:
        split = split_of[doc["id"]]
        out[split].append(doc if split == "train" else {k: v for k, v in doc.items() if k != "group"})
    return out


def _summary(rows: list[dict], signals: list[str]) -> dict:
    labels = Counter(label for row in rows for label in row["labels"])
    return {
        "documents": len(rows),
        "families": len({row["family"] for row in rows}),
        "quiet": sum(not row["labels"] for row in rows),
        "languages": dict(sorted(Counter(row["language"] for row in rows).items())),
        "signals": {s: labels[s] for s in signals},
    }


def main() -> None:
    from undertow.prompts import signal_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disagreements", action="store_true", help="write BATCH.disagreements.jsonl for the third reader")
    parser.add_argument("--readings", choices=sorted(READING_PAIRS), default="ab", help="which pair of readings to build from (default: ab)")
    args = parser.parse_args()
    signals = signal_names()
    if args.disagreements:
        print(f"{write_disagreements(signals, args.readings)} documents to settle")
        return
    print(json.dumps(build(signals, pair=args.readings), indent=2))


if __name__ == "__main__":
    main()
