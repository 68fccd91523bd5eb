"""The fault suite (undertow.eval.faults): each injected fault is survived, with no document lost
or stored twice. The README's figures come from the same scenarios (`python -m undertow.eval.faults`)."""

from __future__ import annotations

import pytest
from undertow.eval.faults import FAULTS, FaultOutcome, run_fault, summary_line

pytestmark = pytest.mark.slow  # about a minute and a half in all: real runs, child processes, kill -9


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_is_survived_without_losing_or_doubling_a_document(name, tmp_path):
    outcome = run_fault(name, tmp_path / "fault")
    assert outcome.survived, outcome.detail
    assert (outcome.lost, outcome.duplicated) == (0, 0), outcome.detail


def test_the_summary_line_adds_up_what_the_readme_quotes():
    outcomes = [FaultOutcome("a", True, 0, 0, ""), FaultOutcome("b", False, 2, 1, "lost two")]
    assert summary_line(outcomes) == "2 faults injected, 1 survived, documents lost 2, duplicated 1"
