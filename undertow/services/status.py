"""`status`: what a home holds and what it uses."""

from __future__ import annotations

from undertow.settings import Settings

RUN_FIELDS = ("id", "kind", "status", "started_at", "read", "new", "updated", "skipped", "failed", "seconds")


def status(settings: Settings, runs: int = 5) -> dict:
    """Counts, models, stores and the last `runs` runs; URLs are masked, since this gets pasted into tickets."""
    from undertow.masking import mask_url
    from undertow.store.home import Home

    home = Home(settings)
    records = home.records
    counts = records.counts()
    last_runs = records.last_runs(runs)
    return {
        "home": str(home.path),
        **counts,
        # `failures` counts each file's latest failing run; this, every run's (reruns included).
        "failures_recorded": records.failures_recorded(),
        "embedding_models": records.embed_models(),
        "classifier": str(home.model_path),
        "model": model_card(settings, home.model_path),
        # URLs may carry user:password@ or ?api_key=.
        "vector_store": mask_url(settings.chroma_url) or str(home.path / "chroma"),
        "record_store": mask_url(settings.sqlite_url),
        "llm": mask_url(settings.llm.base_url) or ("OpenAI" if settings.llm.api_key else "not configured (offline)"),
        "last_runs": [{k: run[k] for k in RUN_FIELDS} for run in last_runs],
    }


def model_card(settings: Settings, path) -> dict:
    """What the model card says about the classifier in use: its version, who made it, the model
    a feedback refit started from, and the development figures (a refit's are its base's)."""
    from undertow.errors import CorruptFileError
    from undertow.extractor.feedback import refit_base
    from undertow.extractor.local import load_local_model
    from undertow.services.training import BASE_MODEL_NAME

    try:
        model = load_local_model(path)
    except (FileNotFoundError, CorruptFileError) as error:
        return {"version": None, "error": str(error)}
    card, figures_from = model.card, model.version
    figures = card.dev_figures
    if card.refit_of is not None and not figures:
        try:
            base = refit_base(model, kept=settings.user_model_path.with_name(BASE_MODEL_NAME))
            figures, figures_from = base.card.dev_figures, base.version
        except (ValueError, FileNotFoundError, CorruptFileError):
            figures_from = None
    return {
        "version": model.version,
        "created_by": card.created_by,
        "refit_of": card.refit_of,
        "dev_figures": {name: f.model_dump() for name, f in figures.items()},
        "dev_figures_of": figures_from,
    }
