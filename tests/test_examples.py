"""Smoke tests: every example runs as a script with a small step count and prints its results."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"


def _run_example(name, tmp_path, *arguments, steps="4"):
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment["JAXINIT_EXAMPLE_STEPS"] = steps
    environment["MPLBACKEND"] = "Agg"
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed.stdout


def test_quickstart(tmp_path):
    output = _run_example("quickstart.py", tmp_path)
    lines = output.splitlines()
    assert lines[0].startswith("scheme: VarianceScaling(scale=1.0, mode='fan_in'")
    for line, prefix in zip(lines[1:], ["linen Dense kernel", "nnx Linear kernel"], strict=True):
        match = re.fullmatch(
            prefix + r" \(512, 256\): std (\d\.\d{4}), 1/sqrt\(fan_in\) (\d\.\d{4})", line
        )
        assert match is not None, line
        # 131072 samples of N(0, 1/512): the sample std has a relative standard
        # error of about 1/sqrt(2 * 131072) = 0.2%, so 1.5% is over 6 errors.
        assert float(match.group(1)) == pytest.approx(float(match.group(2)), rel=0.015)


@pytest.mark.slow
def test_many_seeds_optax(tmp_path):
    output = _run_example("many_seeds_optax.py", tmp_path, "--out", "spread.png", steps="60")
    assert output.startswith("64 members, 60 steps of batch 32 on digits\n")
    assert "validation accuracy: mean " in output
    assert "5th / 50th / 95th percentile: " in output
    assert (tmp_path / "spread.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_keras_port(tmp_path):
    output = _run_example("keras_port.py", tmp_path, steps="30")
    lines = output.splitlines()
    assert lines[0] == "3 epochs, 30 steps of batch 32 on diabetes"
    assert lines[1].startswith("train MSE ")
    assert lines[2].startswith("validation MSE ")


@pytest.mark.slow
def test_compare_from_python(tmp_path):
    output = _run_example("compare_from_python.py", tmp_path, "--out", "iris")
    lines = output.splitlines()
    pattern = re.compile(
        r"([123])\. (he_normal|glorot_uniform|keras:uniform): validation loss \d+\.\d{4} "
        r"\(95% CI \d+\.\d{4} to \d+\.\d{4}\), accuracy \d\.\d{3}, diverged 0/8"
    )
    matches = [pattern.fullmatch(line) for line in lines[:3]]
    assert all(matches), lines[:3]
    assert [match.group(1) for match in matches] == ["1", "2", "3"]
    assert {match.group(2) for match in matches} == {"he_normal", "glorot_uniform", "keras:uniform"}
    assert "confidence interval" in lines[3] or "only scheme" in lines[3]
    assert lines[4].startswith("files: ")
    assert sorted(path.name for path in (tmp_path / "iris").iterdir()) == [
        "curves.csv",
        "loss_curves.png",
        "results.json",
    ]
