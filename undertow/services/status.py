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
        "embedding_models": records.embed_models(),
        "classifier": str(home.model_path),
        # URLs may carry user:password@ or ?api_key=.
        "vector_store": mask_url(settings.chroma_url) or str(home.path / "chroma"),
        "record_store": mask_url(settings.sqlite_url),
        "llm": mask_url(settings.llm.base_url) or ("OpenAI" if settings.llm.api_key else "not configured (offline)"),
        "last_runs": [{k: run[k] for k in RUN_FIELDS} for run in last_runs],
    }
