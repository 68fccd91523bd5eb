"""`nightly`: the job is in undertow.nightly; this loads its config and runs it, or plans it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from undertow.services._shared import Notice, quiet


def nightly(
    config_path: Path,
    *,
    dry_run: bool = False,
    on_step: Notice = quiet,
    on_progress: Callable[[str, int, int], None] | None = None,
    on_failure: Callable[[object], None] | None = None,
    on_notice: Notice = quiet,
):
    """A Plan (`dry_run`: nothing is read or written) or the NightlyReport of the run; both have
    `as_dict()` and `exit_code`."""
    from undertow import nightly as job
    from undertow.settings import load_settings

    config = job.load_config(config_path)
    if dry_run:
        return job.plan(config, config_path)
    settings = load_settings(config.home)
    return job.run_nightly(config, config_path, settings, on_step=on_step, on_progress=on_progress, on_failure=on_failure, on_notice=on_notice)



def example_config() -> str:
    """The commented example config `--print-example-config` prints."""
    from undertow.nightly import EXAMPLE_CONFIG

    return EXAMPLE_CONFIG
