"""Tests for the jaxinit command: list, compare end to end, and every kind of invalid input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxinit.cli import main, split_schemes
from jaxinit.registry import list_schemes

REPOSITORY = Path(__file__).resolve().parents[1]

SMALL_RUN = ["--hidden", "16", "--seeds", "2", "--steps", "6", "--eval-every", "3"]


def _environment():
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY), *filter(None, [environment.get("PYTHONPATH")])]
    )
    return environment


# split_schemes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("he_normal", ["he_normal"]),
        ("he_normal, zeros ,keras:uniform", ["he_normal", "zeros", "keras:uniform"]),
        (
            'zeros,{"name": "variance_scaling", "scale": 2.0, "mode": "fan_in"},he_normal',
            ["zeros", '{"name": "variance_scaling", "scale": 2.0, "mode": "fan_in"}', "he_normal"],
        ),
        ('{"name": "x", "axes": [1, 2]}', ['{"name": "x", "axes": [1, 2]}']),
        ('{"name": "a,}b"},zeros', ['{"name": "a,}b"}', "zeros"]),
        ('{"name": "a\\"b,c"}', ['{"name": "a\\"b,c"}']),
        ("zeros,,", ["zeros"]),
    ],
)
def test_split_schemes(text, expected):
    assert split_schemes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "normal"', "has an unclosed JSON object or string."),
        ('{"name": "normal}', "has an unclosed JSON object or string."),
        ("zeros}", "has an unmatched '}'."),
    ],
)
def test_split_schemes_rejects(text, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        split_schemes(text)


# list


def test_list_prints_every_scheme(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [name for name, _ in list_schemes()]
    assert [line.split()[0] for line in lines] == names
    keras = next(line for line in lines if line.startswith("keras:uniform "))
    assert keras.split(maxsplit=1)[1] == dict(list_schemes())["keras:uniform"]


def test_list_datasets(capsys):
    assert main(["list", "--datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "diabetes",
    ]


def test_help_exits_zero(capsys):
    assert main(["compare", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--batch-size BATCH_SIZE" in text
    assert "training rows per minibatch" in text


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: jaxinit" in capsys.readouterr().err


# compare end to end


def test_compare_digits_through_main(tmp_path, capsys):
    out_dir = tmp_path / "out"
    scheme = (
        '{"name": "variance_scaling", "scale": 2.0, "mode": "fan_in", "distribution": "normal"}'
    )
    arguments = ["compare", "--schemes", "lecun_normal,zeros", "--scheme", scheme]
    status = main([*arguments, *SMALL_RUN, "--out", str(out_dir), "--no-progress"])
    captured = capsys.readouterr()

    assert status == 0
    assert captured.err == ""
    assert captured.out.startswith("digits (classification): MLP hidden=16 relu, adam lr=0.001")
    assert f"results: {out_dir / 'results.json'}" in captured.out
    assert "variance_scaling(scale=2.0, mode='fan_in', distribution='normal')" in captured.out
    assert "step 3/6" not in captured.out

    results = json.loads((out_dir / "results.json").read_text())
    assert results["complete"] is True
    assert results["config"]["schemes"] == ["lecun_normal", "zeros", json.loads(scheme)]
    assert results["config"]["steps"] == 6
    assert results["dataset"]["name"] == "digits"
    assert len(results["members"]) == 6

    configs = {entry["label"]: entry["config"] for entry in results["schemes"]}
    assert configs["variance_scaling(scale=2.0, mode='fan_in', distribution='normal')"] == {
        "name": "variance_scaling",
        "scale": 2.0,
        "mode": "fan_in",
        "distribution": "normal",
        "in_axis": -2,
        "out_axis": -1,
        "batch_axis": [],
        "dtype": None,
    }
    assert (out_dir / "curves.csv").is_file()
    assert (out_dir / "loss_curves.png").is_file()


@pytest.mark.slow
def test_compare_quiet_through_python_m(tmp_path):
    out_dir = tmp_path / "subprocess"
    command = [sys.executable, "-m", "jaxinit", "compare", "--dataset", "iris"]
    command += ["--schemes", "he_normal,zeros", *SMALL_RUN, "--out", str(out_dir), "--quiet"]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=_environment(), timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout == ""
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "curves.csv",
        "loss_curves.png",
        "results.json",
    ]


# invalid input


BAD_INPUT = [
    (
        ["compare", "--seeds", "0"],
        "argument --seeds: invalid value '0': expected a positive integer",
    ),
    (["compare", "--steps", "ten"], "argument --steps: invalid value 'ten': expected a positive"),
    (["compare", "--batch-size", "-1"], "argument --batch-size: invalid value '-1'"),
    (["compare", "--eval-every", "0"], "argument --eval-every: invalid value '0'"),
    (["compare", "--lr", "0"], "argument --lr: invalid value '0': expected a positive finite"),
    (["compare", "--lr", "inf"], "argument --lr: invalid value 'inf'"),
    (["compare", "--seed", "-2"], "argument --seed: invalid value '-2': expected a non-negative"),
    (["compare", "--hidden", "64,x"], "argument --hidden: invalid value '64,x': expected positive"),
    (["compare", "--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
    (["compare", "--optimizer", "lamb"], "argument --optimizer: invalid choice: 'lamb'"),
    (["compare", "--bogus"], "unrecognized arguments: --bogus"),
    (["compare", "--schemes", "no_such_scheme"], "get: unknown initializer name 'no_such_scheme'"),
    (["compare", "--schemes", '{"name": "normal"'], "has an unclosed JSON object or string."),
    (
        ["compare", "--scheme", '{"name": "normal", "std": 1}'],
        "get: unknown field 'std' for 'normal'",
    ),
    (["compare", "--schemes", "zeros,zeros"], "Scheme 'zeros' is listed twice"),
    (["compare", "--dataset", "mnist"], "Unknown dataset 'mnist': expected a bundled name"),
    (["compare", "--dataset", "missing.csv", "--target", "y"], "'missing.csv' was not found."),
    (["compare", "--dataset", "iris", "--target", "y"], "Dataset 'iris' is bundled"),
    (
        ["compare", "--steps", "10", "--eval-every", "20"],
        "--eval-every 20 is larger than --steps 10",
    ),
    (
        ["compare", "--dataset", "iris", "--batch-size", "1000"],
        "batch_size=1000 is larger than the 120 training rows of 'iris'",
    ),
    (["list", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_INPUT)
def test_bad_input_exits_2(arguments, message, capsys):
    assert main(arguments) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"jaxinit {arguments[0]}: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_bad_csv_file_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,y\n1,red\nblue,0\n")
    assert main(["compare", "--dataset", str(path), "--target", "y"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("jaxinit compare: error: Dataset file ")
    assert "line 3 has the non-numeric value 'blue' in feature column 'a'" in error


def test_bad_input_through_python_m():
    command = [sys.executable, "-m", "jaxinit", "compare", "--seeds", "0"]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=_environment(), timeout=120, check=False
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        "jaxinit compare: error: argument --seeds: invalid value '0': expected a positive "
        "integer. Run 'jaxinit compare --help' to see the options.\n"
    )


def test_compare_empty_scheme_list_exits_2(capsys):
    status = main(["compare", "--schemes", ",", "--no-progress"])

    assert status == 2
    error = capsys.readouterr().err
    assert "--schemes names no scheme" in error
    assert "Traceback" not in error


def test_version_prints_package_version(capsys):
    status = main(["--version"])

    assert status == 0
    assert capsys.readouterr().out.strip() == "jaxinit 0.1.0"
