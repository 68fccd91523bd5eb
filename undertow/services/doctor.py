"""`doctor`: check that a home can be read back, and rebuild its vector index when asked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from undertow.settings import Settings


@dataclass
class DoctorResult:
    diagnosis: object  # undertow.store.doctor.Diagnosis
    rebuilt: object | None = None  # undertow.store.doctor.Rebuild, when the vectors were rebuilt
    # Asked to rebuild, but the vectors come from the record store, which must be repaired first.
    rebuild_refused: bool = False

    @property
    def ok(self) -> bool:
        return self.diagnosis.ok


def doctor(settings: Settings, *, rebuild_vectors: bool = False, on_progress: Callable[[int, int], None] | None = None) -> DoctorResult:
    from undertow.store.doctor import diagnose
    from undertow.store.doctor import rebuild_vectors as rebuild

    diagnosis = diagnose(settings)
    if not rebuild_vectors:
        return DoctorResult(diagnosis)
    if not diagnosis.records_readable:
        return DoctorResult(diagnosis, rebuild_refused=True)
    rebuilt = rebuild(settings, on_progress=on_progress)
    return DoctorResult(diagnose(settings), rebuilt)
