"""A non-editable install puts exactly one top-level package, `undertow`, into site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_only_the_undertow_package(tmp_path):
    # Built from a clean copy: setuptools' build/ folder in the checkout could carry stale modules.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    # Packaging is clean: setuptools warns about nothing (deprecated fields, undeclared packages).
    assert "Warning" not in build.stderr and "!!" not in build.stderr, build.stderr
    (wheel,) = (tmp_path / "dist").glob("undertow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert "undertow" in top_level and all(n == "undertow" or n.endswith(".dist-info") for n in top_level)
    for subpackage in ("extractor", "prompts", "store", "cli", "eval", "ingest", "health", "ask", "demo", "services", "nightly", "web"):
        assert f"undertow/{subpackage}/__init__.py" in names
    for data in ("undertow/prompts/signals.yaml", "undertow/extractor/model/local.npz", "undertow/eval/data/dev.jsonl",
                 "undertow/web/templates/portfolio.html", "undertow/web/static/workspace.js"):
        assert data in names, f"{data} must ship in the wheel"
    # Real customers' texts are kept in the repository for training and evaluation, never redistributed.
    assert not [n for n in names if "/data/real/" in n or n.endswith("provenance.tsv")]

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    assert {p.name for p in target.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"} == {"undertow"}
    probe = subprocess.run(
        [sys.executable, "-c", "import undertow.cli.app, undertow.prompts as p; print(p.__file__); print(p.signal_names())"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": ""},
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(target)) and "champion_departure" in probe.stdout
