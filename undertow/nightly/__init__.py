"""The nightly job from one config file: ingest every source, score the accounts, write the outputs.

`undertow nightly --config FILE` is the command cron or a systemd timer runs; this module holds
the config model and the run itself, so the command only parses options and renders.

A source that cannot be read (a missing folder, an unreadable file, a bad line) is reported and
the rest goes on, as `undertow ingest` does; a mistake in the config file, the accounts export or
the scorecard stops the run before anything is written, because a night's output built on a
wrong setting is worse than none.
"""

from undertow.nightly.config import (
    NightlyConfig,
    describe_validation_error,
    load_config,
)
from undertow.nightly.example import EXAMPLE_CONFIG
from undertow.nightly.plan import Plan, plan
from undertow.nightly.run import (
    NightlyReport,
    one_nightly_at_a_time,
    run_nightly,
    write_summary,
)

__all__ = [
    "EXAMPLE_CONFIG", "NightlyConfig", "NightlyReport", "Plan", "describe_validation_error", "load_config",
    "one_nightly_at_a_time", "plan", "run_nightly", "write_summary",
]
