"""Building the real-text sets: agreement between readings, merging them, and splits by source group."""

from __future__ import annotations

import json

import pytest

from undertow.eval.datasets import load_documents, real_path
from undertow.eval.real_corpus import agreement, assign_splits, build, merge, source_groups, split_rows

SIGNALS = ["champion_departure", "churn_intent", "competitor_mention"]


def reading(labels, evidence=None):
    return {"labels": labels, "evidence": evidence or {}}


def test_agreement_is_symmetric_macro_f1_over_signals_either_reader_used():
    a = {"1": reading(["churn_intent"]), "2": reading([]), "3": reading(["competitor_mention"])}
    b = {"1": reading(["churn_intent", "competitor_mention"]), "2": reading([]), "3": reading(["competitor_mention"])}
    report = agreement(a, b, SIGNALS)
    assert report["per_signal"] == {"churn_intent": 1.0, "competitor_mention": 0.667}  # 2 x 1 agreed / (1 + 2)
    assert report["macro_f1"] == pytest.approx((1.0 + 2 / 3) / 2, abs=0.002)
    assert report["identical_label_sets"] == round(2 / 3, 3)
    assert agreement(b, a, SIGNALS)["macro_f1"] == report["macro_f1"]


def test_merge_takes_agreed_labels_with_the_union_of_evidence_and_the_settled_reading_otherwise():
    doc = {"id": "x-1", "text": "We will not renew. We are moving to Acme next month."}
    a = reading(["churn_intent"], {"churn_intent": ["We will not renew."]})
    b = reading(["churn_intent"], {"churn_intent": ["We will not renew", "moving to Acme next month"]})
    labels, evidence = merge(doc, a, b, None)
    assert labels == ["churn_intent"]
    assert evidence["churn_intent"] == ["We will not renew.", "We will not renew", "moving to Acme next month"]

    b2 = reading(["churn_intent", "competitor_mention"], {"churn_intent": ["We will not renew."], "competitor_mention": ["moving to Acme"]})
    with pytest.raises(ValueError, match="no settled reading"):
        merge(doc, a, b2, None)
    settled = reading(["churn_intent", "competitor_mention"], {"competitor_mention": ["We are moving to Acme next month."]})
    labels, evidence = merge(doc, a, b2, settled)
    assert labels == ["churn_intent", "competitor_mention"]
    assert evidence["competitor_mention"] == ["We are moving to Acme next month.", "moving to Acme"]


def _docs(rows):
    return [{"id": f"{batch}-{i:04d}", "family": family, "vendor": vendor} for i, (batch, family, vendor) in enumerate(rows)]


def test_a_vendor_links_families_into_one_group_unless_the_group_would_be_too_large():
    docs = _docs([("b", "gh:a/x", "heroku"), ("b", "gh:c/y", "heroku"), ("b", "site:z", "")] + [("b", f"gh:o/{i}", "") for i in range(20)])
    groups = source_groups(docs, cap_share=0.5)
    assert groups[docs[0]["id"]] == groups[docs[1]["id"]] != groups[docs[2]["id"]]
    assert len(set(source_groups(docs, cap_share=0.05).values())) == len(docs)


def test_splits_never_share_a_group_and_every_batch_reaches_every_split():
    rows = [(batch, f"{batch}-family-{i % 40}", f"vendor-{i % 7}" if i % 3 == 0 else "") for batch in ("en", "de") for i in range(400)]
    docs = _docs(rows)
    split_of = assign_splits(docs)
    groups = source_groups(docs)
    by_group: dict[str, set[str]] = {}
    for doc in docs:
        by_group.setdefault(groups[doc["id"]], set()).add(split_of[doc["id"]])
    assert all(len(splits) == 1 for splits in by_group.values())
    for batch in ("en", "de"):
        assert {split_of[d["id"]] for d in docs if d["id"].startswith(batch)} == {"train", "dev", "test"}
    assert assign_splits(docs) == split_of  # deterministic


def test_build_writes_contract_valid_splits_and_provenance(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    texts = [f"Note {i}: we will not renew the contract with supplier {i}." if i % 2 else f"Note {i}: thanks, all good." for i in range(30)]
    docs = [{"id": f"rx-{i:04d}", "family": f"site:{i}", "language": "en", "source": "note", "text": t, "url": f"https://example.org/{i}",
             "date_read": "2026-12-06", "licence": "quoted"} for i, t in enumerate(texts)]
    labels = [reading(["churn_intent"], {"churn_intent": ["we will not renew the contract"]}) if i % 2 else reading([]) for i in range(30)]
    (raw / "rx.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    for name in ("labels_a", "labels_b"):
        (raw / f"rx.{name}.jsonl").write_text("".join(json.dumps({"id": d["id"], **lab}) + "\n" for d, lab in zip(docs, labels)))
    report = build(SIGNALS, raw_dir=raw, out_dir=tmp_path)
    assert report["agreement"]["rx"]["macro_f1"] == 1.0
    assert sum(s["documents"] for s in report["splits"].values()) == 30
    for split in ("train", "dev", "test"):
        load_documents(tmp_path / f"{split}.jsonl", labelled=True)
    assert {json.loads(line)["group"] for line in (tmp_path / "train.jsonl").read_text().splitlines()} == {"rx"}
    provenance = (tmp_path / "provenance.tsv").read_text().splitlines()
    assert len(provenance) == 31 and provenance[0].startswith("id\tsplit\tfamily")


def test_readings_b_and_c_build_from_their_own_settlement_and_the_default_stays_a_and_b(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    docs = [{"id": f"ry-{i}", "family": f"site:{i}", "language": "en", "source": "note",
             "text": f"Site {i}: We will not renew the contract; we are moving to Acme next month."} for i in range(6)]
    (raw / "ry.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    churn = reading(["churn_intent"], {"churn_intent": ["We will not renew the contract"]})
    both = reading(["churn_intent", "competitor_mention"], {"churn_intent": ["We will not renew the contract"],
                                                            "competitor_mention": ["we are moving to Acme next month"]})
    # Readings A and B agree everywhere; B and C disagree on one document, which a third reader settles.
    for name, rows in (("labels_a", [churn] * 6), ("labels_b", [churn] * 6), ("labels_c", [both] + [churn] * 5)):
        (raw / f"ry.{name}.jsonl").write_text("".join(json.dumps({"id": d["id"], **r}) + "\n" for d, r in zip(docs, rows)))
    with pytest.raises(ValueError, match="ry-0: the passes disagree"):
        build(SIGNALS, raw_dir=raw, out_dir=tmp_path, pair="bc")
    (raw / "ry.labels_settled_bc.jsonl").write_text(json.dumps({"id": "ry-0", **both}) + "\n")
    rows_of = lambda: {json.loads(line)["id"]: json.loads(line)["labels"] for split in ("train", "dev", "test")
                       for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()}
    build(SIGNALS, raw_dir=raw, out_dir=tmp_path)
    assert all(labels == ["churn_intent"] for labels in rows_of().values())
    report = build(SIGNALS, raw_dir=raw, out_dir=tmp_path, pair="bc")
    assert report["agreement"]["ry"]["readings"] == "bc" and report["agreement"]["ry"]["settled"] == 1
    labels = rows_of()
    assert labels["ry-0"] == ["churn_intent", "competitor_mention"]
    assert all(labels[f"ry-{i}"] == ["churn_intent"] for i in range(1, 6))


@pytest.mark.skipif(not real_path("test").exists(), reason="the real-text corpus lives in the source repository only")
def test_the_committed_real_splits_share_no_source_group():
    families = {split: {d.account_id for d in load_documents(real_path(split), labelled=True)} for split in ("train", "dev", "test")}
    assert not families["train"] & families["test"] and not families["dev"] & families["test"] and not families["train"] & families["dev"]
    assert sum(len(load_documents(real_path(s), labelled=True)) for s in ("train", "dev", "test")) >= 2000


def test_families_placed_by_an_earlier_build_never_move_when_the_corpus_grows():
    first = _docs([("en", f"fam-{i % 30}", f"v-{i % 5}" if i % 4 == 0 else "") for i in range(300)])
    first_split = assign_splits(first)
    placed = {d["family"]: first_split[d["id"]] for d in first}
    grown = first + _docs([("zz", f"new-{i % 20}", f"v-{i % 5}" if i % 2 == 0 else "") for i in range(200)])
    for doc in grown[300:]:
        doc["id"] = "zz-" + doc["id"]
    grown_split = assign_splits(grown, placed)
    assert all(grown_split[d["id"]] == first_split[d["id"]] for d in first)
    families: dict[str, set[str]] = {}
    for doc in grown:
        families.setdefault(doc["family"], set()).add(grown_split[doc["id"]])
    assert all(len(s) == 1 for s in families.values())


def test_training_rows_keep_their_batch_as_group_and_scored_rows_go_without():
    merged = [{"id": f"rx-{i}", "text": "t", "group": "rx"} for i in range(3)]
    out = split_rows(merged, {"rx-0": "train", "rx-1": "dev", "rx-2": "test"})
    assert out["train"] == [merged[0]]
    assert out["dev"] == [{"id": "rx-1", "text": "t"}] and out["test"] == [{"id": "rx-2", "text": "t"}]
