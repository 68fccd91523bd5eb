"""A model is written whole or not at all, and a damaged one is a one-line error with its fix."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import doc, write_jsonl
from undertow.atomic import atomic_write_text
from undertow.cli.app import app
from undertow.errors import CorruptFileError
from undertow.extractor.local import LocalModel, bundled_model_path, load_local_model, model_path_for


def test_a_truncated_model_is_one_line_with_the_fix_and_exit_2(tmp_path, settings):
    settings.user_model_path.parent.mkdir(parents=True)
    settings.user_model_path.write_bytes(bundled_model_path().read_bytes()[:5000])  # what a killed `train` used to leave

    with pytest.raises(CorruptFileError, match=r"local\.npz is damaged \(BadZipFile"):
        load_local_model(model_path_for(settings))

    result = CliRunner().invoke(app, ["classify", str(write_jsonl(tmp_path / "a.jsonl", [doc(1)]))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.stdout == ""
    message = result.stderr.replace("\n", " ")
    assert message.startswith(f"error: model file {settings.user_model_path} is damaged")
    assert "delete it to fall back to the bundled model, or run `undertow train` again" in message


def test_a_crash_in_the_middle_of_saving_leaves_the_previous_model(tmp_path, monkeypatch):
    target = tmp_path / "models" / "local.npz"
    model = LocalModel.load(bundled_model_path())
    model.save(target)
    before = target.read_bytes()

    def dies_half_way(file, *args, **kwargs):
        file.write(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", dies_half_way)
    with pytest.raises(OSError, match="No space left"):
        model.save(target)

    assert target.read_bytes() == before
    assert LocalModel.load(target).version == model.version
    assert [p.name for p in target.parent.iterdir()] == ["local.npz"], "the half-written temp file is cleaned up"


def test_a_new_file_is_owner_only_and_a_replaced_one_keeps_its_mode(tmp_path):
    fresh = tmp_path / "fresh.txt"
    atomic_write_text(fresh, "one")
    assert fresh.read_text() == "one" and fresh.stat().st_mode & 0o777 == 0o600

    shared = tmp_path / "shared.csv"
    shared.write_text("old")
    shared.chmod(0o644)
    atomic_write_text(shared, "new")
    assert shared.read_text() == "new" and shared.stat().st_mode & 0o777 == 0o644
