"""`make model`: the classifier that ships in the package, made from the standard training and
development sets (`eval/data` and `eval/data/real`) with the default `TrainingConfig`.

    python -m undertow.extractor.make_model extractor/model/local.npz [--config settings.json]

Each training line's `group` field is its fold group (the batch of writing it came from). The
same checkout gives the same bytes on every run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from undertow.extractor.card import TrainingConfig


def main(argv: list[str] | None = None) -> int:
    from undertow.eval.datasets import real_path, standard_sets
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.training import load_labelled_set, train_model
    from undertow.prompts import signal_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the model")
    parser.add_argument("--config", type=Path, help="a JSON object of TrainingConfig settings that differ from the defaults")
    args = parser.parse_args(argv)
    if not real_path("train").exists():
        print("error: the bundled model is trained on the real-text sets too; run this from a source checkout", file=sys.stderr)
        return 2
    config = TrainingConfig.model_validate_json(args.config.read_text(encoding="utf-8")) if args.config else TrainingConfig()
    train_sets = [load_labelled_set(path) for path in standard_sets("train")]
    dev_sets = [load_labelled_set(path) for path in standard_sets("dev")]
    print(f"training on {sum(len(s.examples) for s in train_sets)} documents ...", file=sys.stderr)
    model, report = train_model(train_sets, dev_sets, signal_names(), local_embedder(), config=config, created_by="make model")
    model.save(args.out)
    figures = {name: f.model_dump() for name, f in model.card.dev_figures.items()}
    print(json.dumps({"version": report.version, "seconds": report.seconds, "thresholds": report.thresholds, "dev": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
