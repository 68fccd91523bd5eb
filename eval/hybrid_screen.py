"""The hybrid backend's screen, calibrated on development data, and measured as the product runs it.

    python -m undertow.eval.hybrid_screen [--budget 0.4] [--model PATH] [--write] [--json]

The rule (extractor.hybrid.DoubtRule): a document goes to the LLM when the local verdict's
expected mistakes on it reach a cut. Per signal, the chance the verdict is wrong is 1 - c where the
model flags the signal and c where it does not (c its calibrated confidence), weighed by one over
the square root of the signal's base rate, since each of a rare signal's few positives weighs as
much in macro F1 as many of a common one. The cut is set so that at most `--budget` of the
real-text development documents are sent (the synthetic set is two-thirds signals, unlike any
customer's traffic, so it is reported, not budgeted). `--write` stores the rule beside the model
(extractor/model/screen.json for the bundled one), keyed by its version.

The measurement runs the real classes through a loopback OpenAI-protocol server that answers each
document with its gold labels (`LabelledAnswerServer`, a stand-in for a strong LLM): macro F1 of
`llm`, of `hybrid` with this rule and with the earlier ones (one threshold on the top confidence;
per-signal thresholds on confidence over base rate) at the same budget, and of `local`; the share
each sends; and the least share that would reach the llm's figure less 0.03, with this rule and
with a screen that knew the local model's mistakes (what any screen over it could hope for). Development
sets only: the test sets are never read.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from undertow.documents import Document
from undertow.eval.datasets import bundled_path, load_documents, real_path
from undertow.eval.metrics import Prediction, score
from undertow.extractor.hybrid import DoubtRule, HybridClassifier, screen_path
from undertow.extractor.local import LocalModel, bundled_model_path, load_local_model
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.llm_prompt import unescape_delimiters
from undertow.extractor.sentences import EmbeddedText, embed_texts

OLD_THRESHOLD = 0.4  # llm.screen_threshold's default: the screen every model had before this one
TARGET_LOSS = 0.03  # "hybrid earns its name": within this much macro F1 of the llm backend ...
DEFAULT_BUDGET = 0.4  # ... sending at most this share of the documents
ANSWER_MODEL = "labelled-answers"
DOUBT_ROW = "hybrid, doubt screen (shipped)"


# --- a judge that answers from labels ------------------------------------------------------------
class LabelledAnswerServer:
    """A chat-completions server on 127.0.0.1 that answers each extraction request with the labels
    and evidence of the labelled document whose text the request carries (all signals absent for
    a text it does not know, counted in `unknown`). Speaks json_schema, tool calls and JSON mode,
    so the real client negotiates with it as with any endpoint."""

    def __init__(self, docs: list[Document], port: int = 0):
        self._docs: dict[str, Document] = {}
        for doc in docs:
            self._docs.setdefault(_text_key(doc.text), doc)
        self.requests = 0
        self.unknown = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def __enter__(self) -> "LabelledAnswerServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def completion(self, body: dict) -> dict:
        messages = body.get("messages", [])
        user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        start, end = user.find("<text>"), user.rfind("</text>")
        doc = self._docs.get(_text_key(user[start + len("<text>") : end])) if 0 <= start < end else None
        with self._lock:
            self.requests += 1
            self.unknown += doc is None
        labels, evidence = (set(doc.labels or []), doc.evidence or {}) if doc else (set(), {})
        verdicts = {
            signal: {"evidence": evidence.get(signal, [])[:2] if signal in labels else [], "rationale": "as labelled",
                     "present": signal in labels, "confidence": 0.95 if signal in labels else 0.9}
            for signal in _requested_signals(body)
        }
        content = json.dumps(verdicts, ensure_ascii=False)
        message: dict = {"role": "assistant", "content": content}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            call = {"id": "call_0", "type": "function", "function": {"name": name, "arguments": content}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        prompt_tokens = max(1, math.ceil(len(json.dumps(messages, ensure_ascii=False)) / 4))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": max(1, math.ceil(len(content) / 4))}
        return {
            "id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", ANSWER_MODEL),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if body.get("tools") else "stop", "logprobs": None}],
            "usage": {**usage, "total_tokens": sum(usage.values())},
        }


def _text_key(text: str) -> str:
    # The prompt escapes our delimiter tags and frames the text with newlines: compare the words.
    return " ".join(unescape_delimiters(text).split())


def _requested_signals(body: dict) -> list[str]:
    """The signal names of the answer schema, wherever the client put it."""
    if body.get("tools"):
        return list(body["tools"][0]["function"]["parameters"]["properties"])
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return list(response_format["json_schema"]["schema"]["properties"])
    system = next((m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "system"), "")
    marker = "matches this JSON schema:\n"
    schema = json.JSONDecoder().raw_decode(system[system.index(marker) + len(marker) :])[0] if marker in system else {}
    return list(schema.get("properties", {}))


def _handler(server: LabelledAnswerServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            status, payload = (200, server.completion(body)) if self.path.rstrip("/") == "/v1/chat/completions" else (404, {"error": {"message": "not found"}})
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    return Handler


# --- choosing the thresholds ---------------------------------------------------------------------
@dataclass
class ScreenScores:
    """One labelled set as the screen sees it: documents x signals."""

    signals: list[str]
    confidence: np.ndarray  # the local model's calibrated confidence
    present: np.ndarray  # the gold labels
    judged: np.ndarray  # whether the annotator judged the signal
    flagged: np.ndarray | None = None  # the local verdict; None: confidence >= 0.5

    @classmethod
    def of(cls, model: LocalModel, docs: list[Document], embedded: list[EmbeddedText]) -> "ScreenScores":
        results = model.classify_many([d.id for d in docs], embedded)
        shape = (len(docs), len(model.signals))
        return cls(
            list(model.signals),
            np.array([[r.confidence[s] for s in model.signals] for r in results]).reshape(shape),
            np.array([[s in (d.labels or []) for s in model.signals] for d in docs], dtype=bool).reshape(shape),
            np.array([[d.judges(s) for s in model.signals] for d in docs], dtype=bool).reshape(shape),
            np.array([[s in r.labels for s in model.signals] for r in results], dtype=bool).reshape(shape),
        )

    def doubt(self, weights: np.ndarray) -> np.ndarray:
        """Per document, the local verdict's expected mistakes weighed per signal (DoubtRule.doubt)."""
        flagged = self.flagged if self.flagged is not None else self.confidence >= 0.5
        return np.where(flagged, 1.0 - self.confidence, self.confidence) @ weights

    def base_rates(self) -> np.ndarray:
        """Per signal, its share of the documents judged for it; at least one positive's worth, so
        a signal the set never shows gets a high threshold rather than a zero one."""
        judged = np.maximum(self.judged.sum(axis=0), 1)
        return np.maximum((self.present & self.judged).sum(axis=0), 1) / judged

    def sent(self, thresholds: np.ndarray) -> np.ndarray:
        return (self.confidence >= thresholds).any(axis=1)

    def figures(self, sent: np.ndarray) -> dict:
        """The share sent (`sent`: per document), and per signal the share of its positives that reach the judge."""
        positives = self.present & self.judged
        caught = {s: round(float((sent & positives[:, k]).sum() / positives[:, k].sum()), 4) for k, s in enumerate(self.signals) if positives[:, k].any()}
        return {"documents": len(sent), "sent_share": round(float(sent.mean()), 4), "recall_sent": caught}


def doubt_weights(scores: ScreenScores) -> np.ndarray:
    """One over the square root of each signal's base rate: a rare signal's mistake costs more macro
    F1, but not so much more that one rare signal's faint doubt outweighs a common one's real one."""
    return 1.0 / np.sqrt(scores.base_rates())


def choose_cut(scores: ScreenScores, weights: np.ndarray, budget: float) -> float:
    """The least cut that sends at most `budget` of `scores`' documents."""
    return _just_above(_cut(scores.doubt(weights), budget))


def choose_thresholds(scores: ScreenScores, budget: float) -> tuple[float, dict[str, float]]:
    """(tau, signal -> threshold): the smallest tau that sends at most `budget` of `scores`' documents."""
    rates = scores.base_rates()
    # A document is sent for every tau up to its priority: its highest confidence over base rate.
    tau = _cut((scores.confidence / rates).max(axis=1), budget)
    return tau, {s: _just_above(tau * float(rate)) for s, rate in zip(scores.signals, rates)}


def single_threshold(scores: ScreenScores, budget: float) -> float:
    """The old rule (one threshold on the top confidence) at the same budget, to compare."""
    return _just_above(_cut(scores.confidence.max(axis=1), budget))


def _cut(priority: np.ndarray, budget: float) -> float:
    """The priority of the first document over budget: it, and every one tied with it, stays."""
    ordered = np.sort(priority)[::-1]
    allowed = int(math.floor(budget * len(ordered) + 1e-9))
    return float(ordered[allowed]) if allowed < len(ordered) else -1.0


def _just_above(value: float) -> float:
    """Confidences have four decimals: the next such value strictly above `value`."""
    return max(0.0, round((math.floor(value * 1e4 + 1e-6) + 1) / 1e4, 4))


def screen_entry(model: LocalModel, sets: dict[str, ScreenScores], budget: float) -> dict:
    """The screen file's entry for `model`: the rule's weights and cut chosen on the real-text set
    (the synthetic one where the real one is missing), and what it does on every set."""
    budgeted = "real-dev" if "real-dev" in sets else next(iter(sets))
    weights = doubt_weights(sets[budgeted])
    cut = choose_cut(sets[budgeted], weights, budget)
    return {
        "rule": "send when the expected mistakes of the local verdict, each signal weighed by 1/sqrt(its base rate), reach cut",
        "weights": {s: round(float(w), 4) for s, w in zip(model.signals, weights)},
        "cut": cut,
        "base_rates": {s: round(float(r), 4) for s, r in zip(model.signals, sets[budgeted].base_rates())},
        "budget": budget,
        "budgeted_on": budgeted,
        "development": {name: scores.figures(scores.doubt(weights) >= cut) for name, scores in sets.items()},
        "made_by": "python -m undertow.eval.hybrid_screen --write",
    }


def rule_of(entry: dict) -> DoubtRule:
    return DoubtRule(entry["weights"], entry["cut"])


def write_entry(model_path: Path, version: str, entry: dict) -> Path:
    """The screen file beside the model, holding that model's entry only (a retrained model makes
    a new one), as readable as the model: the bundled one ships, a home's stays private."""
    from undertow.atomic import atomic_write_text

    path = screen_path(model_path)
    document = {"about": "hybrid screen thresholds per local model version; regenerate with `python -m undertow.eval.hybrid_screen --write`",
                "models": {version: entry}}
    atomic_write_text(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    path.chmod(model_path.stat().st_mode & 0o777)
    return path


# --- measuring through the server ----------------------------------------------------------------
class _Embedded(LocalClassifier):
    """The local classifier reading vectors computed once per set, for the several runs."""

    def __init__(self, model: LocalModel, embedded: dict[str, EmbeddedText]):
        super().__init__(model)
        self._embedded = embedded

    def classify(self, docs, embedded=None):
        return super().classify(docs, embedded if embedded is not None else [self._embedded[d.id] for d in docs])


def measure(model: LocalModel, sets: dict[str, list[Document]], embedded: dict[str, list[EmbeddedText]], entry: dict, single: float,
            previous: dict[str, float] | None = None) -> dict:
    """Per set: macro F1 and share sent of llm, hybrid (the old screen; one threshold, `single`, at
    the same budget; the earlier per-signal thresholds, `previous`, at the same budget; the doubt
    rule of `entry`) and local, all answered by the labelled server."""
    from undertow.extractor.llm_cache import AnswerCache
    from undertow.settings import LLMSettings

    out: dict = {}
    with LabelledAnswerServer([d for docs in sets.values() for d in docs]) as server, tempfile.TemporaryDirectory(prefix="undertow-screen-") as folder:
        llm = LLMSettings(base_url=server.url, api_key="not-needed", model=ANSWER_MODEL, max_concurrency=8, run_deadline_s=None)
        cache = AnswerCache(Path(folder) / "answers.sqlite")  # the llm run pays; the hybrid runs reuse its answers
        for name, docs in sets.items():
            out[name] = _measure_set(model, docs, embedded[name], llm, cache, entry, single, previous)
        out["server"] = {"requests": server.requests, "unknown_texts": server.unknown}
    return out


def _measure_set(model: LocalModel, docs: list[Document], embedded: list[EmbeddedText], llm, cache, entry: dict, single: float,
                 previous: dict[str, float] | None) -> dict:
    from undertow.eval.runner import evaluate
    from undertow.extractor.llm import LLMClassifier

    local = _Embedded(model, {d.id: e for d, e in zip(docs, embedded)})

    def judge() -> LLMClassifier:  # one per run: its figures are that run's
        return LLMClassifier(llm, cache, fallback=local)

    runs = {
        "llm": judge(),
        f"hybrid, old screen: top confidence >= {OLD_THRESHOLD}": HybridClassifier(local, judge(), OLD_THRESHOLD),
        f"hybrid, top confidence >= {single:.4f} (same budget)": HybridClassifier(local, judge(), single),
        **({"hybrid, per-signal thresholds (same budget)": HybridClassifier(local, judge(), OLD_THRESHOLD, previous)} if previous else {}),
        DOUBT_ROW: HybridClassifier(local, judge(), OLD_THRESHOLD, doubt=rule_of(entry)),
        "local": local,
    }
    rows, results = {}, {}
    for label, classifier in runs.items():
        report, _, results[label] = evaluate(classifier, docs, model.signals)
        share = classifier.stats["sent_share"] if isinstance(classifier, HybridClassifier) else float(label == "llm")
        rows[label] = {"sent_share": share, "macro_f1": report["macro_f1"]}
    for row in rows.values():
        row["vs_llm"] = round(row["macro_f1"] - rows["llm"]["macro_f1"], 4)
    scores = ScreenScores.of(model, docs, embedded)
    floor = rows["llm"]["macro_f1"] - TARGET_LOSS
    weights = np.array([entry["weights"][s] for s in model.signals])
    # A screen that knew which signals the local model gets wrong, sending those documents, the
    # costliest mistakes first: what any screen over this local model could hope for.
    wrong = np.array([[(s in a.labels) != (s in b.labels) for s in model.signals] for a, b in zip(results["local"], results["llm"])])
    return {
        "documents": len(docs),
        "rows": rows,
        "share_needed": share_needed(scores.doubt(weights), docs, results["llm"], results["local"], model.signals, floor),
        "share_needed_knowing_mistakes": share_needed(wrong @ weights, docs, results["llm"], results["local"], model.signals, floor),
        "local_wrong_share": round(float(wrong.any(axis=1).mean()), 4),
    }


def share_needed(priority: np.ndarray, docs: list[Document], llm_results, local_results, signals: list[str], floor: float) -> float | None:
    """The least share that sending documents in `priority` order (highest first) must reach, in
    steps of 1%, for `floor` macro F1 on `docs`."""
    order = np.argsort(-priority, kind="stable")
    for percent in range(0, 101):
        sent = set(order[: int(round(percent / 100 * len(docs)))].tolist())
        predictions = [Prediction((llm_results if i in sent else local_results)[i].labels, {}) for i in range(len(docs))]
        if score(docs, predictions, signals)["macro_f1"] >= floor:
            return percent / 100
    return None


# --- the command ----------------------------------------------------------------------------------
def development_sets() -> dict[str, list[Document]]:
    sets = {"real-dev": real_path("dev"), "dev": bundled_path("dev")}
    return {name: load_documents(path, labelled=True) for name, path in sets.items() if path.exists()}


def run(budget: float = DEFAULT_BUDGET, model_path: Path | None = None, write: bool = False) -> dict:
    from undertow.extractor.embedding import local_embedder

    model_path = model_path or bundled_model_path()
    model = load_local_model(model_path)
    sets = development_sets()
    embedded = {name: embed_texts([d.text for d in docs], local_embedder()) for name, docs in sets.items()}
    scores = {name: ScreenScores.of(model, docs, embedded[name]) for name, docs in sets.items()}
    entry = screen_entry(model, scores, budget)
    target = write_entry(model_path, model.version, entry) if write else screen_path(model_path)
    budgeted = scores[entry["budgeted_on"]]
    _, previous = choose_thresholds(budgeted, budget)
    measured = measure(model, sets, embedded, entry, single_threshold(budgeted, budget), previous)
    return {"model": model.version, "screen_file": str(target), "written": write, "entry": entry, "measured": measured}


def render(result: dict) -> str:
    entry, lines = result["entry"], []
    lines.append(f"hybrid screen for model {result['model']}; the judge is a loopback server answering each document with its gold labels")
    lines.append(f"doubt rule: cut {entry['cut']} (budget {entry['budget']:.0%} sent on {entry['budgeted_on']}); per signal, weight and share of positives sent:")
    for signal, weight in entry["weights"].items():
        recalls = "  ".join(f"{name} {figures['recall_sent'].get(signal, float('nan')):.2f}" for name, figures in entry["development"].items())
        lines.append(f"  {signal:24s} {weight:7.4f}   positives sent: {recalls}")
    lines.append(f"{'set':9s} {'backend / screen':46s} {'sent':>6s} {'macro F1':>9s} {'vs llm':>8s}")
    for name, measured in result["measured"].items():
        if name == "server":
            continue
        for label, row in measured["rows"].items():
            lines.append(f"{name:9s} {label:46s} {row['sent_share']:6.1%} {row['macro_f1']:9.4f} {row['vs_llm']:+8.4f}")
        reach = {key: f"{measured[key]:.0%} sent" if measured[key] is not None else "not reachable" for key in ("share_needed", "share_needed_knowing_mistakes")}
        lines.append(f"{name:9s} within {TARGET_LOSS} of llm needs {reach['share_needed']} with this rule, {reach['share_needed_knowing_mistakes']} "
                     f"with a screen that knew the local model's mistakes (it is wrong on {measured['local_wrong_share']:.0%} of the documents)")
    real = result["measured"].get("real-dev") or next(v for k, v in result["measured"].items() if k != "server")
    new = real["rows"][DOUBT_ROW]
    met = new["vs_llm"] >= -TARGET_LOSS and new["sent_share"] <= entry["budget"] + 1e-9
    lines.append(f"target (within {TARGET_LOSS} macro F1 of llm, <= {entry['budget']:.0%} sent): {'met' if met else 'not met'} "
                 f"({new['vs_llm']:+.4f} at {new['sent_share']:.1%} sent)")
    lines.append(f"{'written to' if result['written'] else 'not written (pass --write):'} {result['screen_file']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="the most share of the real dev documents sent to the LLM")
    parser.add_argument("--model", type=Path, default=None, help="the model to calibrate (default: the bundled one); the file goes beside it")
    parser.add_argument("--write", action="store_true", help="write the thresholds to screen.json beside the model")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    if not 0 < args.budget <= 1:
        parser.error(f"--budget {args.budget} is not a share between 0 and 1")
    result = run(args.budget, args.model, args.write)
    print(json.dumps(result, indent=1) if args.json else render(result))


if __name__ == "__main__":
    main()
