"""``s4 synth`` end to end: a bag on good input, exit 2 and nothing written on bad input."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import s4_core.cli.main as cli_main

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Runs the real ``s4`` entry point, leaving out subcommand modules other helpers have not
#: written yet (the synth command does not depend on them).
RUN_S4 = (
    "import importlib.util, sys; import s4_core.cli.main as m; "
    "m.SUBCOMMAND_MODULES = tuple(n for n in m.SUBCOMMAND_MODULES if importlib.util.find_spec(n)); "
    "sys.exit(m.main(sys.argv[1:]))"
)


def _run_s4(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-c", RUN_S4, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def available_subcommands(monkeypatch):
    modules = tuple(n for n in cli_main.SUBCOMMAND_MODULES if importlib.util.find_spec(n))
    monkeypatch.setattr(cli_main, "SUBCOMMAND_MODULES", modules)


def test_synth_writes_a_bag_and_ground_truth_and_prints_a_summary(tmp_path):
    out = tmp_path / "scene"
    result = _run_s4(
        "synth", str(out), "--cameras", "2", "--duration", "0.4", "--seed", "3", "--size", "32x24",
        "--offsets", "0,1.25", "--fps", "30,25", "--drift-ppm", "20", "--storage", "sqlite3", "--no-depth",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "cam1: 25 fps, offset +1.250000 s, drift +20.00 ppm" in result.stdout
    truth = json.loads((tmp_path / "scene.gt.json").read_text())
    assert truth["cameras"]["cam1"]["offset_s"] == 1.25 and truth["cameras"]["cam1"]["drift_ppm"] == 20.0
    assert truth["cameras"]["cam0"]["drift_ppm"] == 0.0  # a single drift value leaves the reference alone
    assert truth["config"]["with_depth"] is False and truth["storage"] == "sqlite3"
    metadata = (out / "metadata.yaml").read_text()
    assert "/depth/image_raw" not in metadata and "/cam1/image_raw" in metadata


def test_bad_input_in_a_real_process_is_one_line_without_traceback(tmp_path):
    result = _run_s4("synth", str(tmp_path / "scene"), "--cameras", "2", "--offsets", "0,1,2")
    assert result.returncode == 2
    assert result.stderr.strip() == "s4 synth: error: --offsets has 3 values for 2 cameras"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cameras", "0"], "--cameras must be at least 1"),
        (["--cameras", "-2"], "--cameras must be at least 1"),
        (["--duration", "0"], "duration must be positive"),
        (["--duration", "-3"], "duration must be positive"),
        (["--size", "320"], "--size must look like 320x240"),
        (["--size", "0x240"], "image size must be at least 8x8"),
        (["--drop-rate", "1.0"], "drop rate must be in [0, 1)"),
        (["--drop-rate", "-0.1"], "drop rate must be in [0, 1)"),
        (["--cameras", "3", "--fps", "30,25"], "--fps has 2 values for 3 cameras"),
        (["--cameras", "2", "--drift-ppm", "3,4"], "--drift-ppm: the first value is cam0"),
        (["--offsets", "x"], "--offsets must be comma-separated numbers"),
        (["--storage", "zip"], "--storage must be one of mcap, sqlite3"),
    ],
)
def test_bad_arguments_exit_2_with_the_problem_named(args, message, tmp_path, capsys, available_subcommands):
    code = cli_main.main(["synth", str(tmp_path / "scene"), "--duration", "0.2", "--size", "16x12", *args])
    stderr = capsys.readouterr().err.strip()
    assert code == 2
    assert stderr.startswith("s4 synth: error: ") and message in stderr and "\n" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("problem", ["exists", "ground truth exists", "parent missing", "parent is a file"])
def test_unusable_destinations_exit_2_and_touch_nothing(problem, tmp_path, capsys, available_subcommands):
    out = tmp_path / "scene"
    if problem == "exists":
        out.mkdir()
    elif problem == "ground truth exists":
        (tmp_path / "scene.gt.json").write_text("{}")
    elif problem == "parent missing":
        out = tmp_path / "missing" / "scene"
    else:
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "scene"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = cli_main.main(["synth", str(out), "--duration", "0.2", "--size", "16x12"])
    stderr = capsys.readouterr().err.strip()
    assert code == 2 and stderr.startswith("s4 synth: error: ") and "\n" not in stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
