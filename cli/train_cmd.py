"""`undertow train`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from undertow.cli.common import HomeOption, JsonOption, err_console, print_json, settings_for, user_errors


def train(
    data: Annotated[list[Path], typer.Option("--data", help="Extra labelled JSONL to train on (repeatable).")] = [],
    dev: Annotated[
        list[Path], typer.Option(help="Development set that calibrates thresholds (repeatable; default: the synthetic one and, in a source checkout, the real one).")
    ] = [],
    out: Annotated[Path | None, typer.Option(help="Where to write the model (default: HOME/models/local.npz).")] = None,
    no_bundled: Annotated[bool, typer.Option("--no-bundled", help="Train only on --data, not on the standard training sets.")] = False,
    no_feedback: Annotated[bool, typer.Option("--no-feedback", help="Ignore CSM feedback stored in the home folder.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the offline classifier on the bundled set, your own labelled data and CSM feedback."""
    from undertow.eval.datasets import load_documents, real_path, standard_sets
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.feedback import feedback_examples
    from undertow.extractor.local import model_path_for
    from undertow.extractor.training import train_model
    from undertow.prompts import signal_names
    from undertow.store.records import RecordStore

    settings = settings_for(home)
    with user_errors():
        signals = signal_names(settings.signals_file)
        train_paths = ([] if no_bundled else standard_sets("train")) + list(data)
        if not no_bundled and not real_path("train").exists():
            err_console.print("note: the real-text training set is not here (it lives in the source repository); the model will read real text less well than the bundled one")
        train_docs = [doc for path in train_paths for doc in load_documents(path, labelled=True)]
        dev_docs = [doc for path in (dev or standard_sets("dev")) for doc in load_documents(path, labelled=True)]
        unknown = sorted({label for doc in train_docs for label in doc.labels or []} - set(signals))
        if unknown:
            raise ValueError(f"labels {unknown} are not defined in signals.yaml; add them to {settings.resolved_home / 'signals.yaml'}")
        embedder = local_embedder()
        examples = [] if no_feedback else feedback_examples(RecordStore(settings.sqlite_url), embedder, model_path_for(settings))
        err_console.print(f"training on {len(train_docs)} documents + {len(examples)} from feedback, {len(signals)} signals ...")
        model, report = train_model(train_docs, dev_docs, signals, embedder, feedback_examples=examples)
        target = out or settings.user_model_path
        model.save(target)
    if as_json:
        print_json({**report.__dict__, "path": str(target)})
    else:
        err_console.print(f"model {report.version} -> {target} ({report.seconds}s); thresholds {report.thresholds}")
