"""The scoring code, pinned on cases small enough to compute by hand."""

from __future__ import annotations

import pytest

from undertow.documents import Document
from undertow.eval.metrics import Prediction, errors, evidence_hits, score

SIGNALS = ["champion_departure", "budget_pressure", "competitor_mention"]


def gold(i, text, labels, evidence=None, language="en"):
    return Document(id=f"g{i}", account_id="a", text=text, labels=labels, evidence=evidence or {}, language=language)


def test_hand_computed_multi_label_case():
    docs = [
        gold(1, "Dana leaves. Budget frozen.", ["champion_departure", "budget_pressure"],
             {"champion_departure": ["Dana leaves."], "budget_pressure": ["Budget frozen."]}),
        gold(2, "All quiet here.", []),
        gold(3, "We trial a rival tool.", ["competitor_mention"], {"competitor_mention": ["trial a rival tool"]}),
        gold(4, "Nothing to see.", [], language="de"),
    ]
    predictions = [
        Prediction(["champion_departure"], {"champion_departure": ["Budget frozen."]}),  # TP, evidence misses
        Prediction(["budget_pressure"], {"budget_pressure": ["All quiet here."]}),  # FP on a quiet doc
        Prediction(["competitor_mention"], {"competitor_mention": ["We trial a rival"]}),  # TP, evidence overlaps
        Prediction([], {}),
    ]
    report = score(docs, predictions, SIGNALS)
    # champion: tp1 -> P=1 R=1 F1=1; budget: tp0 fp1 fn1 -> 0; competitor: tp1 -> 1
    assert report["per_signal"]["champion_departure"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["per_signal"]["budget_pressure"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["macro_f1"] == pytest.approx(2 / 3, abs=1e-4)
    # micro: tp2 fp1 fn1 -> 4/6
    assert report["micro_f1"] == pytest.approx(4 / 6, abs=1e-4)
    assert report["quiet_false_alarm_rate"] == 0.5  # 1 of 2 quiet documents alarmed
    assert report["evidence_hit_rate"] == 0.5  # 1 of 2 true positives quote gold evidence
    assert report["per_language"]["de"] == {"macro_f1": 0.0, "n_docs": 1}
    assert report["per_language"]["en"]["n_docs"] == 3


def test_zero_support_signal_is_left_out_unless_it_raises_false_alarms():
    docs = [gold(1, "Dana leaves.", ["champion_departure"], {"champion_departure": ["Dana leaves."]}), gold(2, "Fine.", [])]
    perfect = [Prediction(["champion_departure"], {"champion_departure": ["Dana leaves."]}), Prediction([], {})]
    report = score(docs, perfect, SIGNALS)
    assert report["per_signal"]["competitor_mention"] == {"precision": 0.0, "recall": 0.0, "f1": None, "support": 0}
    assert report["macro_f1"] == 1.0
    noisy = [perfect[0], Prediction(["competitor_mention"], {"competitor_mention": ["Fine."]})]
    report = score(docs, noisy, SIGNALS)
    assert report["per_signal"]["competitor_mention"]["f1"] == 0.0
    assert report["macro_f1"] == 0.5
    assert report["per_language"] == {}, "one language: no per-language breakdown"


def test_empty_predictions():
    docs = [gold(1, "Dana leaves.", ["champion_departure"], {"champion_departure": ["Dana leaves."]}), gold(2, "Fine.", [])]
    report = score(docs, [Prediction([], {}), Prediction([], {})], SIGNALS)
    assert report["macro_f1"] == 0.0 and report["micro_f1"] == 0.0
    assert report["quiet_false_alarm_rate"] == 0.0 and report["evidence_hit_rate"] == 0.0
    assert report["per_signal"]["champion_departure"]["recall"] == 0.0


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="1 gold documents but 0 predictions"):
        score([gold(1, "x y", [])], [], SIGNALS)


def test_evidence_overlap_is_by_character_span():
    text = "Budget is frozen until Q3. Dana stays."
    assert evidence_hits(text, ["frozen until"], ["Budget is frozen"])
    assert not evidence_hits(text, ["Dana stays."], ["Budget is frozen"])
    assert not evidence_hits(text, ["not in the text"], ["Budget is frozen"])


def test_errors_list_false_positives_and_negatives_most_confident_first():
    docs = [gold(1, "Dana leaves.", ["champion_departure"], {"champion_departure": ["Dana leaves."]}), gold(2, "Fine.", [])]
    predictions = [Prediction([], {}), Prediction(["budget_pressure"], {"budget_pressure": ["Fine."]})]
    found = errors(docs, predictions, [{"champion_departure": 0.1}, {"budget_pressure": 0.7}], SIGNALS)
    assert [(e["kind"], e["signal"], e["id"]) for e in found] == [
        ("false_negative", "champion_departure", "g1"),
        ("false_positive", "budget_pressure", "g2"),
    ]


def test_a_signal_the_annotator_never_judged_is_neither_right_nor_wrong():
    judged_two = gold(1, "Budget frozen.", ["budget_pressure"], {"budget_pressure": ["Budget frozen."]}).model_copy(
        update={"labelled_signals": ["budget_pressure", "champion_departure"]}
    )
    quiet_judged_two = gold(2, "All fine.", []).model_copy(update={"labelled_signals": ["budget_pressure", "champion_departure"]})
    predicted = [
        Prediction(["budget_pressure", "competitor_mention"], {"budget_pressure": ["Budget frozen."], "competitor_mention": ["Budget frozen."]}),
        Prediction(["competitor_mention"], {"competitor_mention": ["All fine."]}),
    ]
    report = score([judged_two, quiet_judged_two], predicted, SIGNALS)
    assert report["per_signal"]["competitor_mention"]["f1"] is None  # no judged support, no judged false alarm
    assert report["quiet_false_alarm_rate"] == 0.0
    assert report["per_signal"]["budget_pressure"]["f1"] == 1.0
    assert errors([judged_two, quiet_judged_two], predicted, [{}, {}], SIGNALS) == []
