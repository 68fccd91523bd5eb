"""The `hybrid` backend: a cheap screen reads every document, a judge reads only the doubtful
ones. From settings, the screen is the local classifier and the judge the LLM, which confirms or
rejects the signals and supplies the evidence.

The judge is paid for doubt, not for signals: a document goes to it when the screen's expected
mistakes on it reach a cut (`DoubtRule`), whether the screen flags it or not, and a document the
screen is sure about either way keeps the screen's verdict. Each signal's possible mistake weighs
more the rarer the signal is, because macro F1 counts each signal alike.

The rule for each model lives beside it, in `screen.json`, keyed by the model's version
(`python -m undertow.eval.hybrid_screen --write` makes it for the bundled model). A model refit
from one that has an entry (feedback, `distill`) uses its base's rule, since a refit keeps the
thresholds and confidence maps its scores are read through. Older entries hold per-signal
confidence thresholds instead and are still read that way; a model with no entry, or a user who
set `llm.screen_threshold`, uses one threshold on every signal's confidence.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from undertow.documents import Document
from undertow.extractor.backends import Classifier
from undertow.extractor.llm import LLMClassifier, require_endpoint
from undertow.extractor.local_backend import LocalClassifier
from undertow.extractor.results import Classification
from undertow.extractor.sentences import EmbeddedText
from undertow.settings import Settings

log = logging.getLogger(__name__)

SCREEN_FILE = "screen.json"  # beside the model file


@dataclass(frozen=True)
class DoubtRule:
    """Send a document when the screen's expected mistakes on it reach `cut`.

    With calibrated confidence c for a signal, the screen is wrong with probability 1 - c where it
    flags the signal and c where it does not; each signal's term weighs `weights[signal]` (one over
    the square root of its base rate). A signal the rule does not know (a home's own) weighs as
    the rarest known one: better to pay for a look than to miss it."""

    weights: Mapping[str, float]
    cut: float

    def doubt(self, result: Classification) -> float:
        flagged = set(result.labels)
        unknown = max(self.weights.values(), default=1.0)
        return sum(
            self.weights.get(signal, unknown) * ((1.0 - confidence) if signal in flagged else confidence)
            for signal, confidence in result.confidence.items()
        )

    def sends(self, result: Classification) -> bool:
        return self.doubt(result) >= self.cut


class HybridClassifier(Classifier):
    name = "hybrid"

    def __init__(self, screen: Classifier, judge: Classifier, threshold: float, thresholds: Mapping[str, float] | None = None,
                 doubt: DoubtRule | None = None):
        """`doubt`: the rule that sends a document to the judge. Without it, a document goes when
        some signal's confidence reaches that signal's entry in `thresholds`, else `threshold`."""
        self.screen = screen
        self.judge = judge
        self.threshold = threshold
        self.thresholds = dict(thresholds or {})
        self.doubt = doubt
        self._screened = 0
        self._routed = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "HybridClassifier":
        from undertow.extractor.local import model_path_for

        require_endpoint(settings.llm, backend="hybrid")
        local = LocalClassifier.from_settings(settings)
        # One local classifier serves as the screen and as the judge's fallback.
        # The same judge as --backend llm (the home's signals, audit log and format memory).
        judge = LLMClassifier.from_settings(settings, fallback=local)
        # A threshold the user set is theirs: it applies to every signal, as before.
        chosen = "screen_threshold" in settings.llm.model_fields_set
        rule = None if chosen else screen_rule(local.model, model_path_for(settings), settings.llm.screen_threshold)
        return cls(
            screen=local, judge=judge, threshold=settings.llm.screen_threshold,
            thresholds=rule if isinstance(rule, dict) else None, doubt=rule if isinstance(rule, DoubtRule) else None,
        )

    @property
    def stats(self) -> dict:
        """The judge's figures plus the routing: `sent_share` is the share of documents routed to
        the judge (for the LLM, cached answers included; its `sent` counts actual requests)."""
        share = self._routed / self._screened if self._screened else 0.0
        return {**self.judge.stats, "screened": self._screened, "routed": self._routed, "sent_share": round(share, 4)}

    def summary(self) -> str:
        routing = f"{self.name}: {self._routed} of {self._screened} documents passed the {self.screen.name} screen"
        judged = self.judge.summary()
        return f"{routing}; {judged}" if judged else routing

    def passes_screen(self, result: Classification) -> bool:
        if self.doubt is not None:
            return self.doubt.sends(result)
        return any(confidence >= self.thresholds.get(signal, self.threshold) for signal, confidence in result.confidence.items())

    def classify(self, docs: list[Document], embedded: list[EmbeddedText] | None = None) -> list[Classification]:
        results = self.screen.classify(docs, embedded)
        routed = [i for i, result in enumerate(results) if self.passes_screen(result)]
        # The caller's vectors, when it has them, spare the judge's fallback embedding again.
        routed_embedded = [embedded[i] for i in routed] if embedded is not None else None
        judged = self.judge.classify([docs[i] for i in routed], routed_embedded)
        for i, result in zip(routed, judged):
            results[i] = result
        self._screened += len(docs)
        self._routed += len(routed)
        return results


# --- the screen file ---------------------------------------------------------------------------
def screen_path(model_path: Path) -> Path:
    return model_path.with_name(SCREEN_FILE)


def bundled_screen_path() -> Path:
    from undertow.extractor.local import bundled_model_path

    return screen_path(bundled_model_path())


def read_screens(path: Path) -> dict[str, dict]:
    """model version -> its screen entry; empty when the file is absent. A file that is not the
    JSON `--write` makes is named with the command that makes it again."""
    from undertow.errors import CorruptFileError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise CorruptFileError(f"{path} cannot be read ({error}); run `python -m undertow.eval.hybrid_screen --write` to make it again") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise CorruptFileError(f"{path} has no 'models' table; run `python -m undertow.eval.hybrid_screen --write` to make it again")
    return models


def screen_rule(model, model_path: Path, fallback: float) -> DoubtRule | dict[str, float] | None:
    """The screen for `model` (a LocalModel): from the screen file beside it, else the bundled
    one; for the model's version, else for the model it was refit from. A `DoubtRule`, or per-signal
    thresholds from an older entry; None, with a warning, when neither file has an entry: the
    caller then uses `fallback` for every signal."""
    wanted = [model.version] + ([model.card.refit_of] if model.card.refit_of else [])
    files = list(dict.fromkeys([screen_path(model_path), bundled_screen_path()]))
    for version in wanted:
        for path in files:
            entry = read_screens(path).get(version)
            if entry is not None:
                return _rule_of(entry, path)
    log.warning(
        "no recall-calibrated hybrid screen for model %s in %s: sending every document whose top confidence reaches %.2f "
        "(`python -m undertow.eval.hybrid_screen --write --model %s` calibrates one)", model.version, files[0], fallback, model_path,
    )
    return None


def _rule_of(entry: object, path: Path) -> DoubtRule | dict[str, float]:
    from undertow.errors import CorruptFileError

    entry = entry if isinstance(entry, dict) else {}
    try:
        if "cut" in entry:
            weights = {str(signal): float(w) for signal, w in entry["weights"].items()}
            cut = float(entry["cut"])
            if not all(math.isfinite(v) and v >= 0 for v in [cut, *weights.values()]):
                raise ValueError("negative or not finite")
            return DoubtRule(weights, cut)
        return {str(signal): float(t) for signal, t in entry["thresholds"].items()}
    except (AttributeError, KeyError, TypeError, ValueError):
        raise CorruptFileError(
            f"{path}: an entry without a numeric 'cut' and 'weights' (or 'thresholds'); "
            "run `python -m undertow.eval.hybrid_screen --write` to make it again"
        ) from None
